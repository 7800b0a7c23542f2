package dev.longnet.engine.encoder;

import dev.longnet.engine.Parallel;
import dev.longnet.engine.model.Linear;
import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.concurrent.ExecutorService;

/**
 * Runs per-row work over a chunk of rows on several threads: the chunk is cut into one range per thread (whole
 * micro-blocks of the linear kernel), each thread with its own buffers. Every row's result depends on that row
 * alone, so the bits do not depend on the chunk size or the thread count.
 */
final class RowChunks implements AutoCloseable {
    static final ValueLayout.OfFloat FLOAT = ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    /** The work on rows [from, to) of the chunk, with the calling thread's buffers. */
    interface Body {
        void rows(int from, int to, Buffers buffers) throws IOException;
    }

    /** One thread's scratch, grown on demand and kept from chunk to chunk, and the time its linear layers took. */
    static final class Buffers {
        final float[] tmp = Linear.scratch();
        final float[] lanes = dev.longnet.engine.model.Ops.lanes();
        private final float[][] arrays = new float[4][];
        private long linearNanos;
        private long linearFlops;

        /** y = linear(x) over rows, timed. */
        void apply(Linear linear, float[] x, int rows, float[] y) {
            long t = System.nanoTime();
            linear.apply(x, rows, y, tmp);
            linearNanos += System.nanoTime() - t;
            linearFlops += linear.flopsPerRow() * rows;
        }

        /** Buffer i holding at least size floats. */
        float[] get(int i, int size) {
            if (arrays[i] == null || arrays[i].length < size) arrays[i] = new float[size];
            return arrays[i];
        }
    }

    private final ExecutorService pool;
    private final int threads;
    private final List<Buffers> buffers = new ArrayList<>();

    RowChunks(int threads) {
        this.threads = Math.max(1, threads);
        this.pool = Parallel.pool(this.threads, "longnet-encoder");
        for (int i = 0; i < this.threads; i++) buffers.add(new Buffers());
    }

    /** Runs body over rows [0, rows) of a chunk, cut into at most one range per thread. */
    void run(int rows, Body body) throws IOException {
        int per = Math.max(Linear.MR_ROWS, (rows + threads - 1) / threads);
        per = (per + Linear.MR_ROWS - 1) / Linear.MR_ROWS * Linear.MR_ROWS;
        List<Callable<Void>> tasks = new ArrayList<>();
        for (int t = 0, from = 0; from < rows; t++, from += per) {
            int f = from, to = Math.min(rows, from + per);
            Buffers b = buffers.get(t);
            tasks.add(() -> { body.rows(f, to, b); return null; });
        }
        Parallel.runAll(tasks.size() > 1 ? pool : null, tasks);
    }

    /**
     * The linear layers' flops so far and the seconds they took, as the threads' time in them summed and divided by
     * the thread count: their rate is what the machine's cores do while in the kernel.
     */
    LinearTime linearTime() {
        long nanos = 0, flops = 0;
        for (Buffers b : buffers) {
            nanos += b.linearNanos;
            flops += b.linearFlops;
        }
        return new LinearTime(flops, nanos / 1e9 / threads);
    }

    record LinearTime(long flops, double seconds) { }

    static void read(MemorySegment s, long row, int width, float[] dst, int rows) {
        MemorySegment.copy(s, FLOAT, row * width * 4L, dst, 0, rows * width);
    }

    static void write(float[] src, int rows, MemorySegment s, long row, int width) {
        MemorySegment.copy(src, 0, s, FLOAT, row * width * 4L, rows * width);
    }

    @Override
    public void close() {
        if (pool != null) pool.shutdownNow();
    }
}
