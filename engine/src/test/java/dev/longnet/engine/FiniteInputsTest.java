package dev.longnet.engine;

import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.longnet.storage.DType;
import java.util.Random;
import org.junit.jupiter.api.Test;

/**
 * Finite inputs never come out as NaN or infinity: huge logits (q·k ~ 1e4, one key dominating every row), causal
 * rows that see only themselves or none of a key chunk, and the extremes of f16 (±65504, subnormals, zeros). Where
 * the logits are exact in float, the output also matches the double reference; elsewhere it stays within the values'
 * range (every output row is a convex combination of value rows).
 */
class FiniteInputsTest {
    private static final DilatedAttention.Options OPTIONS = DilatedAttention.Options.defaults().withThreads(2);

    @Test
    void hugeLogitsStayFiniteAndExact() throws Exception {
        // Integer q and k (|q·k| <= 16·5·5 = 400, exact in float) scaled by 25: logits up to ±1e4.
        Random random = new Random(1);
        int n = 1200;
        for (boolean causal : new boolean[]{false, true}) {
            AttentionConfig config = AttentionConfig.builder().levels(new long[]{64, 512, 1200}, new int[]{1, 2, 3})
                    .heads(2).headDim(16).causal(causal).scale(25f).build();
            double[] q = integers(random, n * 2 * 16, 5);
            double[] k = integers(random, n * 2 * 16, 5);
            double[] v = TestData.gaussian(random, n * 2 * 16, 1);
            double[] out = TestData.engine(config, n, q, k, v, DType.F32, OPTIONS);
            assertFinite(out, "huge logits, causal=" + causal);
            double[] expected = ReferenceAttention.attend(config, n, q, k, v).out();
            double error = TestData.maxAbsDiff(expected, out);
            assertTrue(error <= 1e-4, "max abs error " + error + " (causal=" + causal + ")");
        }
    }

    @Test
    void causalRowsThatSeeOnlyThemselvesOrNoKeyOfAChunk() throws Exception {
        // Long views (m = 3000 > a key chunk) so that early micro-blocks see none of the later chunks; paper offsets
        // with more heads than the rate, w not a multiple of r and N not a multiple of w, so that views are short or
        // empty; and every row's own logit hugely negative, so the one key a first row sees weighs e^-1e4 alone.
        Random random = new Random(2);
        int n = 3100;
        int heads = 5;
        int d = 8;
        AttentionConfig config = AttentionConfig.builder().levels(new long[]{3000, 7, 1000}, new int[]{1, 3, 4})
                .heads(heads).headDim(d).causal(true).offsetRule(HeadOffsetRule.PAPER).scale(1f).build();
        double[] k = integers(random, n * heads * d, 5);
        double[] q = new double[k.length];
        for (int i = 0; i < q.length; i++) q[i] = -50 * k[i];                 // q·k_self = -50·|k|², down to -1e4
        double[] v = TestData.gaussian(random, n * heads * d, 1);
        double[] out = TestData.engine(config, n, q, k, v, DType.F32, OPTIONS);
        assertFinite(out, "causal edge rows");
        double error = TestData.maxAbsDiff(ReferenceAttention.attend(config, n, q, k, v).out(), out);
        assertTrue(error <= 1e-4, "max abs error " + error);
    }

    @Test
    void halfPrecisionExtremesStayFiniteAndWithinTheValues() throws Exception {
        float[] extremes = {65504f, -65504f, 6.1035156e-5f, -6.1035156e-5f, 5.9604645e-8f, -5.9604645e-8f, 0f, -0f,
                1f, -1f, 32768f, -0.5f};
        Random random = new Random(3);
        int n = 700;
        int heads = 2;
        int d = 16;
        for (boolean causal : new boolean[]{false, true}) {
            AttentionConfig config = AttentionConfig.builder().levels(new long[]{32, 256, 700}, new int[]{1, 2, 5})
                    .heads(heads).headDim(d).causal(causal).build();
            double[][] qkv = new double[3][n * heads * d];
            for (double[] x : qkv) for (int i = 0; i < x.length; i++) x[i] = extremes[random.nextInt(extremes.length)];
            double[] out = TestData.engine(config, n, qkv[0], qkv[1], qkv[2], DType.F16, OPTIONS);
            assertFinite(out, "f16 extremes, causal=" + causal);
            for (double x : out) assertTrue(Math.abs(x) <= 65504 * (1 + 1e-6), "within the values' range: " + x);
            // Every row of all-maximal keys and values: logits 65504²·16/4, one of the largest a f16 input can make.
            java.util.Arrays.fill(qkv[0], 65504);
            java.util.Arrays.fill(qkv[1], 65504);
            out = TestData.engine(config, n, qkv[0], qkv[1], qkv[2], DType.F16, OPTIONS);
            assertFinite(out, "f16 maximal logits, causal=" + causal);
            for (double x : out) assertTrue(Math.abs(x) <= 65504 * (1 + 1e-6), "within the values' range: " + x);
        }
    }

    @Test
    void largeF32ValuesWithinTheKernelsBoundsStayFinite() throws Exception {
        // |q·scale|, |k| up to ~2e16 (within 2^55) in d = 8: |q·k| up to ~3e33, finite in float; values up to ~4e29.
        Random random = new Random(4);
        int n = 400;
        AttentionConfig config = AttentionConfig.builder().levels(new long[]{50, 400}, new int[]{1, 2})
                .heads(1).headDim(8).causal(true).build();
        double[] q = TestData.gaussian(random, n * 8, 5e15);
        double[] k = TestData.gaussian(random, n * 8, 5e15);
        double[] v = TestData.gaussian(random, n * 8, 1e29);
        double[] out = TestData.engine(config, n, q, k, v, DType.F32, OPTIONS);
        assertFinite(out, "large f32 values");
    }

    @Test
    void valuesWhoseProductsWouldOverflowFloatAreRefused() throws Exception {
        // |q|, |k| ~ 1e30: q·k overflows float, and bounding the operands (as the kernel once did) gives a finite
        // but wrong output; v ~ 1e37 over 600 keys would overflow P·V likewise. Either way the run must fail.
        Random random = new Random(5);
        int n = 600;
        for (boolean causal : new boolean[]{false, true}) {
            AttentionConfig config = AttentionConfig.builder().levels(new long[]{600, 64}, new int[]{1, 1})
                    .heads(2).headDim(16).causal(causal).build();
            double[] q = TestData.gaussian(random, n * 32, 1e30);
            double[] k = TestData.gaussian(random, n * 32, 1);
            double[] v = TestData.gaussian(random, n * 32, 1);
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> TestData.engine(config, n, q, k, v, DType.F32, OPTIONS));
            assertTrue(e.getMessage().startsWith("q: row ") && e.getMessage().contains(", head "), e.getMessage());
            double[] small = TestData.gaussian(random, n * 32, 1);
            double[] hugeV = TestData.gaussian(random, n * 32, 1e37);
            e = assertThrows(IllegalArgumentException.class,
                    () -> TestData.engine(config, n, small, small, hugeV, DType.F32, OPTIONS));
            assertTrue(e.getMessage().startsWith("v: row "), e.getMessage());
        }
    }

    private static double[] integers(Random random, int count, int bound) {
        double[] x = new double[count];
        for (int i = 0; i < count; i++) x[i] = random.nextInt(2 * bound + 1) - bound;
        return x;
    }

    private static void assertFinite(double[] out, String what) {
        for (int i = 0; i < out.length; i++) {
            if (!Double.isFinite(out[i])) throw new AssertionError(what + ": out[" + i + "] = " + out[i]);
        }
    }
}
