package dev.longnet.engine;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.longnet.storage.DType;
import java.util.Random;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The engine under torchscale semantics against the double reference on seeded random shapes: N % w != 0,
 * w % r != 0 with several segments (shifted outputs), w < r (zero queries), w > N, H % r != 0, causal or not; the
 * bits do not depend on the threads or the window budget, and small key blocks match too.
 */
class TorchscaleRandomizedTest {
    @ParameterizedTest(name = "seed {0}")
    @ValueSource(ints = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20,
            21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31, 32, 33, 34, 35, 36, 37, 38, 39, 40})
    void engineMatchesReferenceWhateverThreadsAndBudget(int seed) throws Exception {
        Random random = new Random(seed);
        int n = 1 + random.nextInt(seed % 5 == 0 ? 1500 : 300);
        AttentionConfig config = TestData.randomTorchscaleConfig(random, n);
        int size = n * config.heads() * config.headDim();
        double[] q = TestData.gaussian(random, size, 1.5);
        double[] k = TestData.gaussian(random, size, 1.5);
        double[] v = TestData.gaussian(random, size, 1);
        double[] expected = ReferenceAttention.attend(config, n, q, k, v).out();
        double[] one = TestData.engine(config, n, q, k, v, DType.F32, DilatedAttention.Options.defaults().withThreads(1));
        double diff = TestData.maxAbsDiff(expected, one);
        assertTrue(diff <= 1e-5, "N=" + n + " " + config + ": max abs diff " + diff);
        // A small budget: several passes and windows, and split units for long segments.
        long budget = 1 + random.nextInt(16 * 1024);
        double[] small = TestData.engine(config, n, q, k, v, DType.F32,
                DilatedAttention.Options.defaults().withThreads(3).withBudget(budget));
        assertArrayEquals(one, small, 0.0, "N=" + n + " " + config + " budget " + budget);
        // Key blocks: another merge order, so compared to the reference; blocked runs agree with each other.
        int keyBlock = 3 + random.nextInt(40);
        double[] blocked = KeyBlockTest.attend(config, n, q, k, v, DilatedAttention.Options.defaults().withThreads(1), keyBlock);
        double blockedDiff = TestData.maxAbsDiff(expected, blocked);
        assertTrue(blockedDiff <= 1e-4, "N=" + n + " " + config + " key block " + keyBlock + ": max abs diff " + blockedDiff);
        double[] blockedSmall = KeyBlockTest.attend(config, n, q, k, v,
                DilatedAttention.Options.defaults().withThreads(2).withBudget(budget), keyBlock);
        assertArrayEquals(blocked, blockedSmall, 0.0, "N=" + n + " " + config + " key block " + keyBlock);
    }
}
