package dev.longnet.engine;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.longnet.engine.stream.AttentionStream;
import dev.longnet.engine.stream.RowSink;
import dev.longnet.engine.stream.StreamExactnessTest;
import dev.longnet.engine.stream.StreamOptions;
import dev.longnet.storage.DType;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.function.LongUnaryOperator;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The stream under torchscale semantics (segment lengths multiples of their rates: no shift) equals the batch
 * engine bit for bit, whatever the chunking, threads or key blocks, and the double reference closely; a
 * configuration that would shift is refused with one line.
 */
class TorchscaleStreamTest {
    @TempDir
    Path dir;

    private static AttentionConfig randomConfig(Random random, int n) {
        int levels = 1 + random.nextInt(3);
        List<Level> list = new ArrayList<>();
        for (int i = 0; i < levels; i++) {
            int r = 1 + random.nextInt(5);
            long w = (long) r * (1 + random.nextInt(Math.max(1, (n + n / 2) / r)));   // sometimes > N
            list.add(new Level(w, r));
        }
        return AttentionConfig.builder().levels(list).heads(1 + random.nextInt(6))
                .headDim(new int[]{1, 4, 8, 17}[random.nextInt(4)]).causal(random.nextBoolean())
                .offsetRule(random.nextInt(3) == 0 ? HeadOffsetRule.PAPER : HeadOffsetRule.TORCHSCALE)
                .semantics(Semantics.TORCHSCALE).build();
    }

    private static int[] bits(double[] out) {
        int[] bits = new int[out.length];
        for (int i = 0; i < bits.length; i++) bits[i] = Float.floatToRawIntBits((float) out[i]);
        return bits;
    }

    @Test
    void streamEqualsTheBatchEngineBitForBit() throws Exception {
        Random random = new Random(31);
        for (int trial = 0; trial < 16; trial++) {
            int n = 1 + random.nextInt(500);
            AttentionConfig config = randomConfig(random, n);
            int size = n * config.heads() * config.headDim();
            double[] q = TestData.gaussian(random, size, 1.5), k = TestData.gaussian(random, size, 1.5),
                    v = TestData.gaussian(random, size, 1);
            int[] expected = bits(TestData.engine(config, n, q, k, v, DType.F32,
                    DilatedAttention.Options.defaults().withThreads(1)));
            double[] reference = ReferenceAttention.attend(config, n, q, k, v).out();
            double diff = 0;
            for (int i = 0; i < size; i++) diff = Math.max(diff, Math.abs(reference[i] - Float.intBitsToFloat(expected[i])));
            assertTrue(diff <= 1e-5, config + " n=" + n + ": batch vs reference " + diff);
            int chunk = 1 + random.nextInt(100);
            for (LongUnaryOperator chunking : List.<LongUnaryOperator>of(p -> 1, p -> chunk, p -> n)) {
                int[] actual = StreamExactnessTest.stream(config, n, q, k, v, DType.F32,
                        StreamOptions.defaults().withThreads(1 + random.nextInt(3)), chunking);
                StreamExactnessTest.assertSameBits(expected, actual, config + " n=" + n);
            }
            int keyBlock = 3 + random.nextInt(30);
            int[] blocked = bits(KeyBlockTest.attend(config, n, q, k, v, DilatedAttention.Options.defaults(), keyBlock));
            int[] streamed = StreamExactnessTest.stream(config, n, q, k, v, DType.F32,
                    StreamOptions.defaults().withThreads(2).withKeyBlockRows(keyBlock), p -> chunk);
            StreamExactnessTest.assertSameBits(blocked, streamed, config + " n=" + n + " key block " + keyBlock);
        }
    }

    @Test
    void shiftingLevelsAreRefusedWithOneLine() {
        AttentionConfig config = AttentionConfig.builder().levels(new long[]{64, 4096}, new int[]{1, 3}).heads(3)
                .headDim(4).semantics(Semantics.TORCHSCALE).build();
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> AttentionStream.open(config, StreamOptions.defaults(), RowSink.DISCARD));
        assertTrue(e.getMessage().contains("(w=4096, r=3)"), e.getMessage());
    }

    @Test
    void snapshotKeepsTheSemantics() throws Exception {
        AttentionConfig config = AttentionConfig.builder().levels(new long[]{8, 24}, new int[]{2, 4}).heads(2)
                .headDim(4).semantics(Semantics.TORCHSCALE).build();
        Path snapshot = dir.resolve("s");
        try (AttentionStream stream = AttentionStream.open(config, StreamOptions.defaults(), RowSink.DISCARD)) {
            stream.push(new float[8 * 5], new float[8 * 5], new float[8 * 5], 5);
            stream.snapshot(snapshot);
        }
        try (AttentionStream restored = AttentionStream.restore(snapshot, StreamOptions.defaults(), RowSink.DISCARD)) {
            assertEquals(config, restored.config());
        }
    }
}
