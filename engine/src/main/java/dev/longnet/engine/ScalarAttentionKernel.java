package dev.longnet.engine;

/**
 * The attention tile in plain Java, for a JVM without the Vector API (see {@link AttentionKernels#cpu}): one query
 * at a time, its scores, their softmax (StrictMath's exponential) and the weighted sum of values, merged by
 * {@link LogSumExp#merge}. It accepts and refuses the same values as {@link VectorAttentionKernel} and agrees with it
 * to float rounding (its sums run in another order, so the bits differ); several times slower. Not thread-safe
 * state: each thread gets its own buffers.
 */
final class ScalarAttentionKernel implements AttentionKernel {
    private static final ThreadLocal<float[][]> BUFFERS = ThreadLocal.withInitial(() -> new float[4][]);

    @Override
    public void attend(View q, View k, View v, View out, View lse, int qFrom, int qTo, boolean causal, float scale) {
        int m = k.rows();
        int d = q.cols();
        float[][] b = BUFFERS.get();
        float[] keys = buffer(b, 0, m * d);
        float[] values = buffer(b, 1, m * d);
        float[] scores = buffer(b, 2, m);
        float[] row = buffer(b, 3, 2 * d);
        int keyRows = causal ? Math.min(m, qTo) : m;
        for (int j = 0; j < keyRows; j++) {
            k.readRow(j, keys, j * d, 1f);
            if (!inBounds(keys, j * d, d, NonFiniteInputException.QK_BOUND)) throw new NonFiniteInputException("k", j);
            v.readRow(j, values, j * d, 1f);
            if (!inBounds(values, j * d, d, NonFiniteInputException.V_BOUND)) throw new NonFiniteInputException("v", j);
        }
        float[][] results = new float[qTo - qFrom][];
        float[] lses = new float[qTo - qFrom];
        for (int i = qFrom; i < qTo; i++) {                   // every row is checked before any merges
            q.readRow(i, row, 0, scale);
            if (!inBounds(row, 0, d, NonFiniteInputException.QK_BOUND)) throw new NonFiniteInputException("q", i);
            int visible = causal ? Math.min(m, i + 1) : m;
            float max = Float.NEGATIVE_INFINITY;
            for (int j = 0; j < visible; j++) {
                float s = 0;
                for (int c = 0; c < d; c++) s += row[c] * keys[j * d + c];
                scores[j] = s;
                max = Math.max(max, s);
            }
            float[] o = new float[d];
            if (visible == 0) {
                lses[i - qFrom] = Float.NEGATIVE_INFINITY;
                results[i - qFrom] = o;
                continue;
            }
            float sum = 0;
            for (int j = 0; j < visible; j++) {
                float p = (float) StrictMath.exp(scores[j] - max);
                sum += p;
                for (int c = 0; c < d; c++) o[c] += p * values[j * d + c];
            }
            for (int c = 0; c < d; c++) o[c] /= sum;
            lses[i - qFrom] = (float) (max + StrictMath.log(sum));
            results[i - qFrom] = o;
        }
        for (int i = qFrom; i < qTo; i++) LogSumExp.merge(out, lse, i, results[i - qFrom], 0, lses[i - qFrom], row);
    }

    private static float[] buffer(float[][] b, int i, int size) {
        if (b[i] == null || b[i].length < size) b[i] = new float[size];
        return b[i];
    }

    private static boolean inBounds(float[] x, int from, int count, float bound) {
        for (int c = from; c < from + count; c++) if (!(Math.abs(x[c]) <= bound)) return false;
        return true;
    }

    @Override
    public String name() { return "cpu-scalar"; }
}
