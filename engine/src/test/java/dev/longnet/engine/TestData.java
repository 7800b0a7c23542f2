package dev.longnet.engine;

import dev.longnet.storage.DType;
import dev.longnet.storage.MemoryRows;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;

/** Random tensors, random configurations and the engine run on them, shared by the engine's tests (CUDA's too). */
public final class TestData {
    private TestData() { }

    public static double[] gaussian(Random random, int count, double sigma) {
        double[] x = new double[count];
        for (int i = 0; i < count; i++) x[i] = random.nextGaussian() * sigma;
        return x;
    }

    /** The values as stored in dtype, read back: what the engine really sees. */
    public static double[] roundTo(DType dtype, double[] x) {
        MemorySegment one = Arena.ofAuto().allocate(4);
        double[] out = new double[x.length];
        for (int i = 0; i < x.length; i++) {
            dtype.set(one, 0, (float) x[i]);
            out[i] = dtype.get(one, 0);
        }
        return out;
    }

    public static MemorySegment store(Arena arena, DType dtype, double[] x) {
        MemorySegment s = arena.allocate((long) x.length * dtype.bytes(), 4);
        for (int i = 0; i < x.length; i++) dtype.set(s, i, (float) x[i]);
        return s;
    }

    /** Runs the engine on in-memory tensors of the given dtype and returns out as doubles. */
    public static double[] engine(AttentionConfig config, int n, double[] q, double[] k, double[] v, DType dtype,
                           DilatedAttention.Options options) throws Exception {
        int heads = config.heads();
        int d = config.headDim();
        try (Arena arena = Arena.ofShared(); DilatedAttention attention = new DilatedAttention(config, options)) {
            long[] shape = {n, heads, d};
            MemorySegment out = arena.allocate((long) n * heads * d * 4, 4);
            MemorySegment lse = arena.allocate((long) n * heads * 4, 4);
            attention.attend(MemoryRows.of(store(arena, dtype, q), dtype, shape),
                    MemoryRows.of(store(arena, dtype, k), dtype, shape),
                    MemoryRows.of(store(arena, dtype, v), dtype, shape),
                    MemoryRows.of(out, DType.F32, shape), MemoryRows.of(lse, DType.F32, n, heads));
            double[] result = new double[n * heads * d];
            for (int i = 0; i < result.length; i++) result[i] = DType.F32.get(out, i);
            return result;
        }
    }

    /** A random configuration covering SPEC.md's edge cases: N % w != 0, w > N, w % r != 0, H % r != 0. */
    public static AttentionConfig randomConfig(Random random, int n) {
        int levels = 1 + random.nextInt(3);
        List<Level> list = new ArrayList<>();
        for (int i = 0; i < levels; i++) {
            long w = 1 + random.nextInt(Math.max(1, n + n / 2));             // sometimes > N
            int r = 1 + random.nextInt((int) Math.min(5, w));
            list.add(new Level(w, r));
        }
        return AttentionConfig.builder().levels(list).heads(1 + random.nextInt(5))
                .headDim(new int[]{1, 3, 4, 8, 16, 17, 32, 64}[random.nextInt(8)])
                .causal(random.nextBoolean())
                .offsetRule(random.nextBoolean() ? HeadOffsetRule.TORCHSCALE : HeadOffsetRule.PAPER).build();
    }

    /** A random configuration under torchscale semantics: shifts (w % r != 0, N > w), w < r, w > N, H % r != 0. */
    public static AttentionConfig randomTorchscaleConfig(Random random, int n) {
        int levels = 1 + random.nextInt(3);
        List<Level> list = new ArrayList<>();
        for (int i = 0; i < levels; i++) {
            long w = 1 + random.nextInt(Math.max(1, n + n / 2));               // sometimes > N
            int r = 1 + random.nextInt(w < 4 && random.nextBoolean() ? 6 : (int) Math.min(6, w));   // sometimes > w
            list.add(new Level(w, r));
        }
        return AttentionConfig.builder().levels(list).heads(1 + random.nextInt(7))
                .headDim(new int[]{1, 3, 4, 8, 16, 17}[random.nextInt(6)]).causal(random.nextBoolean())
                .offsetRule(random.nextInt(4) == 0 ? HeadOffsetRule.PAPER : HeadOffsetRule.TORCHSCALE)
                .semantics(Semantics.TORCHSCALE).build();
    }

    public static double maxAbsDiff(double[] a, double[] b) {
        if (a.length != b.length) throw new AssertionError("lengths " + a.length + " and " + b.length);
        double max = 0;
        for (int i = 0; i < a.length; i++) {
            double diff = Math.abs(a[i] - b[i]);
            if (Double.isNaN(diff)) return Double.NaN;
            max = Math.max(max, diff);
        }
        return max;
    }
}
