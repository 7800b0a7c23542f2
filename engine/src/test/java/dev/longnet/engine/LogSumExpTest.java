package dev.longnet.engine;

import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.longnet.storage.DType;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.Random;
import org.junit.jupiter.api.Test;

/**
 * {@link LogSumExp}: attention over keys A then merged with attention over keys B equals attention over A ∪ B (in
 * double), whatever the split; a row with no keys changes nothing; a zero-filled lse reads as -inf.
 */
class LogSumExpTest {
    @Test
    void mergingTwoKeySetsEqualsAttendingToTheirUnion() {
        Random random = new Random(5);
        int d = 7;
        try (Arena arena = Arena.ofConfined()) {
            for (int trial = 0; trial < 500; trial++) {
                int keys = 2 + random.nextInt(40);
                int split = 1 + random.nextInt(keys - 1);
                double[] s = new double[keys];
                double[][] v = new double[keys][d];
                double spread = new double[]{0.1, 3, 30, 300}[random.nextInt(4)];
                for (int j = 0; j < keys; j++) {
                    s[j] = spread * random.nextGaussian();
                    for (int c = 0; c < d; c++) v[j][c] = random.nextGaussian();
                }
                View out = new View(arena.allocate(4L * d, 4), DType.F32, 0, d, 1, d);
                View lse = new View(arena.allocate(4, 4), DType.F32, 0, 1, 1, 1);
                float[] scratch = new float[d];
                for (int[] part : new int[][]{{0, split}, {split, keys}}) {
                    float[] o = new float[d];
                    float l = attend(s, v, part[0], part[1], o);
                    LogSumExp.merge(out, lse, 0, o, 0, l, scratch);
                }
                double[] expected = new double[d];
                double total = logSumExp(s, 0, keys);
                for (int j = 0; j < keys; j++) {
                    for (int c = 0; c < d; c++) expected[c] += Math.exp(s[j] - total) * v[j][c];
                }
                for (int c = 0; c < d; c++) assertEquals(expected[c], out.get(0, c), 2e-5, "trial " + trial + " col " + c);
                assertEquals(total, LogSumExp.decode(lse.get(0, 0)), 1e-5 * Math.max(1, Math.abs(total)), "lse");
            }
        }
    }

    @Test
    void aRowWithoutKeysChangesNothingAndZerosReadAsMinusInfinity() {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment zeros = arena.allocate(4, 4);
            View lse = new View(zeros, DType.F32, 0, 1, 1, 1);
            assertEquals(Float.NEGATIVE_INFINITY, LogSumExp.decode(lse.get(0, 0)));
            View out = new View(arena.allocate(8, 4), DType.F32, 0, 2, 1, 2);
            LogSumExp.merge(out, lse, 0, new float[]{5, 6}, 0, Float.NEGATIVE_INFINITY, new float[2]);
            assertEquals(0f, out.get(0, 0));
            assertEquals(Float.NEGATIVE_INFINITY, LogSumExp.decode(lse.get(0, 0)));
            LogSumExp.merge(out, lse, 0, new float[]{5, 6}, 0, 1.5f, new float[2]);
            assertEquals(6f, out.get(0, 1), "the first merge takes the row as it is");
            assertEquals(1.5f, LogSumExp.decode(lse.get(0, 0)));
        }
    }

    /** Normalised attention over keys [from, to) into o (float), returning its log-sum-exp. */
    private static float attend(double[] s, double[][] v, int from, int to, float[] o) {
        double l = logSumExp(s, from, to);
        for (int c = 0; c < o.length; c++) {
            double x = 0;
            for (int j = from; j < to; j++) x += Math.exp(s[j] - l) * v[j][c];
            o[c] = (float) x;
        }
        return (float) l;
    }

    private static double logSumExp(double[] s, int from, int to) {
        double max = Double.NEGATIVE_INFINITY;
        for (int j = from; j < to; j++) max = Math.max(max, s[j]);
        double sum = 0;
        for (int j = from; j < to; j++) sum += Math.exp(s[j] - max);
        return max + Math.log(sum);
    }
}
