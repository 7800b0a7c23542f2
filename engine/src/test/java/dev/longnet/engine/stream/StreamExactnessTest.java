package dev.longnet.engine.stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.longnet.engine.AttentionConfig;
import dev.longnet.engine.DilatedAttention;
import dev.longnet.engine.HeadOffsetRule;
import dev.longnet.engine.Level;
import dev.longnet.engine.ReferenceAttention;
import dev.longnet.engine.TestData;
import dev.longnet.storage.DType;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.List;
import java.util.Random;
import java.util.function.LongUnaryOperator;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** The stream equals the batch engine bit for bit, for every chunking, and the double reference closely. */
public class StreamExactnessTest {

    /** The batch engine's output bits. */
    static int[] batch(AttentionConfig config, int n, double[] q, double[] k, double[] v, DType dtype) throws Exception {
        double[] out = TestData.engine(config, n, q, k, v, dtype, DilatedAttention.Options.defaults().withThreads(1));
        int[] bits = new int[out.length];
        for (int i = 0; i < out.length; i++) bits[i] = Float.floatToRawIntBits((float) out[i]);
        return bits;
    }

    /** The stream's output bits when pushed in chunks of {@code chunk(position)} rows (q, k, v as stored in dtype). */
    public static int[] stream(AttentionConfig config, int n, double[] q, double[] k, double[] v, DType dtype,
                        StreamOptions options, LongUnaryOperator chunk) throws Exception {
        int rowFloats = config.heads() * config.headDim();
        float[][] in = {floats(TestData.roundTo(dtype, q)), floats(TestData.roundTo(dtype, k)),
                floats(TestData.roundTo(dtype, v))};
        int[] out = new int[n * rowFloats];
        long[] next = {0};
        RowSink sink = (first, rows, count) -> {
            assertEquals(next[0], first, "rows arrive in order, each once");
            for (int i = 0; i < count * rowFloats; i++) {
                out[(int) (first * rowFloats) + i] = rows.getAtIndex(ValueLayout.JAVA_INT_UNALIGNED, i);
            }
            next[0] = first + count;
        };
        try (AttentionStream stream = AttentionStream.open(config, options, sink)) {
            for (int p = 0; p < n; ) {
                int rows = (int) Math.min(n - p, Math.max(1, chunk.applyAsLong(p)));
                stream.push(MemorySegment.ofArray(slice(in[0], p, rows, rowFloats)),
                        MemorySegment.ofArray(slice(in[1], p, rows, rowFloats)),
                        MemorySegment.ofArray(slice(in[2], p, rows, rowFloats)), rows);
                p += rows;
                if (config.causal()) assertEquals(p, next[0], "a causal row is final when pushed");
            }
            stream.finish();
        }
        assertEquals(n, next[0], "every row was delivered");
        return out;
    }

    public static float[] floats(double[] x) {
        float[] f = new float[x.length];
        for (int i = 0; i < x.length; i++) f[i] = (float) x[i];
        return f;
    }

    private static float[] slice(float[] x, int row, int rows, int rowFloats) {
        float[] s = new float[rows * rowFloats];
        System.arraycopy(x, row * rowFloats, s, 0, s.length);
        return s;
    }

    public static void assertSameBits(int[] expected, int[] actual, String what) {
        assertEquals(expected.length, actual.length);
        for (int i = 0; i < expected.length; i++) {
            if (expected[i] != actual[i]) {
                throw new AssertionError(what + ": element " + i + " is " + Float.intBitsToFloat(actual[i])
                        + ", the batch engine gives " + Float.intBitsToFloat(expected[i]));
            }
        }
    }

