package dev.longnet.engine.stream;

import dev.longnet.engine.AttentionKernel;
import dev.longnet.engine.Tiling;
import java.nio.file.Path;

/**
 * How a stream runs.
 *
 * @param threads        worker threads (1: everything on the caller's thread)
 * @param kernel         the attention kernel (the Vector API kernel when null)
 * @param stateDirectory where the state file is mapped; null keeps the state in memory
 * @param keyBlockRows   most keys of a view one kernel call sees: longer views are attended block by block and
 *                       merged by log-sum-exp, as the batch engine does ({@link Tiling#KEY_BLOCK_ROWS}
 *                       when 0; the bits depend on it, so only tests change it)
 */
public record StreamOptions(int threads, AttentionKernel kernel, Path stateDirectory, int keyBlockRows) {
    public StreamOptions {
        if (threads < 1) throw new IllegalArgumentException("threads must be >= 1, got " + threads);
        if (keyBlockRows < 0) throw new IllegalArgumentException("key block rows must be >= 0, got " + keyBlockRows);
        if (kernel == null) kernel = dev.longnet.engine.AttentionKernels.cpu();
        if (keyBlockRows == 0) keyBlockRows = Tiling.KEY_BLOCK_ROWS;
    }

    public StreamOptions(int threads, AttentionKernel kernel, Path stateDirectory) {
        this(threads, kernel, stateDirectory, 0);
    }

    /** All cores, the Vector API kernel, state in memory. */
    public static StreamOptions defaults() {
        return new StreamOptions(Runtime.getRuntime().availableProcessors(), null, null);
    }

    public StreamOptions withThreads(int n) { return new StreamOptions(n, kernel, stateDirectory, keyBlockRows); }
    public StreamOptions withKernel(AttentionKernel k) { return new StreamOptions(threads, k, stateDirectory, keyBlockRows); }
    public StreamOptions withStateDirectory(Path dir) { return new StreamOptions(threads, kernel, dir, keyBlockRows); }
    public StreamOptions withKeyBlockRows(int rows) { return new StreamOptions(threads, kernel, stateDirectory, rows); }
}
