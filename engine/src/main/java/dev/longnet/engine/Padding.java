package dev.longnet.engine;

/**
 * The zero rows of torchscale's padded layout ({@link PaddedLayout}) as log-sum-exp merges, so that no kernel
 * needs to see them: z zero keys added to a query's keys are the pair (o = 0, lse = ln z), and a zero query
 * attends every key it sees with score 0: (o = Σ v / count over its real keys, lse = ln count). Batch and stream
 * both use these, in the same order (after the level's real keys), so that their bits agree.
 */
public final class Padding {
    private Padding() { }

    /** The lse of z zero keys (z >= 1). */
    public static float zeroKeysLse(int z) { return (float) StrictMath.log(z); }

    /**
     * A zero query's row: the mean of the first {@code realKeys} rows of v over {@code count} keys (the rest zero
     * rows), into o[0, d); returns its lse, ln count. Torchscale masks an lse of exactly 0 (count 1) as if the level
     * were absent; the caller skips such a row when it has no real key.
     */
    public static float zeroQuery(View v, int realKeys, int count, float[] o, float[] row) {
        int d = v.cols();
        double[] sum = new double[d];
        for (int j = 0; j < realKeys; j++) {
            v.readRow(j, row, 0, 1f);
            for (int c = 0; c < d; c++) sum[c] += row[c];
        }
        for (int c = 0; c < d; c++) o[c] = (float) (sum[c] / count);
        return (float) StrictMath.log(count);
    }
}
