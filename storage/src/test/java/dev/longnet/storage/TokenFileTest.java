package dev.longnet.storage;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class TokenFileTest {
    @TempDir
    Path dir;

    private static int[] ids(int n, int bound, long seed) {
        Random r = new Random(seed);
        int[] x = new int[n];
        for (int i = 0; i < n; i++) x[i] = r.nextInt(bound);
        return x;
    }

    private static int[] readAll(TokenFile f) throws IOException {
        int[] x = new int[(int) f.count()];
        f.read(0, x, 0, x.length);
        return x;
    }

    @Test
    void everyFormatRoundTrips() throws IOException {
        for (TokenFormat format : TokenFormat.values()) {
            int bound = format == TokenFormat.BYTES ? 256 : format == TokenFormat.U16 ? 65536 : 1 << 30;
            int[] x = ids(1000, bound, format.ordinal());
            Path file = dir.resolve("t." + format.name().toLowerCase());
            TokenFile.write(file, format, x);
            try (TokenFile f = TokenFile.open(file, format == TokenFormat.NPY || format == TokenFormat.LZT ? null : format)) {
                assertEquals(1000, f.count());
                assertArrayEquals(x, readAll(f), format.name());
            }
        }
    }

    @Test
    void lztReadsAnyRangeAcrossChunks() throws IOException {
        int[] x = ids(10_000, 300, 1);
        Path src = dir.resolve("src.i32");
        TokenFile.write(src, TokenFormat.I32, x);
        Path lzt = dir.resolve("t.lzt");
        try (TokenFile f = TokenFile.open(src, TokenFormat.I32)) {
            LztFile.write(lzt, f, 2, 333);
        }
        try (TokenFile f = TokenFile.open(lzt, null)) {
            assertEquals(TokenFormat.LZT, TokenFormat.detect(lzt));
            Random r = new Random(2);
            for (int t = 0; t < 100; t++) {
                int from = r.nextInt(x.length), n = r.nextInt(x.length - from + 1);
                int[] got = new int[n];
                f.read(from, got, 0, n);
                assertArrayEquals(java.util.Arrays.copyOfRange(x, from, from + n), got);
            }
        }
    }

    @Test
    void damagedLztIsReportedWithTheChunk() throws IOException {
        int[] x = ids(5000, 256, 3);
        Path lzt = dir.resolve("t.lzt");
        TokenFile.write(lzt, TokenFormat.LZT, x);
        byte[] bytes = Files.readAllBytes(lzt);
        bytes[bytes.length - 10] ^= 0x55;                          // inside the last chunk
        Files.write(lzt, bytes);
        try (TokenFile f = TokenFile.open(lzt, null)) {
            var e = assertThrows(TensorFormatException.class, () -> readAll(f));
            assertTrue(e.getMessage().contains("chunk 0 is damaged"), e.getMessage());
        }
        bytes = Files.readAllBytes(lzt);
        bytes[20] ^= 1;                                            // the header's count
        Files.write(lzt, bytes);
        var e = assertThrows(TensorFormatException.class, () -> TokenFile.open(lzt, null));
        assertTrue(e.getMessage().contains("header checksum"), e.getMessage());
        Files.write(lzt, java.util.Arrays.copyOf(bytes, 30));
        assertThrows(TensorFormatException.class, () -> TokenFile.open(lzt, null));
    }

    @Test
    void badRawAndNpyFilesGiveClearErrors() throws IOException {
        Path odd = dir.resolve("odd.u16");
        Files.write(odd, new byte[]{1, 2, 3});
        var e = assertThrows(TensorFormatException.class, () -> TokenFile.open(odd, null));
        assertTrue(e.getMessage().contains("not a whole number of 2-byte token ids"), e.getMessage());
        Path floats = dir.resolve("f.npy");
        try (NpyFile f = NpyFile.create(floats, DType.F32, 4)) { f.commit(); }
        e = assertThrows(TensorFormatException.class, () -> TokenFile.open(floats, null));
        assertTrue(e.getMessage().contains("not a token id type"), e.getMessage());
    }

    @Test
    void safetensorsWriterRoundTripsThroughTheReader() throws IOException {
        Path file = dir.resolve("m.safetensors");
        float[] a = {1.5f, -2f, 3.25f, 0f, 1e-3f, 7f};
        new SafetensorsWriter().metadata("k", "v \"quoted\"").tensor("a", DType.F32, new long[]{2, 3}, a)
                .tensor("b.x", DType.BF16, new long[]{6}, a).tensor("c", DType.F16, new long[]{3, 2}, a).write(file);
        try (SafetensorsFile st = SafetensorsFile.open(file)) {
            assertEquals("v \"quoted\"", st.metadata().get("k"));
            assertEquals(java.util.List.of("a", "b.x", "c"), java.util.List.copyOf(st.names()));
            for (String name : st.names()) {
                DType t = st.info(name).dtype();
                try (RowWindow w = st.tensor(name).window(0, st.tensor(name).rows())) {
                    for (int i = 0; i < a.length; i++) assertEquals(TestValues.round(t, a[i]), t.get(w.segment(), i), name);
                }
            }
        }
        long headerLength = java.nio.ByteBuffer.wrap(Files.readAllBytes(file), 0, 8).order(java.nio.ByteOrder.LITTLE_ENDIAN).getLong();
        assertEquals(0, headerLength % 8, "header padded to 8 bytes");
        assertEquals(0, Files.list(dir).filter(p -> p.toString().endsWith(".partial")).count());
    }

    /** The value as stored in dtype. */
    static final class TestValues {
        static float round(DType t, float v) {
            var s = java.lang.foreign.Arena.ofAuto().allocate(4);
            t.set(s, 0, v);
            return t.get(s, 0);
        }
    }
}