    private static void check(AttentionConfig config, int n, long seed, DType dtype, StreamOptions options)
            throws Exception {
        Random random = new Random(seed);
        int count = n * config.heads() * config.headDim();
        double[] q = TestData.gaussian(random, count, 1), k = TestData.gaussian(random, count, 1),
                v = TestData.gaussian(random, count, 1);
        int[] expected = batch(config, n, q, k, v, dtype);
        long smallest = config.levels().stream().mapToLong(Level::segmentLength).min().orElseThrow();
        long largest = config.levels().stream().mapToLong(Level::segmentLength).max().orElseThrow();
        Random sizes = new Random(seed * 31 + 7);
        List<LongUnaryOperator> chunkings = List.of(p -> 1, p -> 7, p -> 2048, p -> smallest, p -> largest,
                p -> 1 + sizes.nextInt(3 * (int) Math.min(largest, 5000)), p -> n);
        for (LongUnaryOperator chunking : chunkings) {
            assertSameBits(expected, stream(config, n, q, k, v, dtype, options, chunking), config + " n=" + n);
        }
    }

    @ParameterizedTest
    @ValueSource(booleans = {false, true})
    void benchLevelsEqualTheBatchEngine(boolean causal) throws Exception {
        AttentionConfig config = AttentionConfig.builder().levels(new long[]{64, 128, 256}, new int[]{1, 2, 4})
                .heads(3).headDim(16).causal(causal).build();
        check(config, 1000, 1, DType.F32, StreamOptions.defaults());
    }

    @Test
    void randomConfigurationsEqualTheBatchEngine() throws Exception {
        Random random = new Random(12);
        for (int i = 0; i < 24; i++) {
            int n = 1 + random.nextInt(600);
            AttentionConfig config = TestData.randomConfig(random, n);
            check(config, n, 100 + i, DType.F32, new StreamOptions(1 + random.nextInt(3), null, null));
        }
    }

    @Test
    void edgeCasesOfSpecEqualTheBatchEngine() throws Exception {
        for (boolean causal : new boolean[]{false, true}) {
            for (HeadOffsetRule rule : HeadOffsetRule.values()) {
                // N not a multiple of w, w not a multiple of r, H not a multiple of r, w > N.
                AttentionConfig config = AttentionConfig.builder().levels(new long[]{50, 77, 900}, new int[]{3, 5, 7})
                        .heads(4).headDim(8).causal(causal).offsetRule(rule).build();
                check(config, 333, 7, DType.F32, StreamOptions.defaults());
            }
        }
    }

    @Test
    void f16InputsEqualTheBatchEngineOnF16Files() throws Exception {
        for (boolean causal : new boolean[]{false, true}) {
            AttentionConfig config = AttentionConfig.builder().levels(new long[]{32, 96}, new int[]{1, 3})
                    .heads(2).headDim(8).causal(causal).build();
            check(config, 300, 3, DType.F16, StreamOptions.defaults());
        }
    }

    @Test
    void matchesTheDoubleReference() throws Exception {
        AttentionConfig config = AttentionConfig.builder().levels(new long[]{40, 100}, new int[]{2, 4})
                .heads(3).headDim(8).causal(true).offsetRule(HeadOffsetRule.PAPER).build();
        int n = 230;
        Random random = new Random(5);
        int count = n * 3 * 8;
        double[] q = TestData.roundTo(DType.F32, TestData.gaussian(random, count, 1));
        double[] k = TestData.roundTo(DType.F32, TestData.gaussian(random, count, 1));
        double[] v = TestData.roundTo(DType.F32, TestData.gaussian(random, count, 1));
        int[] bits = stream(config, n, q, k, v, DType.F32, StreamOptions.defaults(), p -> 13);
        double[] expected = ReferenceAttention.attend(config, n, q, k, v).out();
        double max = 0;
        for (int i = 0; i < count; i++) max = Math.max(max, Math.abs(expected[i] - Float.intBitsToFloat(bits[i])));
        assertTrue(max < 1e-5, "max abs error " + max);
    }

    @Test
    void stateInAMappedFileGivesTheSameBits(@org.junit.jupiter.api.io.TempDir java.nio.file.Path dir) throws Exception {
        for (boolean causal : new boolean[]{false, true}) {
            AttentionConfig config = AttentionConfig.builder().levels(new long[]{64, 256}, new int[]{1, 4})
                    .heads(2).headDim(8).causal(causal).build();
            check(config, 700, 9, DType.F32, StreamOptions.defaults().withStateDirectory(dir));
        }
    }
}
