package dev.longnet.engine;

import java.io.IOException;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

/** The engine's worker threads: a fixed pool of daemon threads, and running a batch of tasks to completion. */
public final class Parallel {
    private Parallel() { }

    /** A fixed pool of daemon threads named {@code name}, or null for one thread (run on the caller's). */
    public static ExecutorService pool(int threads, String name) {
        return threads > 1 ? Executors.newFixedThreadPool(threads, r -> {
            Thread t = new Thread(r, name);
            t.setDaemon(true);
            return t;
        }) : null;
    }

    /**
     * Runs every task and waits for all of them; the first failure is rethrown as it was (unchecked) or as an
     * IOException. A null pool runs the tasks in order on the caller's thread.
     */
    public static void runAll(ExecutorService pool, List<? extends Callable<Void>> tasks) throws IOException {
        try {
            if (pool == null) {
                for (Callable<Void> task : tasks) task.call();
                return;
            }
            for (Future<Void> f : pool.invokeAll(tasks)) f.get();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException("interrupted", e);
        } catch (ExecutionException e) {
            throw rethrow(e.getCause());
        } catch (Exception e) {
            throw rethrow(e);
        }
    }

    private static IOException rethrow(Throwable cause) {
        if (cause instanceof RuntimeException re) throw re;
        if (cause instanceof Error err) throw err;
        if (cause instanceof IOException io) return io;
        return new IOException(cause);
    }
}
