package dev.longnet.engine;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.longnet.storage.DType;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.Random;
import org.junit.jupiter.api.Test;

/** Each micro-kernel shape of the Vector API kernel against plain double attention, on small and odd d. */
class KernelShapeTest {
    @Test
    void everyShapeMatchesTheReferenceOnOneTile() {
        Random random = new Random(15);
        for (VectorAttentionKernel.Shape shape : VectorAttentionKernel.Shape.values()) {
            VectorAttentionKernel kernel = new VectorAttentionKernel(shape);
            for (int d : new int[]{3, 16, 40, 64, 100}) {
                for (boolean causal : new boolean[]{false, true}) {
                    int m = 70 + random.nextInt(90);
                    int qFrom = random.nextInt(m / 2), qTo = qFrom + 1 + random.nextInt(m - qFrom);
                    check(kernel, random, m, d, qFrom, qTo, causal, shape + " d=" + d + " causal=" + causal);
                }
            }
        }
    }

    @Test
    void theDefaultShapeFitsTheRegisters() {
        int bits = jdk.incubator.vector.FloatVector.SPECIES_PREFERRED.vectorBitSize();
        int lanes = bits / 32;
        assertEquals(VectorAttentionKernel.Shape.SINGLE, VectorAttentionKernel.Shape.of(lanes), "one vector holds d");
        assertEquals(VectorAttentionKernel.Shape.NARROW, VectorAttentionKernel.Shape.of(lanes + 1), "two hold it, four would pad");
        assertEquals(bits >= 512 ? VectorAttentionKernel.Shape.WIDE : VectorAttentionKernel.Shape.NARROW,
                VectorAttentionKernel.Shape.of(128), "4 vectors only with 32 registers");
    }

    private static void check(AttentionKernel kernel, Random random, int m, int d, int qFrom, int qTo, boolean causal,
                              String what) {
        float scale = (float) (1 / Math.sqrt(d));
        float[] q = values(random, m * d), k = values(random, m * d), v = values(random, m * d);
        try (Arena arena = Arena.ofConfined()) {
            View qv = view(arena, q, m, d), kv = view(arena, k, m, d), vv = view(arena, v, m, d);
            View out = view(arena, new float[m * d], m, d), lse = view(arena, new float[m], m, 1);
            kernel.attend(qv, kv, vv, out, lse, qFrom, qTo, causal, scale);
            for (int i = qFrom; i < qTo; i++) {
                int keys = causal ? i + 1 : m;
                double[] w = new double[keys];
                double max = Double.NEGATIVE_INFINITY, sum = 0;
                for (int j = 0; j < keys; j++) {
                    double s = 0;
                    for (int c = 0; c < d; c++) s += (double) (q[i * d + c] * scale) * k[j * d + c];
                    w[j] = s;
                    max = Math.max(max, s);
                }
                for (int j = 0; j < keys; j++) sum += w[j] = Math.exp(w[j] - max);
                for (int c = 0; c < d; c++) {
                    double o = 0;
                    for (int j = 0; j < keys; j++) o += w[j] * v[j * d + c];
                    double error = Math.abs(o / sum - out.get(i, c));
                    assertTrue(error < 1e-5, what + ": row " + i + " col " + c + " off by " + error);
                }
            }
        }
    }

    private static float[] values(Random random, int n) {
        float[] x = new float[n];
        for (int i = 0; i < n; i++) x[i] = (float) random.nextGaussian();
        return x;
    }

    private static View view(Arena arena, float[] data, int rows, int cols) {
        MemorySegment s = arena.allocate(data.length * 4L, 64);
        for (int i = 0; i < data.length; i++) DType.F32.set(s, i, data[i]);
        return new View(s, DType.F32, 0, cols, rows, cols);
    }
}
