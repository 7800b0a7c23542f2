package dev.longnet.engine;

import dev.longnet.storage.DType;

/**
 * What a finished run did.
 *
 * @param unitsTotal      units (pass, window) of the run
 * @param unitsResumed    units an earlier, interrupted run had completed (skipped by this one)
 * @param journalSeconds  time spent saving before-images, forcing rows and appending to the journal
 */
public record AttentionResult(long tokens, int heads, int headDim, double seconds, double flops, String kernel,
                     DType outputType, long unitsTotal, long unitsResumed, double journalSeconds) {
    public double tokensPerSecond() { return tokens / seconds; }

    public double gflops() { return flops / seconds / 1e9; }

    public boolean resumed() { return unitsResumed > 0; }
}
