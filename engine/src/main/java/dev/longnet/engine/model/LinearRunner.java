package dev.longnet.engine.model;

import dev.longnet.engine.Parallel;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.concurrent.ExecutorService;

/**
 * Runs a {@link Linear} over a step's rows on several threads: the rows are cut into one range per thread (whole
 * micro-blocks), each with its own scratch. A row's result does not depend on the range it falls in.
 */
final class LinearRunner implements AutoCloseable {
    /** Fewer rows per thread than this run on the caller's thread alone. */
    private static final int MIN_ROWS_PER_THREAD = 4 * Linear.MR;

    private final ExecutorService pool;
    private final List<Part> parts = new ArrayList<>();

    LinearRunner(int threads) {
        this.pool = Parallel.pool(threads, "longnet-model");
        for (int i = 0; i < Math.max(1, threads); i++) parts.add(new Part());
    }

    void apply(Linear linear, float[] x, int rows, float[] y) throws IOException {
        int threads = pool == null ? 1 : Math.min(parts.size(), rows / MIN_ROWS_PER_THREAD);
        if (threads <= 1) {
            linear.apply(x, 0, rows, y, parts.getFirst().tmp);
            return;
        }
        int per = (rows / threads + Linear.MR - 1) / Linear.MR * Linear.MR;
        for (int t = 0; t < threads; t++) parts.get(t).set(linear, x, y, Math.min(rows, t * per), Math.min(rows, (t + 1) * per));
        Parallel.runAll(pool, parts.subList(0, threads));
    }

    @Override
    public void close() {
        if (pool != null) pool.shutdownNow();
    }

    /** One thread's rows; reused from step to step. */
    private static final class Part implements Callable<Void> {
        final float[] tmp = Linear.scratch();
        Linear linear;
        float[] x, y;
        int from, to;

        void set(Linear linear, float[] x, float[] y, int from, int to) {
            this.linear = linear;
            this.x = x;
            this.y = y;
            this.from = from;
            this.to = to;
        }

        @Override
        public Void call() {
            linear.apply(x, from, to, y, tmp);
            return null;
        }
    }
}
