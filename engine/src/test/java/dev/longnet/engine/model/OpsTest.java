package dev.longnet.engine.model;

import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

class OpsTest {
    @Test
    void geluIsTheErfGeluToFloatPrecision() {
        int n = 40_001;
        float[] x = new float[n];
        for (int i = 0; i < n; i++) x[i] = -12f + 24f * i / (n - 1);
        float[] y = x.clone();
        Ops.gelu(y, 0, n);
        for (int i = 0; i < n; i++) {
            double exact = 0.5 * x[i] * (1 + ReferenceModel.erf(x[i] / Math.sqrt(2)));
            double err = Math.abs(y[i] - exact);
            assertTrue(err <= 2e-6 * Math.abs(exact) + 1e-30 || err <= 1e-7, "gelu(" + x[i] + ") = " + y[i] + ", exact " + exact);
        }
    }

    @Test
    void layerNormMatchesDouble() {
        java.util.Random random = new java.util.Random(4);
        for (int n : new int[]{1, 7, 16, 33, 128, 515}) {
            int rows = 3;
            float[] x = new float[rows * n], g = new float[n], b = new float[n];
            for (int i = 0; i < x.length; i++) x[i] = (float) (random.nextGaussian() * 3 + 1);
            for (int i = 0; i < n; i++) { g[i] = (float) random.nextGaussian(); b[i] = (float) random.nextGaussian(); }
            float[] y = new float[x.length];
            Ops.layerNorm(x, y, rows, n, g, b, 1e-5, Ops.lanes());
            for (int r = 0; r < rows; r++) {
                double mean = 0, var = 0;
                for (int i = 0; i < n; i++) mean += x[r * n + i];
                mean /= n;
                for (int i = 0; i < n; i++) var += (x[r * n + i] - mean) * (x[r * n + i] - mean);
                var /= n;
                for (int i = 0; i < n; i++) {
                    double exact = (x[r * n + i] - mean) / Math.sqrt(var + 1e-5) * g[i] + b[i];
                    assertTrue(Math.abs(y[r * n + i] - exact) < 1e-5 * (1 + Math.abs(exact)), "n=" + n + " " + y[r * n + i] + " vs " + exact);
                }
            }
        }
    }

    @Test
    void referenceErfIsAccurate() {
        double[][] known = {{0.5, 0.5204998778130465}, {1, 0.8427007929497149}, {2, 0.9953222650189527},
                {3.5, 0.9999992569016276}, {-1.5, -0.9661051464753108}};
        for (double[] k : known) assertTrue(Math.abs(ReferenceModel.erf(k[0]) - k[1]) < 1e-14, "erf(" + k[0] + ")");
    }
}
