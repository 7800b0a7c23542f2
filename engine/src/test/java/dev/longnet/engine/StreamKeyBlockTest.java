package dev.longnet.engine;

import dev.longnet.engine.stream.StreamExactnessTest;
import dev.longnet.engine.stream.StreamOptions;
import dev.longnet.storage.DType;
import java.util.Random;
import org.junit.jupiter.api.Test;

/** Views longer than a key block: the stream cuts them into the batch engine's key blocks and keeps its bits. */
class StreamKeyBlockTest {
    @Test
    void streamEqualsTheBatchEngineWithKeyBlocks() throws Exception {
        Random random = new Random(21);
        for (int trial = 0; trial < 8; trial++) {
            int n = 200 + random.nextInt(400);
            boolean causal = trial % 2 == 0;
            AttentionConfig config = AttentionConfig.builder()
                    .levels(new long[]{n + random.nextInt(300), 40, 5000}, new int[]{1, 3, 2})   // w > N: one long view
                    .heads(1 + random.nextInt(3)).headDim(8).causal(causal)
                    .offsetRule(trial % 3 == 0 ? HeadOffsetRule.PAPER : HeadOffsetRule.TORCHSCALE).build();
            int keyBlock = 5 + random.nextInt(90);
            int size = n * config.heads() * config.headDim();
            double[] q = TestData.gaussian(random, size, 1), k = TestData.gaussian(random, size, 1),
                    v = TestData.gaussian(random, size, 1);
            int[] expected = batch(config, n, q, k, v, keyBlock);
            int chunk = 1 + random.nextInt(150);
            int[] actual = StreamExactnessTest.stream(config, n, q, k, v, DType.F32,
                    StreamOptions.defaults().withThreads(2).withKeyBlockRows(keyBlock), p -> chunk);
            StreamExactnessTest.assertSameBits(expected, actual, config + " key block " + keyBlock + " chunk " + chunk);
        }
    }

    private static int[] batch(AttentionConfig config, int n, double[] q, double[] k, double[] v, int keyBlock)
            throws Exception {
        double[] out = KeyBlockTest.attend(config, n, q, k, v, DilatedAttention.Options.defaults(), keyBlock);
        int[] bits = new int[out.length];
        for (int i = 0; i < bits.length; i++) bits[i] = Float.floatToRawIntBits((float) out[i]);
        return bits;
    }
}
