package dev.longnet.engine.cuda;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.longnet.engine.TestData;
import dev.longnet.engine.AttentionConfig;
import dev.longnet.engine.DilatedAttention;
import dev.longnet.engine.LogSumExp;
import dev.longnet.engine.ReferenceAttention;
import dev.longnet.engine.VectorAttentionKernel;
import dev.longnet.engine.View;
import dev.longnet.storage.DType;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * {@link CudaAttentionKernel} on the Java {@link EmulatedDevice}: everything the CUDA kernel computes on the host
 * (staging, pointers, leading dimensions, causal limits, query blocks, key chunks, the device and host merges) runs
 * here, on machines without a GPU. Small blocks and chunks force every path.
 */
class EmulatedCudaKernelTest {
    private static final double F32_TOLERANCE = 1e-5;

    @ParameterizedTest(name = "seed {0}")
    @ValueSource(ints = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12})
    void engineThroughEmulatedCudaMatchesReference(int seed) throws Exception {
        Random random = new Random(1000 + seed);
        int n = 1 + random.nextInt(120);
        AttentionConfig config = TestData.randomConfig(random, n);
        CudaAttentionKernel.Options options = CudaAttentionKernel.Options.defaults()
                .withQueryBlockRows(1 + random.nextInt(40)).withMaxKeyChunk(1 + random.nextInt(50));
        EmulatedDevice device = new EmulatedDevice();
        try (CudaAttentionKernel kernel = new CudaAttentionKernel(device, options)) {
            check(config, n, random, DType.F32, kernel, F32_TOLERANCE);
        }
        assertEquals(0, device.live(), "device and host buffers freed on close");
        assertEquals(0, device.queues.get(), "queues closed on close");
    }

    @ParameterizedTest(name = "seed {0}")
    @ValueSource(ints = {1, 2, 3, 4, 5, 6, 7, 8})
    void torchscaleSemanticsThroughEmulatedCudaMatchesReference(int seed) throws Exception {
        Random random = new Random(2000 + seed);
        int n = 1 + random.nextInt(150);
        AttentionConfig config = TestData.randomTorchscaleConfig(random, n);
        CudaAttentionKernel.Options options = CudaAttentionKernel.Options.defaults()
                .withQueryBlockRows(1 + random.nextInt(40)).withMaxKeyChunk(1 + random.nextInt(50));
        try (CudaAttentionKernel kernel = new CudaAttentionKernel(new EmulatedDevice(), options)) {
            check(config, n, random, DType.F32, kernel, F32_TOLERANCE);
        }
    }

    @Test
    void halfPrecisionInputsAreWidenedOnTheDevice() throws Exception {
        Random random = new Random(7);
        AttentionConfig config = AttentionConfig.builder().levels(new long[]{16, 64}, new int[]{1, 4})
                .heads(4).headDim(8).causal(true).build();
        EmulatedDevice device = new EmulatedDevice();
        CudaAttentionKernel.Options options = CudaAttentionKernel.Options.defaults().withQueryBlockRows(5)
                .withMaxKeyChunk(6);
        try (CudaAttentionKernel kernel = new CudaAttentionKernel(device, options)) {
            check(config, 100, random, DType.F16, kernel, F32_TOLERANCE);
            check(config, 100, random, DType.BF16, kernel, F32_TOLERANCE);
        }
        assertTrue(device.widens.get() > 0, "16-bit values go through the widening kernel");
        assertEquals(0, device.live());
    }

    @Test
    void oneViewAgainstTheCpuKernelWithPriorStateAndChunks() {
        Random random = new Random(21);
        int m = 150;
        int d = 12;
        int stride = 3 * d;                       // a dilated view: rows 3·d elements apart
        for (boolean causal : new boolean[]{false, true}) {
            for (int[] range : new int[][]{{0, m}, {37, 101}, {149, 150}}) {
                try (Arena arena = Arena.ofConfined()) {
                    View q = randomView(arena, random, DType.F32, m, d, stride, 1.5);
                    View k = randomView(arena, random, DType.F32, m, d, stride, 1.5);
                    View v = randomView(arena, random, DType.F32, m, d, stride, 1.0);
                    View[] cpu = outputs(arena, random, m, d, stride, 5);   // same prior (out, lse) in both
                    View[] gpu = copyOf(arena, cpu);
                    new VectorAttentionKernel().attend(q, k, v, cpu[0], cpu[1], range[0], range[1], causal, 0.3f);
                    EmulatedDevice device = new EmulatedDevice();
                    var options = CudaAttentionKernel.Options.defaults().withQueryBlockRows(16).withMaxKeyChunk(40);
                    try (CudaAttentionKernel kernel = new CudaAttentionKernel(device, options)) {
                        kernel.attend(q, k, v, gpu[0], gpu[1], range[0], range[1], causal, 0.3f);
                    }
                    assertTrue(device.merges.get() > 0, "key chunks merged on the device");
                    assertViewsClose(cpu, gpu, m, d, 1e-5, "causal=" + causal + " range " + range[0] + ".." + range[1]);
                }
            }
        }
    }

    @Test
    void mixedQueryAndKeyTypesAreWidenedOnTheHost() {
        Random random = new Random(5);
        int m = 40;
        int d = 5;
        try (Arena arena = Arena.ofConfined()) {
            View q = randomView(arena, random, DType.F16, m, d, d, 1.0);
            View k = randomView(arena, random, DType.F32, m, d, 2 * d, 1.0);
            View v = randomView(arena, random, DType.BF16, m, d, d, 1.0);
            View[] cpu = outputs(arena, random, m, d, d, 0);
            View[] gpu = copyOf(arena, cpu);
            new VectorAttentionKernel().attend(q, k, v, cpu[0], cpu[1], 0, m, true, 0.5f);
            try (CudaAttentionKernel kernel = new CudaAttentionKernel(new EmulatedDevice(),
                    CudaAttentionKernel.Options.defaults().withMaxKeyChunk(7))) {
                kernel.attend(q, k, v, gpu[0], gpu[1], 0, m, true, 0.5f);
            }
            assertViewsClose(cpu, gpu, m, d, 1e-5, "mixed types");
        }
    }

    @Test
    void planStaysWithinTheBudget() {
        for (DType type : DType.values()) {
            for (int d : new int[]{1, 17, 64, 128, 256}) {
                var options = CudaAttentionKernel.Options.defaults().withWorkspaceBytes(64L << 20);
                int[] plan = CudaAttentionKernel.plan(options, d, type, type);
                long q = plan[0], keys = plan[1];
                long bytes = q * d * type.bytes() + keys * d * type.bytes() * 2 + (type == DType.F32 ? 0 : keys * d * 4)
                        + q * dev.longnet.engine.Align.roundUp((int) keys, 4) * 4 + 2 * q * d * 4 + 2 * q * 4;
                assertTrue(bytes <= 64L << 20, type + " d=" + d + ": " + bytes + " bytes");
                assertTrue(keys >= 64 && keys % 64 == 0, "key chunk " + keys);
            }
        }
        var tiny = CudaAttentionKernel.Options.defaults().withWorkspaceBytes(4096);
        assertThrows(IllegalArgumentException.class, () -> CudaAttentionKernel.plan(tiny, 64, DType.F32, DType.F32));
    }

    static void check(AttentionConfig config, int n, Random random, DType dtype, CudaAttentionKernel kernel,
                      double tolerance) throws Exception {
        int size = n * config.heads() * config.headDim();
        double[] q = TestData.roundTo(dtype, TestData.gaussian(random, size, 1.5));
        double[] k = TestData.roundTo(dtype, TestData.gaussian(random, size, 1.5));
        double[] v = TestData.roundTo(dtype, TestData.gaussian(random, size, 1));
        double[] expected = ReferenceAttention.attend(config, n, q, k, v).out();
        double[] actual = TestData.engine(config, n, q, k, v, dtype,
                DilatedAttention.Options.defaults().withThreads(2).withKernel(kernel)
                        .withBudget(1 + random.nextInt(64 * 1024)));
        double diff = TestData.maxAbsDiff(expected, actual);
        assertTrue(diff <= tolerance, "N=" + n + " " + dtype + " " + config + " " + kernel.options() + ": max abs diff "
                + diff);
    }

    static View randomView(Arena arena, Random random, DType type, int rows, int d, int stride, double sigma) {
        MemorySegment data = arena.allocate((long) rows * stride * type.bytes(), 4);
        View view = new View(data, type, 0, stride, rows, d);
        for (int i = 0; i < rows; i++) {
            for (int c = 0; c < d; c++) view.set(i, c, (float) (random.nextGaussian() * sigma));
        }
        return view;
    }

    /** out (f32, normalised) and lse views; the first {@code prior} rows already hold a merged result. */
    static View[] outputs(Arena arena, Random random, int rows, int d, int stride, int prior) {
        View out = new View(arena.allocate((long) rows * stride * 4, 4), DType.F32, 0, stride, rows, d);
        View lse = new View(arena.allocate((long) rows * 4, 4), DType.F32, 0, 1, rows, 1);
        for (int i = 0; i < prior; i++) {
            for (int c = 0; c < d; c++) out.set(i, c, (float) random.nextGaussian());
            lse.set(i, 0, LogSumExp.encode((float) random.nextGaussian() * 3));
        }
        return new View[]{out, lse};
    }

    static View[] copyOf(Arena arena, View[] views) {
        View[] copy = new View[views.length];
        for (int i = 0; i < views.length; i++) {
            MemorySegment data = arena.allocate(views[i].data().byteSize(), 4);
            data.copyFrom(views[i].data());
            copy[i] = new View(data, views[i].dtype(), views[i].offset(), views[i].rowStride(), views[i].rows(),
                    views[i].cols());
        }
        return copy;
    }

    static void assertViewsClose(View[] expected, View[] actual, int rows, int d, double tolerance, String what) {
        for (int i = 0; i < rows; i++) {
            float le = LogSumExp.decode(expected[1].get(i, 0));
            float la = LogSumExp.decode(actual[1].get(i, 0));
            assertTrue(le == la || Math.abs(le - la) <= tolerance * Math.max(1, Math.abs(le)),
                    what + ": lse of row " + i + ": " + le + " vs " + la);
            for (int c = 0; c < d; c++) {
                double diff = Math.abs(expected[0].get(i, c) - actual[0].get(i, c));
                assertTrue(diff <= tolerance, what + ": out[" + i + "][" + c + "] " + expected[0].get(i, c) + " vs "
                        + actual[0].get(i, c));
            }
        }
    }
}
