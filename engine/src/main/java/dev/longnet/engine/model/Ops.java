package dev.longnet.engine.model;

import dev.longnet.engine.VectorExp;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorSpecies;

/** The element-wise parts of the model: layer norm and the activations, in float with double accumulation. */
public final class Ops {
    private static final VectorSpecies<Float> SPECIES = FloatVector.SPECIES_PREFERRED;
    private static final int LANES = SPECIES.length();

    private Ops() { }

    /**
     * y[r] = (x[r] - mean) / sqrt(var + eps) · gamma + beta over each row of width n (biased variance, as torch), on
     * float vectors; the lanes' partial sums are added in lane order in double, so a row's result never depends on
     * JIT state or on the rows around it. lanes holds at least {@link #LANES} floats. y may be x.
     */
    public static void layerNorm(float[] x, float[] y, int rows, int n, float[] gamma, float[] beta, double eps, float[] lanes) {
        for (int r = 0; r < rows; r++) {
            int base = r * n;
            FloatVector sum = FloatVector.zero(SPECIES);
            for (int i = 0; i < n; i += LANES) {
                sum = sum.add(FloatVector.fromArray(SPECIES, x, base + i, SPECIES.indexInRange(i, n)));
            }
            float mean = (float) (sumLanes(sum, lanes) / n);
            FloatVector sq = FloatVector.zero(SPECIES);
            for (int i = 0; i < n; i += LANES) {
                VectorMask<Float> m = SPECIES.indexInRange(i, n);
                FloatVector c = FloatVector.fromArray(SPECIES, x, base + i, m).sub(mean);
                sq = c.fma(c, sq).blend(sq, m.not());
            }
            float rstd = (float) (1 / Math.sqrt(sumLanes(sq, lanes) / n + eps));
            for (int i = 0; i < n; i += LANES) {
                VectorMask<Float> m = SPECIES.indexInRange(i, n);
                FloatVector c = FloatVector.fromArray(SPECIES, x, base + i, m).sub(mean).mul(rstd);
                c.fma(FloatVector.fromArray(SPECIES, gamma, i, m), FloatVector.fromArray(SPECIES, beta, i, m))
                        .intoArray(y, base + i, m);
            }
        }
    }

    /** Scratch for {@link #layerNorm}. */
    public static float[] lanes() { return new float[LANES]; }

    private static double sumLanes(FloatVector v, float[] lanes) {
        v.intoArray(lanes, 0);
        double s = 0;
        for (int i = 0; i < LANES; i++) s += lanes[i];
        return s;
    }

    /** The activation in place over rows of width values. */
    static void activate(ModelConfig.Activation activation, float[] x, int rows, int width) {
        switch (activation) {
            case GELU -> { for (int r = 0; r < rows; r++) gelu(x, r * width, width); }
            case RELU -> { for (int i = 0; i < rows * width; i++) x[i] = Math.max(x[i], 0f); }
            case SWISH -> { for (int i = 0; i < rows * width; i++) x[i] = (float) (x[i] / (1 + Math.exp(-x[i]))); }
        }
    }

    /**
     * The exact (erf) gelu of x[from, from + n) on float vectors: erfc by the Chebyshev fit of Numerical Recipes' erfcc (relative error
     * below 1.2e-7, float precision), with e^x from
     * {@link VectorExp}, the last partial vector masked, so that every element takes the same path.
     */
    public static void gelu(float[] x, int from, int n) {
        for (int i = 0; i < n; i += LANES) {
            VectorMask<Float> m = SPECIES.indexInRange(i, n);
            FloatVector v = FloatVector.fromArray(SPECIES, x, from + i, m);
            FloatVector z = v.abs().mul(0.70710678f);
            FloatVector t = FloatVector.broadcast(SPECIES, 1f).div(z.fma(0.5f, 1f));
            FloatVector p = t.fma(0.17087277f, -0.82215223f);
            p = p.fma(t, FloatVector.broadcast(SPECIES, 1.48851587f));
            p = p.fma(t, FloatVector.broadcast(SPECIES, -1.13520398f));
            p = p.fma(t, FloatVector.broadcast(SPECIES, 0.27886807f));
            p = p.fma(t, FloatVector.broadcast(SPECIES, -0.18628806f));
            p = p.fma(t, FloatVector.broadcast(SPECIES, 0.09678418f));
            p = p.fma(t, FloatVector.broadcast(SPECIES, 0.37409196f));
            p = p.fma(t, FloatVector.broadcast(SPECIES, 1.00002368f));
            p = p.fma(t, FloatVector.broadcast(SPECIES, -1.26551223f));
            FloatVector e = t.mul(VectorExp.exp(z.mul(z).neg().add(p)));      // erfc(|x|/√2)
            FloatVector half = v.mul(0.5f);
            // x·Φ(x) = x/2·erfc(-x/√2): x - x/2·e for x >= 0, x/2·e below
            FloatVector g = half.mul(e).neg().add(v).blend(half.mul(e), v.lt(0f));
            g.intoArray(x, from + i, m);
        }
    }
}
