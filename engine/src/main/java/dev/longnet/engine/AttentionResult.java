package dev.longnet.engine;

import dev.longnet.storage.DType;

/**
 * What a finished run did.
 *
 * @param tokens          N, the sequence length
 * @param seconds         this process's time, from the call to the committed output
 * @param flops           the whole run's attention flops, as SPEC.md counts them
 * @param unitsTotal      units (pass, window) of the run
 * @param unitsResumed    units an earlier, interrupted run had completed (skipped by this one)
 * @param journalSeconds  time spent saving before-images, forcing rows and appending to the journal
 * @param tokensResumed   the work the resumed units stand for, in tokens (N times their share of the flops; 0 for a
 *                        run that resumed nothing)
 */
public record AttentionResult(long tokens, int heads, int headDim, double seconds, double flops, String kernel,
                     DType outputType, long unitsTotal, long unitsResumed, double journalSeconds, long tokensResumed) {
    /** The tokens' worth of work this process computed: all of them unless it resumed an earlier run. */
    public long tokensComputed() { return tokens - tokensResumed; }

    /** This process's speed: the tokens' worth of work it computed, per second (a resumed run's own speed). */
    public double tokensPerSecond() { return tokensComputed() / seconds; }

    /** This process's attention flops per second, in billions (the share of the flops it computed). */
    public double gflops() { return flops * tokensComputed() / Math.max(1, tokens) / seconds / 1e9; }

    public boolean resumed() { return unitsResumed > 0; }
}
