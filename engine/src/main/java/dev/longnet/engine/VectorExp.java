package dev.longnet.engine;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.VectorOperators;

/**
 * e^x on float vectors from adds, multiplies and fused multiply-adds only. The Vector API's own EXP may differ
 * in the last bit between its Java fallback and its compiled intrinsic, which would make results depend on JIT
 * warm-up; this one gives the same bits everywhere, so runs and resumed runs are reproducible.
 *
 * <p>x = n·ln2 + t with |t| <= ln2/2 (Cody-Waite split of ln2), e^t by its Taylor series to degree 7 (relative
 * error below 1e-8, under float's half ulp), and 2^n built in the exponent bits. Inputs below -87 give 0.
 */
public final class VectorExp {
    private static final float LOG2E = 1.44269504088896341f;
    private static final float LN2_HI = 0.693145751953125f;      // ln2 to 16 bits: n·LN2_HI is exact
    private static final float LN2_LO = 1.42860682030941723e-6f;
    private static final float ROUND_MAGIC = 12582912f;           // 1.5·2^23: adding it rounds to an integer
    private static final float UNDERFLOW = -87f;

    private VectorExp() { }

    public static FloatVector exp(FloatVector x) {
        var species = x.species();
        var tooSmall = x.lt(UNDERFLOW);
        FloatVector clamped = x.blend(UNDERFLOW, tooSmall);
        FloatVector shifted = clamped.fma(LOG2E, ROUND_MAGIC);
        FloatVector n = shifted.sub(ROUND_MAGIC);
        FloatVector t = n.fma(FloatVector.broadcast(species, -LN2_HI), clamped);
        t = n.fma(FloatVector.broadcast(species, -LN2_LO), t);
        FloatVector p = t.fma(1f / 5040, 1f / 720);
        p = p.fma(t, FloatVector.broadcast(species, 1f / 120));
        p = p.fma(t, FloatVector.broadcast(species, 1f / 24));
        p = p.fma(t, FloatVector.broadcast(species, 1f / 6));
        p = p.fma(t, FloatVector.broadcast(species, 0.5f));
        p = p.fma(t, FloatVector.broadcast(species, 1f));
        p = p.fma(t, FloatVector.broadcast(species, 1f));
        // The low bits of the rounded value hold n; (n + 127) << 23 is 2^n as a float.
        IntVector bits = shifted.reinterpretAsInts().sub(Float.floatToRawIntBits(ROUND_MAGIC) - 127)
                .lanewise(VectorOperators.LSHL, 23);
        FloatVector result = p.mul(bits.reinterpretAsFloats());
        return result.blend(0f, tooSmall);
    }
}
