package dev.longnet.engine.model;

/** The element-wise parts of the model: layer norm and the activations, in float with double accumulation. */
final class Ops {
    private Ops() { }

    /** y[r] = (x[r] - mean) / sqrt(var + eps) · gamma + beta over each row of width n (biased variance, as torch). */
    static void layerNorm(float[] x, float[] y, int rows, int n, float[] gamma, float[] beta, double eps) {
        for (int r = 0; r < rows; r++) {
            int base = r * n;
            double sum = 0;
            for (int i = 0; i < n; i++) sum += x[base + i];
            double mean = sum / n;
            double sq = 0;
            for (int i = 0; i < n; i++) {
                double c = x[base + i] - mean;
                sq += c * c;
            }
            double rstd = 1 / Math.sqrt(sq / n + eps);
            for (int i = 0; i < n; i++) y[base + i] = (float) ((x[base + i] - mean) * rstd * gamma[i] + beta[i]);
        }
    }

    static void activate(ModelConfig.Activation activation, float[] x, int count) {
        switch (activation) {
            case GELU -> { for (int i = 0; i < count; i++) x[i] = (float) gelu(x[i]); }
            case RELU -> { for (int i = 0; i < count; i++) x[i] = Math.max(x[i], 0f); }
            case SWISH -> { for (int i = 0; i < count; i++) x[i] = (float) (x[i] / (1 + Math.exp(-x[i]))); }
        }
    }

    /** The exact (erf) gelu, x·Φ(x) = x/2·erfc(-x/√2), to float precision. */
    static double gelu(double x) {
        return 0.5 * x * erfc(-x * 0.7071067811865476);
    }

    /**
     * erfc with a relative error below 1.2e-7 everywhere (the Chebyshev fit of Numerical Recipes' erfcc): float
     * precision, which is all a float activation keeps.
     */
    static double erfc(double x) {
        double z = Math.abs(x);
        double t = 1 / (1 + 0.5 * z);
        double r = t * Math.exp(-z * z - 1.26551223 + t * (1.00002368 + t * (0.37409196 + t * (0.09678418
                + t * (-0.18628806 + t * (0.27886807 + t * (-1.13520398 + t * (1.48851587
                + t * (-0.82215223 + t * 0.17087277)))))))));
        return x >= 0 ? r : 2 - r;
    }
}
