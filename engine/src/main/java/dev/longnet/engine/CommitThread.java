package dev.longnet.engine;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

/**
 * One unit's commit at a time, run beside the next unit's computation: a run's finished rows are forced, checked
 * and journaled here while the worker threads already attend the next unit. At most one commit is in flight:
 * {@link #submit} first waits for the one before, so the journal's DONE records stay in schedule order and a
 * crash leaves at most two units begun and not done (the one committing and the one computing).
 */
final class CommitThread implements AutoCloseable {
    /** A commit's work: forces, checksums, journal records. */
    interface Work {
        void run() throws IOException;
    }

    private final ExecutorService executor = Executors.newSingleThreadExecutor(r -> {
        Thread t = new Thread(r, "longnet-commit");
        t.setDaemon(true);
        return t;
    });
    private Future<?> pending;

    /** Waits for the commit in flight (rethrowing its failure), then starts {@code work}. */
    void submit(Work work) throws IOException {
        await();
        pending = executor.submit(() -> {
            work.run();
            return null;
        });
    }

    /** Waits for the commit in flight, if any; its failure is thrown here, once. */
    void await() throws IOException {
        Future<?> f = pending;
        if (f == null) return;
        pending = null;
        boolean interrupted = false;
        try {
            while (true) {
                try {
                    f.get();
                    return;
                } catch (InterruptedException e) {
                    interrupted = true;                // the commit must end before anything else touches its rows
                }
            }
        } catch (ExecutionException e) {
            Throwable cause = e.getCause();
            switch (cause) {
                case IOException io -> throw io;
                case UncheckedIOException io -> throw io;
                case RuntimeException re -> throw re;
                case Error err -> throw err;
                default -> throw new IllegalStateException(cause);
            }
        } finally {
            if (interrupted) Thread.currentThread().interrupt();
        }
    }

    /** Waits for the commit in flight, ignoring its failure (the run is already failing), and stops the thread. */
    @Override
    public void close() {
        try {
            await();
        } catch (IOException | RuntimeException | Error ignored) {
            // a commit that failed left its unit without DONE: a resume redoes it
        } finally {
            executor.shutdown();
        }
    }
}
