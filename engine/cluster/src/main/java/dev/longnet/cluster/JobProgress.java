package dev.longnet.cluster;

/**
 * Where a cluster job stands, in tokens' worth of work as the engine's progress counts it (a level's row weighs
 * min(w, N)/r², the whole job N): what is done, counting the stages an earlier run of the job finished, and what
 * was already done when this run started.
 *
 * @param tokensDone     the work done so far, from {@code tokensResumed} up to {@code tokensTotal}
 * @param tokensResumed  the work an earlier, interrupted run had finished (its journaled block stages)
 * @param tokensTotal    N, the sequence length
 */
public record JobProgress(long tokensDone, long tokensResumed, long tokensTotal) {
    /**
     * Receives a job's progress: once when its blocks are about to start (the work resumed), then each time the
     * work done grows, last with {@code tokensDone == tokensTotal}; never less than before. Called on the thread
     * that runs the job.
     */
    @FunctionalInterface
    public interface Listener {
        Listener NONE = p -> { };

        void onProgress(JobProgress progress);
    }
}
