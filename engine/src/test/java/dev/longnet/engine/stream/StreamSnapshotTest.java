package dev.longnet.engine.stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.longnet.engine.AttentionConfig;
import dev.longnet.engine.TestData;
import dev.longnet.storage.SnapshotFile;
import dev.longnet.storage.TensorFormatException;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Random;
import java.util.zip.CRC32C;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** Snapshots restore to exactly the same bits; damaged ones and misuse fail with a clear message. */
class StreamSnapshotTest {
    @TempDir
    Path dir;

    private static AttentionConfig config(boolean causal) {
        return AttentionConfig.builder().levels(new long[]{48, 160}, new int[]{2, 5}).heads(3).headDim(8)
                .causal(causal).build();
    }

    /** Inputs of n rows. */
    private record Inputs(float[] q, float[] k, float[] v, int rowFloats) {
        static Inputs random(AttentionConfig config, int n, long seed) {
            Random random = new Random(seed);
            int count = n * config.heads() * config.headDim();
            return new Inputs(StreamExactnessTest.floats(TestData.gaussian(random, count, 1)),
                    StreamExactnessTest.floats(TestData.gaussian(random, count, 1)),
                    StreamExactnessTest.floats(TestData.gaussian(random, count, 1)), config.heads() * config.headDim());
        }

        void push(AttentionStream stream, int from, int to) throws IOException {
            for (int p = from; p < to; p += 37) {
                int rows = Math.min(37, to - p);
                stream.push(MemorySegment.ofArray(q).asSlice(p * rowFloats * 4L, rows * rowFloats * 4L),
                        MemorySegment.ofArray(k).asSlice(p * rowFloats * 4L, rows * rowFloats * 4L),
                        MemorySegment.ofArray(v).asSlice(p * rowFloats * 4L, rows * rowFloats * 4L), rows);
            }
        }
    }

    /** Collects output bits by position. */
    private static final class Collect implements RowSink {
        final int[] bits;
        final int rowFloats;

        Collect(int n, int rowFloats) {
            bits = new int[n * rowFloats];
            this.rowFloats = rowFloats;
        }

        @Override
        public void accept(long first, MemorySegment rows, int count) {
            for (int i = 0; i < count * rowFloats; i++) {
                bits[(int) first * rowFloats + i] = rows.getAtIndex(ValueLayout.JAVA_INT_UNALIGNED, i);
            }
        }
    }

    private static int[] uninterrupted(AttentionConfig config, Inputs in, int n) throws IOException {
        Collect all = new Collect(n, in.rowFloats());
        try (AttentionStream stream = AttentionStream.open(config, StreamOptions.defaults(), all)) {
            in.push(stream, 0, n);
            stream.finish();
        }
        return all.bits;
    }

    /** A snapshot at token {@code cut} of a stream of {@code in}. */
    private static void snapshotAt(AttentionConfig config, Inputs in, int cut, Path snapshot) throws IOException {
        try (AttentionStream stream = AttentionStream.open(config, StreamOptions.defaults(), RowSink.DISCARD)) {
            in.push(stream, 0, cut);
            stream.snapshot(snapshot);
        }
    }

    @ParameterizedTest
    @ValueSource(booleans = {false, true})
    void restoredStreamContinuesToTheSameBits(boolean causal) throws IOException {
        AttentionConfig config = config(causal);
        int n = 700;
        Inputs in = Inputs.random(config, n, 1);
        int[] expected = uninterrupted(config, in, n);
        for (int cut : new int[]{0, 1, 47, 48, 160, 333, 480, 699, 700}) {
            Collect out = new Collect(n, in.rowFloats());
            Path snapshot = dir.resolve("s" + cut);
            try (AttentionStream stream = AttentionStream.open(config, StreamOptions.defaults(), out)) {
                in.push(stream, 0, cut);
                stream.snapshot(snapshot);
            }
            try (AttentionStream stream = AttentionStream.restore(snapshot, config, StreamOptions.defaults(), out)) {
                assertEquals(cut, stream.position());
                in.push(stream, cut, n);
                stream.finish();
            }
            StreamExactnessTest.assertSameBits(expected, out.bits, "restored at " + cut);
        }
    }

