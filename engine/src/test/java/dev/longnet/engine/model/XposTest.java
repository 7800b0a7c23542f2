package dev.longnet.engine.model;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Random;
import org.junit.jupiter.api.Test;

class XposTest {
    private static final int D = 16;

    /** torchscale's XPOS.forward for a whole sequence of length len, transcribed to double: row p of x. */
    static double[] torchscale(double[] x, int p, int len, boolean downscale, double[] zeta, double[] theta, double base) {
        int minPos = Math.floorDiv(-len, 2);
        double[] y = new double[x.length];
        for (int j = 0; j < x.length / 2; j++) {
            double scale = Math.pow(zeta[j], (p + minPos) / base);
            if (downscale) scale = 1 / scale;
            double angle = p * theta[j];                  // sinusoids at positions 0..len-1
            double c = Math.cos(angle) * scale, s = Math.sin(angle) * scale;
            y[2 * j] = x[2 * j] * c - x[2 * j + 1] * s;
            y[2 * j + 1] = x[2 * j + 1] * c + x[2 * j] * s;
        }
        return y;
    }

    @Test
    void referenceScoreIsTorchscalesProductAtSmallPositions() {
        Random random = new Random(1);
        double[] zeta = Xpos.zeta(D), theta = Xpos.theta(D);
        int len = 300;
        for (int trial = 0; trial < 50; trial++) {
            int n = random.nextInt(len), m = random.nextInt(n + 1);
            double[] q = gaussian(random), k = gaussian(random);
            double expected = dot(torchscale(q, n, len, false, zeta, theta, 512), torchscale(k, m, len, true, zeta, theta, 512));
            double actual = ReferenceModel.score(q, k, 0, D, n - m, zeta, theta, 512);
            assertEquals(expected, actual, 1e-12 * Math.max(1, Math.abs(expected)));
        }
    }

    @Test
    void scoresDependOnlyOnDistanceAtAnyPosition() {
        Random random = new Random(2);
        long[] segments = {64, 96};
        Xpos xpos = new Xpos(D, 512, Xpos.zeta(D), segments);
        assertEquals(192, xpos.block());
        double[] zeta = Xpos.zeta(D), theta = Xpos.theta(D);
        for (long origin : new long[]{0, 70_000, 100_000, (1L << 31) + 5, (1L << 40) + 3, Long.MAX_VALUE / 2}) {
            for (int trial = 0; trial < 20; trial++) {
                long blockStart = Math.floorDiv(origin, 192) * 192 + 192L * random.nextInt(4);
                long m = blockStart + random.nextInt(192);
                long n = m + random.nextInt((int) (blockStart + 192 - m));
                float[] q = floats(random), k = floats(random);
                double[] q0 = toDouble(q), k0 = toDouble(k);
                xpos.prepare(n, 1);
                xpos.apply(q, 1, 1, false);
                xpos.prepare(m, 1);
                xpos.apply(k, 1, 1, true);
                double actual = 0;
                for (int i = 0; i < D; i++) actual += (double) q[i] * k[i];
                double expected = ReferenceModel.score(q0, k0, 0, D, n - m, zeta, theta, 512);
                double magnitude = 0;
                for (int i = 0; i < D; i++) magnitude += Math.abs(q0[i] * k0[i]);
                assertTrue(Math.abs(actual - expected) <= 1e-6 * magnitude, "n=" + n + " m=" + m + ": " + actual + " vs " + expected);
            }
        }
    }

    @Test
    void refusesBlocksBeyondTheFloatRange() {
        assertThrows(IllegalArgumentException.class, () -> new Xpos(64, 512, Xpos.zeta(64), new long[]{2048, 32768 * 3}));
    }

    private static float[] floats(Random random) {
        float[] x = new float[D];
        for (int i = 0; i < D; i++) x[i] = (float) random.nextGaussian();
        return x;
    }

    private static double[] gaussian(Random random) {
        double[] x = new double[D];
        for (int i = 0; i < D; i++) x[i] = random.nextGaussian();
        return x;
    }

    private static double[] toDouble(float[] x) {
        double[] y = new double[x.length];
        for (int i = 0; i < x.length; i++) y[i] = x[i];
        return y;
    }

    private static double dot(double[] a, double[] b) {
        double s = 0;
        for (int i = 0; i < a.length; i++) s += a[i] * b[i];
        return s;
    }
}
