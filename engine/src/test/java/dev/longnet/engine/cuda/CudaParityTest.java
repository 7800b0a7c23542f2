package dev.longnet.engine.cuda;

import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.longnet.engine.TestData;
import dev.longnet.engine.AttentionConfig;
import dev.longnet.engine.DilatedAttention;
import dev.longnet.engine.ReferenceAttention;
import dev.longnet.engine.VectorAttentionKernel;
import dev.longnet.storage.DType;
import java.util.Random;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The CUDA kernel on a real GPU against the double reference and the CPU Vector API kernel, on the engine's random
 * configurations (N not a multiple of w, w > N, w not a multiple of r, both head rules, causal or not): 1e-5 in
 * f32, 2e-3 with f16/bf16 storage. Skipped, with the reason, where CUDA is unavailable; with
 * {@code LONGNET_REQUIRE_CUDA=1} (the GPU script sets it) an unavailable backend fails instead.
 */
class CudaParityTest {
    private static final double F32_TOLERANCE = 1e-5;
    private static final double HALF_TOLERANCE = 2e-3;

    @BeforeEach
    void needsCuda() { CudaTestSupport.assumeCuda(); }

    @ParameterizedTest(name = "seed {0}")
    @ValueSource(ints = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20,
            21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31, 32, 33, 34, 35, 36, 37, 38, 39, 40})
    void randomConfigsMatchReferenceAndCpu(int seed) throws Exception {
        Random random = new Random(seed);
        int n = 1 + random.nextInt(300);
        AttentionConfig config = TestData.randomConfig(random, n);
        int budget = 1 + random.nextInt(64 * 1024);
        try (CudaAttentionKernel kernel = CudaBackend.kernel()) {
            compare(config, n, random, DType.F32, kernel, budget, F32_TOLERANCE, true);
        }
    }

    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = {"F16", "BF16"})
    void halfPrecisionStorage(String type) throws Exception {
        DType dtype = DType.valueOf(type);
        Random random = new Random(7);
        for (boolean causal : new boolean[]{false, true}) {
            AttentionConfig config = AttentionConfig.builder().levels(new long[]{64, 256, 1024}, new int[]{1, 4, 8})
                    .heads(4).headDim(64).causal(causal).build();
            try (CudaAttentionKernel kernel = CudaBackend.kernel()) {
                compare(config, 1500, random, dtype, kernel, 256 << 20, HALF_TOLERANCE, false);
            }
        }
    }

    @Test
    void keyChunksAndQueryBlocksOnTheDevice() throws Exception {
        // A tight budget: 128-query blocks, 256-key chunks, so that the device-side merge runs.
        var options = CudaAttentionKernel.Options.defaults().withWorkspaceBytes(4L << 20)
                .withQueryBlockRows(128).withMaxKeyChunk(256);
        Random random = new Random(99);
        for (boolean causal : new boolean[]{false, true}) {
            AttentionConfig config = AttentionConfig.builder().levels(new long[]{1300, 700}, new int[]{1, 3})
                    .heads(3).headDim(24).causal(causal).build();
            try (CudaAttentionKernel kernel = CudaBackend.kernel(options)) {
                compare(config, 1500, random, DType.F32, kernel, 256 << 20, F32_TOLERANCE, true);
                assertTrue(kernel.stats().calls() > 0 && kernel.stats().bytesToDevice() > 0, kernel.stats().toString());
            }
        }
    }

    @Test
    void largeHeadDimensionAndManyThreads() throws Exception {
        Random random = new Random(5);
        AttentionConfig config = AttentionConfig.builder().levels(new long[]{512, 2048}, new int[]{1, 2})
                .heads(2).headDim(128).causal(true).build();
        try (CudaAttentionKernel kernel = CudaBackend.kernel()) {
            compare(config, 2048, random, DType.F32, kernel, 256 << 20, F32_TOLERANCE, false);
        }
    }

    @Test
    void tf32IsAnOptionWithItsOwnTolerance() throws Exception {
        Random random = new Random(3);
        AttentionConfig config = AttentionConfig.builder().levels(new long[]{128, 512}, new int[]{1, 2})
                .heads(2).headDim(64).build();
        try (CudaAttentionKernel kernel = CudaBackend.kernel(CudaAttentionKernel.Options.defaults().withTf32(true))) {
            compare(config, 700, random, DType.F32, kernel, 256 << 20, 2e-2, false);
        }
    }

    /** Engine with the CUDA kernel vs the double reference (and, if asked, vs the engine with the CPU kernel). */
    static void compare(AttentionConfig config, int n, Random random, DType dtype, CudaAttentionKernel kernel,
                        long budget, double tolerance, boolean againstCpu) throws Exception {
        int size = n * config.heads() * config.headDim();
        double[] q = TestData.roundTo(dtype, TestData.gaussian(random, size, 1.5));
        double[] k = TestData.roundTo(dtype, TestData.gaussian(random, size, 1.5));
        double[] v = TestData.roundTo(dtype, TestData.gaussian(random, size, 1));
        double[] expected = ReferenceAttention.attend(config, n, q, k, v).out();
        double[] gpu = TestData.engine(config, n, q, k, v, dtype,
                DilatedAttention.Options.defaults().withThreads(4).withKernel(kernel).withBudget(budget));
        double diff = TestData.maxAbsDiff(expected, gpu);
        assertTrue(diff <= tolerance, "N=" + n + " " + dtype + " " + config + ": CUDA vs reference, max abs diff "
                + diff);
        if (againstCpu) {
            double[] cpu = TestData.engine(config, n, q, k, v, dtype,
                    DilatedAttention.Options.defaults().withThreads(2).withKernel(new VectorAttentionKernel()));
            double cpuDiff = TestData.maxAbsDiff(cpu, gpu);
            assertTrue(cpuDiff <= tolerance, "N=" + n + " " + config + ": CUDA vs CPU kernel, max abs diff " + cpuDiff);
        }
    }
}