    @Test
    void snapshotOfAnotherConfigurationIsRefused() throws IOException {
        Path snapshot = dir.resolve("s");
        try (AttentionStream stream = AttentionStream.open(config(true), StreamOptions.defaults(), RowSink.DISCARD)) {
            stream.snapshot(snapshot);
        }
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> AttentionStream.restore(snapshot, config(false), StreamOptions.defaults(), RowSink.DISCARD));
        assertTrue(e.getMessage().contains("another configuration"), e.getMessage());
    }

    @Test
    void misuseGetsClearErrors() throws IOException {
        AttentionConfig config = config(false);
        try (AttentionStream stream = AttentionStream.open(config, StreamOptions.defaults(), RowSink.DISCARD)) {
            IllegalArgumentException wide = assertThrows(IllegalArgumentException.class,
                    () -> stream.push(new float[25], new float[24], new float[24], 1));
            assertTrue(wide.getMessage().contains("wrong width"), wide.getMessage());
            stream.push(new float[24], new float[24], new float[24], 1);   // a bad argument does not fail the stream
            stream.finish();
            IllegalStateException after = assertThrows(IllegalStateException.class,
                    () -> stream.push(new float[24], new float[24], new float[24], 1));
            assertTrue(after.getMessage().contains("after finish"), after.getMessage());
        }
    }

    @ParameterizedTest
    @ValueSource(booleans = {false, true})
    void aNonFiniteValueStopsTheStreamNamingItsRowAndHead(boolean causal) throws IOException {
        float[] q = new float[24 * 100], k = new float[24 * 100], v = new float[24 * 100];
        v[(57 * 3 + 2) * 8 + 5] = Float.NaN;                          // row 57, head 2
        try (AttentionStream stream = AttentionStream.open(config(causal), StreamOptions.defaults(), RowSink.DISCARD)) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> {
                stream.push(q, k, v, 100);
                stream.finish();
            });
            assertTrue(e.getMessage().startsWith("v of row 57, head 2 holds NaN"), e.getMessage());
            assertThrows(IllegalStateException.class, () -> stream.push(q, k, v, 100));
        }
    }

    @Test
    void aStateTooLargeToHoldIsOneClearError() {
        AttentionConfig huge = AttentionConfig.builder().levels(new long[]{1L << 62}, new int[]{1}).heads(8).headDim(64)
                .causal(false).build();
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> AttentionStream.open(huge, StreamOptions.defaults(), RowSink.DISCARD));
        assertTrue(e.getMessage().contains("too large for a stream"), e.getMessage());
        AttentionConfig big = AttentionConfig.builder().levels(new long[]{1L << 40}, new int[]{1}).heads(8).headDim(64)
                .causal(true).build();
        IOException io = assertThrows(IOException.class,
                () -> AttentionStream.open(big, StreamOptions.defaults(), RowSink.DISCARD));
        assertTrue(io.getMessage().startsWith("cannot hold the stream's state of "), io.getMessage());
    }

    @Test
    void aFailingSinkFailsTheStream() throws IOException {
        RowSink broken = (first, rows, count) -> { throw new IOException("disk full"); };
        try (AttentionStream stream = AttentionStream.open(config(true), StreamOptions.defaults(), broken)) {
            assertThrows(IOException.class, () -> stream.push(new float[24], new float[24], new float[24], 1));
            IllegalStateException e = assertThrows(IllegalStateException.class,
                    () -> stream.push(new float[24], new float[24], new float[24], 1));
            assertTrue(e.getMessage().contains("disk full"), e.getMessage());
        }
    }

    @ParameterizedTest
    @ValueSource(booleans = {false, true})
    void damagedSnapshotsNeverLoadWrong(boolean causal) throws IOException {
        AttentionConfig config = config(causal);
        int n = 400;
        int cut = 250;
        Inputs in = Inputs.random(config, n, 2);
        int[] expected = uninterrupted(config, in, n);
        Path good = dir.resolve("good");
        snapshotAt(config, in, cut, good);
        byte[] bytes = Files.readAllBytes(good);
        Random random = new Random(causal ? 3 : 4);
        Path bad = dir.resolve("bad");
        int refused = 0;
        for (int trial = 0; trial < 600; trial++) {
            byte[] mutated = mutate(bytes, random);
            Files.write(bad, mutated);
            Collect out = new Collect(n, in.rowFloats());
            try (AttentionStream stream = AttentionStream.restore(bad, config, StreamOptions.defaults(), out)) {
                in.push(stream, cut, n);
                stream.finish();
            } catch (TensorFormatException e) {
                assertTrue(e.getMessage().startsWith(bad.toString()) && e.getMessage().contains("snapshot"),
                        e.getMessage());
                refused++;
                continue;
            }
            // Loaded: then it must be exactly the state that was saved.
            for (int i = cut * in.rowFloats(); i < n * in.rowFloats(); i++) {
                if (expected[i] != out.bits[i]) throw new AssertionError("mutation " + trial + " loaded a wrong state");
            }
        }
        assertTrue(refused > 550, "refused " + refused + " of 600");
    }

    private static byte[] mutate(byte[] bytes, Random random) {
        byte[] b = bytes.clone();
        switch (random.nextInt(4)) {
            case 0 -> b[random.nextInt(b.length)] ^= (byte) (1 << random.nextInt(8));
            case 1 -> {
                for (int i = 0; i < 1 + random.nextInt(8); i++) b[random.nextInt(b.length)] = (byte) random.nextInt();
            }
            case 2 -> b = java.util.Arrays.copyOf(b, random.nextInt(b.length));
            default -> {
                int at = random.nextInt(Math.min(b.length, 200));     // the header and the frame's start
                b[at] ^= (byte) (1 << random.nextInt(8));
            }
        }
        return b;
    }

    /** Snapshots written before the configuration's text form held its fields one by one: they still restore. */
    @ParameterizedTest
    @ValueSource(booleans = {false, true})
    void aSnapshotOfAnEarlierVersionStillRestores(boolean causal) throws IOException {
        AttentionConfig config = config(causal);
        int n = 500;
        int cut = 333;
        Inputs in = Inputs.random(config, n, 5);
        int[] expected = uninterrupted(config, in, n);
        Path snapshot = dir.resolve("s");
        snapshotAt(config, in, cut, snapshot);
        Map<String, String> header;
        try (SnapshotFile.Reader reader = SnapshotFile.open(snapshot)) {
            header = new LinkedHashMap<>(reader.header());
        }
        assertEquals(config.toText(), header.remove("config"));
        // As the earlier version wrote them: no semantics (exact), the scale as its float bits in hex.
        header.putAll(Map.of("segments", "48,160", "dilations", "2,5", "heads", "3", "headDim", "8",
                "causal", Boolean.toString(causal), "offsets", "torchscale",
                "scale", Integer.toHexString(Float.floatToRawIntBits(config.scale()))));
        Path legacy = dir.resolve("legacy");
        withHeader(snapshot, header, legacy);
        Collect out = new Collect(n, in.rowFloats());
        try (AttentionStream stream = AttentionStream.restore(legacy, config, StreamOptions.defaults(), out)) {
            assertEquals(cut, stream.position());
            in.push(stream, cut, n);
            stream.finish();
        }
        for (int i = cut * in.rowFloats(); i < n * in.rowFloats(); i++) {
            if (expected[i] != out.bits[i]) throw new AssertionError("the legacy snapshot restored a different state at " + i);
        }
        header.put("scale", "zz");
        withHeader(snapshot, header, legacy);
        TensorFormatException e = assertThrows(TensorFormatException.class,
                () -> AttentionStream.restore(legacy, config, StreamOptions.defaults(), RowSink.DISCARD));
        assertTrue(e.getMessage().endsWith("corrupt snapshot (its configuration is invalid: scale: 'zz' is not a"
                + " float's bits in hex)"), e.getMessage());
        header.remove("scale");
        header.put("config", config.toText().replace("heads=3", "heads=three"));
        withHeader(snapshot, header, legacy);
        e = assertThrows(TensorFormatException.class,
                () -> AttentionStream.restore(legacy, config, StreamOptions.defaults(), RowSink.DISCARD));
        assertTrue(e.getMessage().contains("corrupt snapshot (its configuration is invalid: malformed attention"
                + " configuration '") && e.getMessage().endsWith("heads: 'three' is not a whole number (up to 2^31-1))"),
                e.getMessage());
    }

    /** {@code snapshot} with another header (magic, length, text, CRC32C of the text; the payload unchanged). */
    private static void withHeader(Path snapshot, Map<String, String> header, Path target) throws IOException {
        ByteBuffer file = ByteBuffer.wrap(Files.readAllBytes(snapshot)).order(ByteOrder.LITTLE_ENDIAN);
        int length = file.getInt(8);
        StringBuilder text = new StringBuilder();
        header.forEach((key, value) -> text.append(key).append('=').append(value).append('\n'));
        byte[] bytes = text.toString().getBytes(StandardCharsets.UTF_8);
        CRC32C crc = new CRC32C();
        crc.update(bytes);
        ByteBuffer out = ByteBuffer.allocate(file.capacity() - length + bytes.length).order(ByteOrder.LITTLE_ENDIAN);
        out.put(file.array(), 0, 8).putInt(bytes.length).put(bytes).putInt((int) crc.getValue())
                .put(file.array(), 12 + length + 4, file.capacity() - 16 - length);
        Files.write(target, out.array());
    }

    @Test
    void snapshotHeaderRecordsTheConfigurationAndPosition() throws IOException {
        Path snapshot = dir.resolve("s");
        try (AttentionStream stream = AttentionStream.open(config(true), StreamOptions.defaults(), RowSink.DISCARD)) {
            stream.push(new float[24 * 5], new float[24 * 5], new float[24 * 5], 5);
            stream.snapshot(snapshot);
        }
        try (SnapshotFile.Reader reader = SnapshotFile.open(snapshot)) {
            assertEquals("5", reader.header().get("position"));
            assertEquals(config(true).toText(), reader.header().get("config"));
        }
        try (AttentionStream restored = AttentionStream.restore(snapshot, StreamOptions.defaults(), RowSink.DISCARD)) {
            assertEquals(config(true), restored.config());
        }
    }
}
