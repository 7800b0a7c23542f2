package dev.longnet.engine;

/**
 * Computes one tile of dilated attention: queries [qFrom, qTo) of a dilated view against the keys and values of
 * the same view (keys j <= i when causal, by view index, which orders positions), and merges the result into the
 * stored output and log-sum-exp rows by {@link LogSumExp#merge}. One implementation per backend.
 */
public interface AttentionKernel {
    /**
     * @param q, k, v   views of the same m dilated positions (m = q.rows())
     * @param out       the output rows of those positions (f32, normalised; rows no level touched are 0)
     * @param lse       their running log-sum-exp, one column, stored as {@link LogSumExp#encode}
     */
    void attend(View q, View k, View v, View out, View lse, int qFrom, int qTo, boolean causal, float scale);

    /** A short name for logs and summaries ("cpu-vector", "cuda"). */
    String name();
}
