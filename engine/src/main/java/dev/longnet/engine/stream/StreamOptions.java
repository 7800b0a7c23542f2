package dev.longnet.engine.stream;

import dev.longnet.engine.AttentionKernel;
import dev.longnet.engine.VectorAttentionKernel;
import java.nio.file.Path;

/**
 * How a stream runs.
 *
 * @param threads        worker threads (1: everything on the caller's thread)
 * @param kernel         the attention kernel (the Vector API kernel when null)
 * @param stateDirectory where the state file is mapped; null keeps the state in memory
 */
public record StreamOptions(int threads, AttentionKernel kernel, Path stateDirectory) {
    public StreamOptions {
        if (threads < 1) throw new IllegalArgumentException("threads must be >= 1, got " + threads);
        if (kernel == null) kernel = new VectorAttentionKernel();
    }

    /** All cores, the Vector API kernel, state in memory. */
    public static StreamOptions defaults() {
        return new StreamOptions(Runtime.getRuntime().availableProcessors(), null, null);
    }

    public StreamOptions withThreads(int n) { return new StreamOptions(n, kernel, stateDirectory); }
    public StreamOptions withKernel(AttentionKernel k) { return new StreamOptions(threads, k, stateDirectory); }
    public StreamOptions withStateDirectory(Path dir) { return new StreamOptions(threads, kernel, dir); }
}
