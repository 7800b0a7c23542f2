package dev.longnet.engine;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.longnet.storage.DType;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** The engine against the double reference on seeded random shapes covering every edge case of SPEC.md. */
class RandomizedAttentionTest {
    private static final double F32_TOLERANCE = 1e-5;

    @ParameterizedTest(name = "seed {0}")
    @ValueSource(ints = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20,
            21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31, 32, 33, 34, 35, 36, 37, 38, 39, 40})
    void engineMatchesReference(int seed) throws Exception {
        Random random = new Random(seed);
        int n = 1 + random.nextInt(300);
        AttentionConfig config = TestData.randomConfig(random, n);
        checkAgainstReference(config, n, random, DType.F32,
                // A small budget forces several passes and windows.
                DilatedAttention.Options.defaults().withThreads(2).withBudget(1 + random.nextInt(64 * 1024)));
    }

    /** The kernel of a JVM without the Vector API, on the same random shapes (causal, torchscale, padding, NaN-free). */
    @ParameterizedTest(name = "seed {0}")
    @ValueSource(ints = {101, 102, 103, 104, 105, 106, 107, 108, 109, 110, 111, 112})
    void scalarKernelMatchesReference(int seed) throws Exception {
        Random random = new Random(seed);
        int n = 1 + random.nextInt(300);
        AttentionConfig config = TestData.randomConfig(random, n);
        checkAgainstReference(config, n, random, random.nextBoolean() ? DType.F32 : DType.F16,
                DilatedAttention.Options.defaults().withThreads(2).withKernel(new ScalarAttentionKernel())
                        .withBudget(1 + random.nextInt(64 * 1024)));
    }

    @Test
    void longViewsCrossKeyChunksAndTiles() throws Exception {
        // m = 4500 keys in one view: several key chunks and several query tiles (Tiling.TILE_ROWS);
        // a second level over partial segments.
        Random random = new Random(99);
        for (boolean causal : new boolean[]{false, true}) {
            AttentionConfig config = AttentionConfig.builder().levels(new long[]{4500, 700}, new int[]{1, 3})
                    .heads(2).headDim(8).causal(causal).build();
            checkAgainstReference(config, 4700, random, DType.F32, DilatedAttention.Options.defaults());
        }
    }

    @Test
    void halfPrecisionStorageWidensOnLoad() throws Exception {
        Random random = new Random(7);
        AttentionConfig config = AttentionConfig.builder().levels(new long[]{64, 256}, new int[]{1, 4})
                .heads(4).headDim(16).causal(true).build();
        checkAgainstReference(config, 500, random, DType.F16, DilatedAttention.Options.defaults());
        checkAgainstReference(config, 500, random, DType.BF16, DilatedAttention.Options.defaults());
    }

    @Test
    void positionsNoLevelCoversAreZero() throws Exception {
        // r = 4 with one head: phases 1..3 of every segment are covered by no level.
        AttentionConfig config = AttentionConfig.builder().levels(new long[]{8}, new int[]{4}).heads(1).headDim(4).build();
        Random random = new Random(3);
        int n = 20;
        double[] q = TestData.gaussian(random, n * 4, 1), k = TestData.gaussian(random, n * 4, 1),
                v = TestData.gaussian(random, n * 4, 1);
        double[] out = TestData.engine(config, n, q, k, v, DType.F32, DilatedAttention.Options.defaults());
        for (int p = 0; p < n; p++) {
            boolean covered = (p % 8) % 4 == 0;
            for (int c = 0; c < 4; c++) {
                if (!covered) assertTrue(out[p * 4 + c] == 0.0, "position " + p + " should be 0");
                else assertTrue(out[p * 4 + c] != 0.0, "position " + p + " should be attended");
            }
        }
    }

    @Test
    void multiThreadedRunEqualsSingleThreadedBitForBit() throws Exception {
        Random random = new Random(11);
        for (int trial = 0; trial < 6; trial++) {
            int n = 200 + random.nextInt(800);
            AttentionConfig config = TestData.randomConfig(random, n);
            int size = n * config.heads() * config.headDim();
            double[] q = TestData.gaussian(random, size, 1), k = TestData.gaussian(random, size, 1),
                    v = TestData.gaussian(random, size, 1);
            double[] one = TestData.engine(config, n, q, k, v, DType.F32, DilatedAttention.Options.defaults().withThreads(1));
            double[] two = TestData.engine(config, n, q, k, v, DType.F32,
                    DilatedAttention.Options.defaults().withThreads(2).withBudget(5000));
            double[] four = TestData.engine(config, n, q, k, v, DType.F32, DilatedAttention.Options.defaults().withThreads(4));
            assertArrayEquals(one, two, 0.0, config.toString());
            assertArrayEquals(one, four, 0.0, config.toString());
        }
    }

    static void checkAgainstReference(AttentionConfig config, int n, Random random, DType dtype,
                                      DilatedAttention.Options options) throws Exception {
        int size = n * config.heads() * config.headDim();
        double[] q = TestData.roundTo(dtype, TestData.gaussian(random, size, 1.5));
        double[] k = TestData.roundTo(dtype, TestData.gaussian(random, size, 1.5));
        double[] v = TestData.roundTo(dtype, TestData.gaussian(random, size, 1));
        double[] expected = ReferenceAttention.attend(config, n, q, k, v).out();
        double[] actual = TestData.engine(config, n, q, k, v, dtype, options);
        double diff = TestData.maxAbsDiff(expected, actual);
        assertTrue(diff <= F32_TOLERANCE, "N=" + n + " " + config + ": max abs diff " + diff);
    }
}
