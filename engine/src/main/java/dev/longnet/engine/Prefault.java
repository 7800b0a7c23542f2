package dev.longnet.engine;

import dev.longnet.storage.Advice;
import dev.longnet.storage.RowWindow;
import dev.longnet.storage.TensorRows;
import java.io.IOException;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

/**
 * Maps the next unit's out and lse rows for writing while the workers attend the current unit, on one background
 * thread. Populating a mapped window of a sparse file costs a page allocation per page (about 50 ms for the 16,384
 * rows of a bench-preset unit); done when the unit's windows open, it would leave every worker idle meanwhile.
 * The rows are mapped, populated ({@link Advice#POPULATE_WRITE}) and unmapped again, a few MiB at a time: their
 * pages stay in the page cache, so the unit's own mapping then finds them, and resident memory barely grows.
 * Populating writes no data, so it may run beside anything else touching those rows; it is a hint, and a failure
 * is ignored.
 */
final class Prefault implements AutoCloseable {
    /** Rows are populated a few MiB at a time, so that the transient mapping adds little to resident memory. */
    private static final long CHUNK_BYTES = 4L << 20;

    private ExecutorService executor;                     // started by the first request
    private Future<?> pending;

    /** Starts populating rows [first, first + rows) of out and lse, after the rows asked for before. */
    synchronized void ahead(TensorRows out, TensorRows lse, long first, long rows) {
        await();
        if (executor == null) {
            executor = Executors.newSingleThreadExecutor(r -> {
                Thread t = new Thread(r, "longnet-prefault");
                t.setDaemon(true);
                return t;
            });
        }
        pending = executor.submit(() -> populate(out, lse, first, rows));
    }

    private static void populate(TensorRows out, TensorRows lse, long first, long rows) {
        long step = Math.max(1, CHUNK_BYTES / (out.rowBytes() + lse.rowBytes()));
        try {
            for (long a = first; a < first + rows; a += step) {
                long count = Math.min(step, first + rows - a);
                try (RowWindow o = out.window(a, count); RowWindow l = lse.window(a, count)) {
                    if (!o.segment().isMapped()) return;      // rows in memory have no pages to populate
                    o.advise(Advice.POPULATE_WRITE);
                    l.advise(Advice.POPULATE_WRITE);
                }
            }
        } catch (IOException | RuntimeException ignored) {
            // a hint: the unit's own windows map these rows anyway, and report any real failure
        }
    }

    /** Waits for the rows in flight, if any. */
    synchronized void await() {
        Future<?> f = pending;
        if (f == null) return;
        pending = null;
        boolean interrupted = false;
        while (true) {
            try {
                f.get();
                break;
            } catch (InterruptedException e) {
                interrupted = true;                       // its mapping must be gone before the run ends
            } catch (ExecutionException e) {
                break;                                    // populate catches its own failures
            }
        }
        if (interrupted) Thread.currentThread().interrupt();
    }

    /** Waits for the rows in flight and stops the thread. */
    @Override
    public synchronized void close() {
        await();
        if (executor != null) executor.shutdown();
    }
}
