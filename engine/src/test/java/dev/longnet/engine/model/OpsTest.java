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
    void referenceErfIsAccurate() {
        double[][] known = {{0.5, 0.5204998778130465}, {1, 0.8427007929497149}, {2, 0.9953222650189527},
                {3.5, 0.9999992569016276}, {-1.5, -0.9661051464753108}};
        for (double[] k : known) assertTrue(Math.abs(ReferenceModel.erf(k[0]) - k[1]) < 1e-14, "erf(" + k[0] + ")");
    }
}
