package dev.longnet.engine;

/**
 * The online combine of SPEC.md: a stored (out, lse) pair absorbs a new (o, l) as
 * {@code l' = logaddexp(lse, l); out' = out·e^(lse-l') + o·e^(l-l')}, so the output stays normalised after every
 * merge and needs no final pass.
 *
 * <p>StrictMath keeps the bits the same on every JVM and at every stage of JIT compilation.
 *
 * <p>Stored lse values are encoded by XOR with the bits of -inf, so that a zero-filled (sparse, never written)
 * scratch file reads as lse = -inf: rows no level has touched need no initialisation pass.
 */
public final class LogSumExp {
    private static final int NEG_INF_BITS = Float.floatToRawIntBits(Float.NEGATIVE_INFINITY);

    private LogSumExp() { }

    public static float encode(float lse) { return Float.intBitsToFloat(Float.floatToRawIntBits(lse) ^ NEG_INF_BITS); }

    public static float decode(float stored) { return Float.intBitsToFloat(Float.floatToRawIntBits(stored) ^ NEG_INF_BITS); }

    /**
     * Merges the normalised row o (length out.cols()) with log-sum-exp l into row {@code row} of out/lse.
     * A row with l = -inf (no keys) changes nothing. {@code scratch} holds out.cols() floats.
     */
    public static void merge(View out, View lse, int row, float[] o, int oOffset, float l, float[] scratch) {
        if (l == Float.NEGATIVE_INFINITY) return;
        float stored = decode(lse.get(row, 0));
        int d = out.cols();
        if (stored == Float.NEGATIVE_INFINITY) {
            out.writeRow(row, o, oOffset);
            lse.set(row, 0, encode(l));
            return;
        }
        double max = Math.max(stored, l);
        double merged = max + StrictMath.log1p(StrictMath.exp(-Math.abs((double) stored - l)));
        float oldWeight = (float) StrictMath.exp(stored - merged);
        float newWeight = (float) StrictMath.exp(l - merged);
        out.readRow(row, scratch, 0, 1f);
        for (int c = 0; c < d; c++) scratch[c] = scratch[c] * oldWeight + o[oOffset + c] * newWeight;
        out.writeRow(row, scratch, 0);
        lse.set(row, 0, encode((float) merged));
    }
}
