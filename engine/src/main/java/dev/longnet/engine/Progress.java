package dev.longnet.engine;

/**
 * Where a run stands: tiles finished, and tokens as the share of the run's flops done times N (so the count
 * grows evenly across levels and passes); the level and pass last run, and the units (pass, window) completed,
 * counting those an earlier run completed.
 */
public record Progress(long tilesDone, long tokensDone, long tokensTotal, int level, int pass, long unitsDone,
                       long unitsTotal) {
    /** Receives progress after each window of each level; called on the thread that runs the schedule. */
    @FunctionalInterface
    public interface Listener {
        Listener NONE = p -> { };

        void onProgress(Progress progress);
    }
}
