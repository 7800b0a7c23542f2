package dev.longnet.engine;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Random;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;
import org.junit.jupiter.api.Test;

/** {@link VectorExp} against StrictMath.exp: ulps over the range the kernel uses, and its edges. */
class VectorExpTest {
    private static final VectorSpecies<Float> SPECIES = FloatVector.SPECIES_PREFERRED;

    @Test
    void withinTwoUlpsOverTheWholeRange() {
        Random random = new Random(3);
        float[] x = new float[SPECIES.length()];
        float[] y = new float[SPECIES.length()];
        double worst = 0;
        float worstAt = 0;
        for (int i = 0; i < 200_000; i++) {
            for (int l = 0; l < x.length; l++) {
                x[l] = i % 2 == 0 ? -87f + 175f * random.nextFloat() : -20f * random.nextFloat();  // scores are <= 0
            }
            VectorExp.exp(FloatVector.fromArray(SPECIES, x, 0)).intoArray(y, 0);
            for (int l = 0; l < x.length; l++) {
                double exact = StrictMath.exp(x[l]);
                double ulps = Math.abs(y[l] - exact) / Math.ulp((float) exact);
                if (ulps > worst) {
                    worst = ulps;
                    worstAt = x[l];
                }
            }
        }
        assertTrue(worst <= 2, "max error " + worst + " ulp at x = " + worstAt);
    }

    @Test
    void edges() {
        float[] x = new float[SPECIES.length()];
        float[] y = new float[SPECIES.length()];
        float[] cases = {0f, -0f, 1f, -1f, -87f, -87.5f, -1000f, Float.NEGATIVE_INFINITY};
        float[] expected = {1f, 1f, (float) Math.E, (float) (1 / Math.E), (float) StrictMath.exp(-87), 0f, 0f, 0f};
        for (int c = 0; c < cases.length; c++) {
            java.util.Arrays.fill(x, cases[c]);
            VectorExp.exp(FloatVector.fromArray(SPECIES, x, 0)).intoArray(y, 0);
            double tolerance = expected[c] == 0 ? 0 : 2 * Math.ulp(expected[c]);
            assertEquals(expected[c], y[0], tolerance, "exp(" + cases[c] + ")");
        }
    }
}
