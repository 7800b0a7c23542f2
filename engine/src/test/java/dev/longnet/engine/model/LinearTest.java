package dev.longnet.engine.model;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Random;
import org.junit.jupiter.api.Test;

class LinearTest {
    @Test
    void matchesDoubleReferenceOnRandomShapes() {
        Random random = new Random(7);
        for (int trial = 0; trial < 40; trial++) {
            int in = 1 + random.nextInt(150), out = 1 + random.nextInt(150), rows = 1 + random.nextInt(20);
            float[] w = values(random, out * in), b = random.nextBoolean() ? values(random, out) : null;
            float[] x = values(random, rows * in);
            float[] y = new float[rows * out];
            new Linear(w, b, out, in).apply(x, rows, y, Linear.scratch());
            for (int r = 0; r < rows; r++) {
                for (int o = 0; o < out; o++) {
                    double s = b == null ? 0 : b[o], mag = Math.abs(s);
                    for (int i = 0; i < in; i++) {
                        s += (double) x[r * in + i] * w[o * in + i];
                        mag += Math.abs((double) x[r * in + i] * w[o * in + i]);
                    }
                    double err = Math.abs(y[r * out + o] - s);
                    assertTrue(err <= 1e-6 * mag + 1e-30, "in=" + in + " out=" + out + " row " + r + " col " + o
                            + ": " + y[r * out + o] + " vs " + s);
                }
            }
        }
    }

    @Test
    void aRowDoesNotDependOnTheRowsAroundIt() {
        aRowDoesNotDependOnTheRowsAroundIt(70, 45, 13);
        aRowDoesNotDependOnTheRowsAroundIt(70, 45, 3 * Linear.GROUP_ROWS + 7);                     // in groups of rows
        aRowDoesNotDependOnTheRowsAroundIt(Linear.GROUP_BYTES / 4 / Linear.GROUP_ROWS + 1, 33, 2 * Linear.GROUP_ROWS + 5);
    }

    private static void aRowDoesNotDependOnTheRowsAroundIt(int in, int out, int rows) {
        Random random = new Random(3);
        Linear linear = new Linear(values(random, out * in), values(random, out), out, in);
        float[] x = values(random, rows * in);
        float[] all = new float[rows * out];
        linear.apply(x, rows, all, Linear.scratch());
        for (int r = 0; r < rows; r++) {
            float[] one = new float[out];
            linear.apply(java.util.Arrays.copyOfRange(x, r * in, (r + 1) * in), 1, one, Linear.scratch());
            assertArrayEquals(java.util.Arrays.copyOfRange(all, r * out, (r + 1) * out), one, 0f, "row " + r);
        }
    }

    @Test
    void aLayerPackedIntoASpentOneComputesWhatAFreshOneDoes() {
        Random random = new Random(5);
        int in = 70, out = 45, rows = 13;
        Linear spent = new Linear(values(random, out * in), values(random, out), out, in);
        float[] w = values(random, out * in);
        float[] x = values(random, rows * in);
        for (float[] b : new float[][]{null, values(random, out)}) {      // no bias after one: the spent bias is gone
            Linear reused = new Linear(w, b, out, in, spent);
            assertTrue(reused.sharesArraysWith(spent), "packed into the spent layer's arrays");
            float[] expected = new float[rows * out], actual = new float[rows * out];
            new Linear(w, b, out, in).apply(x, rows, expected, Linear.scratch());
            reused.apply(x, rows, actual, Linear.scratch());
            assertArrayEquals(expected, actual, 0f, b == null ? "no bias" : "bias");
            spent = reused;
        }
        Linear otherShape = new Linear(values(random, 2 * in), null, 2, in, spent);
        assertTrue(!otherShape.sharesArraysWith(spent), "another shape gets arrays of its own");
    }

    static float[] values(Random random, int n) {
        float[] x = new float[n];
        for (int i = 0; i < n; i++) x[i] = (float) random.nextGaussian();
        return x;
    }
}
