package dev.longnet.engine.encoder;

/** Row arrays as one row-major array. */
public final class Pooled {
    private Pooled() { }

    /** rows[0] ++ rows[1] ++ ...; every row as long as the first. */
    public static float[] flat(float[][] rows) {
        int d = rows[0].length;
        float[] out = new float[rows.length * d];
        for (int i = 0; i < rows.length; i++) System.arraycopy(rows[i], 0, out, i * d, d);
        return out;
    }
}
