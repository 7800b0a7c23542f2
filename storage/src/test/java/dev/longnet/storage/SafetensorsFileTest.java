package dev.longnet.storage;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.NoSuchElementException;
import java.util.Random;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import static dev.longnet.storage.TestFiles.assertFormatError;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

class SafetensorsFileTest {
    @TempDir Path dir;

    /** A safetensors file by hand: u64 little-endian header length, the JSON, then data. */
    static byte[] safetensors(String json, byte[] data) {
        byte[] header = json.getBytes(StandardCharsets.UTF_8);
        return ByteBuffer.allocate(8 + header.length + data.length).order(ByteOrder.LITTLE_ENDIAN)
                .putLong(header.length).put(header).put(data).array();
    }

    Path write(String name, byte[] bytes) throws IOException {
        Path file = dir.resolve(name);
        Files.write(file, bytes);
        return file;
    }

    /**
     * Data of three tensors, written as raw little-endian bits (not through DType, which is under test):
     * a F32 [2, 3] = 0..5, h F16 [4] = -1, .5, 2, 65504, b BF16 [2, 2] = 1, -2, 3.5, 3.140625.
     */
    static byte[] data() {
        ByteBuffer b = ByteBuffer.allocate(40).order(ByteOrder.LITTLE_ENDIAN);
        for (int i = 0; i < 6; i++) b.putFloat(i);
        for (int bits : new int[] {0xBC00, 0x3800, 0x4000, 0x7BFF}) b.putShort((short) bits);
        for (int bits : new int[] {0x3F80, 0xC000, 0x4060, 0x4049}) b.putShort((short) bits);
        return b.array();
    }

    static final String HEADER = """
            {"__metadata__": {"format": "pt", "note": "a \\"quoted\\" \\u00e9\\n"},
             "a": {"dtype": "F32", "shape": [2, 3], "data_offsets": [0, 24]},
             "h": {"shape": [4], "data_offsets": [24, 32], "dtype": "F16"},
             "b\\/\\u2603": {"data_offsets": [32, 40], "dtype": "BF16", "shape": [2, 2]}}   \
            """;

    static float[] values(TensorRows rows) throws IOException {
        return NpyFileTest.readAll(rows);
    }

    @Test
    void readsF32F16AndBf16TensorsAndMetadata() throws IOException {
        Path file = write("model.safetensors", safetensors(HEADER, data()));
        try (SafetensorsFile st = SafetensorsFile.open(file)) {
            assertEquals(file, st.path());
            assertEquals(List.of("a", "h", "b/\u2603"), new ArrayList<>(st.names()));
            assertEquals(Map.of("format", "pt", "note", "a \"quoted\" \u00e9\n"), st.metadata());

            SafetensorsFile.TensorInfo info = st.info("h");
            assertEquals(DType.F16, info.dtype());
            assertArrayEquals(new long[] {4}, info.shape());
            assertEquals(24, info.begin());
            assertEquals(8, info.byteSize());

            TensorRows a = st.tensor("a");
            assertEquals(DType.F32, a.dtype());
            assertArrayEquals(new long[] {2, 3}, a.shape());
            assertEquals(12, a.rowBytes());
            assertFalse(a.writable());
            assertArrayEquals(new float[] {0, 1, 2, 3, 4, 5}, values(a));
            try (RowWindow second = a.window(1, 1)) {
                assertEquals(1, second.firstRow());
                assertEquals(12, second.segment().byteSize());
                assertTrue(second.segment().isReadOnly());
                assertEquals(3f, DType.F32.get(second.segment(), 0));
                second.advise(Advice.WILL_NEED);
                second.force();
            }
            assertArrayEquals(new float[] {-1f, 0.5f, 2f, 65504f}, values(st.tensor("h")));
            assertArrayEquals(new float[] {1f, -2f, 3.5f, 3.140625f}, values(st.tensor("b/\u2603")));

            IndexOutOfBoundsException e = assertThrows(IndexOutOfBoundsException.class, () -> a.window(1, 2));
            assertTrue(e.getMessage().contains("out of bounds for 2 rows"), e.getMessage());
            assertThrows(NoSuchElementException.class, () -> st.tensor("missing"));
        }
    }

    @Test
    void windowsDieWithTheFile() throws IOException {
        Path file = write("closing.safetensors", safetensors(HEADER, data()));
        RowWindow w;
        try (SafetensorsFile st = SafetensorsFile.open(file)) {
            w = st.tensor("a").window(0, 2);
            assertEquals(1f, DType.F32.get(w.segment(), 1));
        }
        RowWindow closed = w;
        assertThrows(IllegalStateException.class, () -> DType.F32.get(closed.segment(), 1));
    }

    @Test
    void acceptsAnEmptyHeaderScalarsAndEmptyTensors() throws IOException {
        try (SafetensorsFile st = SafetensorsFile.open(write("empty.safetensors", safetensors("{}", new byte[0])))) {
            assertTrue(st.names().isEmpty());
            assertTrue(st.metadata().isEmpty());
        }
        String json = "{\"s\":{\"dtype\":\"F32\",\"shape\":[],\"data_offsets\":[0,4]},"
                + "\"z\":{\"dtype\":\"F16\",\"shape\":[0,5],\"data_offsets\":[4,4]}}";
        try (SafetensorsFile st = SafetensorsFile.open(write("scalar.safetensors", safetensors(json, new byte[4])))) {
            assertArrayEquals(new long[0], st.info("s").shape());
            assertThrows(IllegalArgumentException.class, () -> st.tensor("s"));
            TensorRows z = st.tensor("z");
            assertEquals(0, z.rows());
            try (RowWindow w = z.window(0, 0)) {
                assertEquals(0, w.segment().byteSize());
            }
        }
    }

    // ---- errors ----

    @Test
    void rejectsTruncatedFilesAndBadHeaderLengths() throws IOException {
        Path tiny = write("tiny.safetensors", new byte[5]);
        assertFormatError(tiny, "truncated: 5 bytes is too short for a safetensors header", () -> SafetensorsFile.open(tiny));

        byte[] bytes = safetensors(HEADER, data());
        ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN).putLong(0, 1L << 40);
        Path capped = write("capped.safetensors", bytes);
        assertFormatError(capped, "header length 1099511627776 exceeds the limit of 104857600 bytes",
                () -> SafetensorsFile.open(capped));

        ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN).putLong(0, -1L);
        Path negative = write("negative.safetensors", bytes);
        assertFormatError(negative, "header length 18446744073709551615 exceeds the limit",
                () -> SafetensorsFile.open(negative));

        ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN).putLong(0, bytes.length);
        Path over = write("over.safetensors", bytes);
        assertFormatError(over, "truncated: header length " + bytes.length + " exceeds the " + (bytes.length - 8)
                + " bytes after the length field", () -> SafetensorsFile.open(over));

        byte[] whole = safetensors(HEADER, data());
        Path cut = write("cut.safetensors", java.util.Arrays.copyOf(whole, whole.length - 3));
        assertFormatError(cut, "data_offsets [32, 40] of tensor \"b/\u2603\" lie outside the data section of 37 bytes",
                () -> SafetensorsFile.open(cut));
    }

    @Test
    void rejectsBadOffsetsAndSizes() throws IOException {
        expectError("{\"x\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,80]}}", 8,
                "data_offsets [0, 80] of tensor \"x\" lie outside the data section of 8 bytes");
        expectError("{\"x\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[8,0]}}", 8, "lie outside the data section");
        expectError("{\"x\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[-8,0]}}", 8, "lie outside the data section");
        expectError("{\"x\":{\"dtype\":\"F32\",\"shape\":[3],\"data_offsets\":[0,8]}}", 16,
                "tensor \"x\" spans 8 bytes but its shape and F32 need 12");
        expectError("{\"x\":{\"dtype\":\"F32\",\"shape\":[4611686018427387904,4],\"data_offsets\":[0,8]}}", 8,
                "shape of tensor \"x\" overflows");
        expectError("{\"x\":{\"dtype\":\"F32\",\"shape\":[-2],\"data_offsets\":[0,8]}}", 8, "negative dimension -2 in tensor \"x\"");
        expectError("{\"x\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8,9]}}", 16,
                "data_offsets of tensor \"x\" must be [begin, end]");
        expectError("{\"x\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
                + "\"y\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[4,12]}}", 16, "tensors \"x\" and \"y\" overlap");
        expectError("{\"x\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,99999999999999999999]}}", 8,
                "integer too large");
    }

    @Test
    void namesUnsupportedDtypes() throws IOException {
        for (String dtype : List.of("F64", "I64", "BOOL", "U8", "f32", "F8_E4M3")) {
            expectError("{\"x\":{\"dtype\":\"" + dtype + "\",\"shape\":[1],\"data_offsets\":[0,8]}}", 8,
                    "unsupported dtype \"" + dtype + "\" of tensor \"x\" (supported: F32, F16, BF16)");
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {
            "",
            " {}",
            "[]",
            "{",
            "{}}",
            "{} x",
            "{\"x\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]},}",
            "{\"x\":{\"dtype\":\"F32\",\"shape\":[1,],\"data_offsets\":[0,4]}}",
            "{\"x\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4.0]}}",
            "{\"x\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4e0]}}",
            "{\"x\":{\"dtype\":\"F32\",\"shape\":[01],\"data_offsets\":[0,4]}}",
            "{\"x\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}",
            "{\"x\":{\"dtype\":F32,\"shape\":[1],\"data_offsets\":[0,4]}}",
            "{\"x\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4],\"extra\":1}}",
            "{\"x\":{\"dtype\":\"F32\",\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}",
            "{\"x\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]},\"x\":{}}",
            "{\"x\":5}",
            "{\"x\":{\"dtype\":\"F\\q32\",\"shape\":[1],\"data_offsets\":[0,4]}}",
            "{\"x\":{\"dtype\":\"F\\u00\",\"shape\":[1],\"data_offsets\":[0,4]}}",
            "{\"x\":{\"dtype\":\"F\u000132\",\"shape\":[1],\"data_offsets\":[0,4]}}",
            "{\"x\":{\"dtype\":\"F32",
            "{\"__metadata__\":{\"a\":1}}",
            "{\"__metadata__\":{\"a\":\"b\",\"a\":\"c\"}}",
            "{\"__metadata__\":{},\"__metadata__\":{}}",
            "{\"__metadata__\":[\"a\"]}",
            "{'x':{}}",
            "{\"x\":{\"dtype\":null,\"shape\":[1],\"data_offsets\":[0,4]}}",
            "{\"x\":{\"shape\":[1],\"data_offsets\":[0,4]}}",
            "{\"x\":{\"dtype\":\"F32\",\"data_offsets\":[0,4]}}",
            "{\"x\":{\"dtype\":\"F32\",\"shape\":[1]}}",
    })
    void rejectsMalformedJson(String json) throws IOException {
        Path file = write("malformed.safetensors", safetensors(json, new byte[4]));
        TensorFormatException e = assertThrows(TensorFormatException.class, () -> SafetensorsFile.open(file));
        assertEquals(file, e.file());
        assertTrue(e.getMessage().startsWith(file + ": "), e.getMessage());
    }

    @Test
    void malformedJsonSaysWhere() throws IOException {
        expectError("{\"x\":{\"dtype\":F32,\"shape\":[1],\"data_offsets\":[0,4]}}", 4,
                "malformed JSON header at character 14: ");
        expectError("{\"x\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]},\"x\":{}}", 4, "Duplicate");
    }

    @Test
    void rejectsInvalidUtf8() throws IOException {
        byte[] bytes = safetensors("{\"x\":{}}", new byte[0]);
        bytes[10] = (byte) 0xC3;   // a lead byte followed by '"': not UTF-8
        Path file = write("utf8.safetensors", bytes);
        assertFormatError(file, "header is not valid UTF-8", () -> SafetensorsFile.open(file));
    }

    private void expectError(String json, int dataBytes, String reason) throws IOException {
        Path file = write("bad.safetensors", safetensors(json, new byte[dataBytes]));
        assertFormatError(file, reason, () -> SafetensorsFile.open(file));
    }

    // ---- fuzz ----

    @Test
    void mutatedHeadersParseConsistentlyOrFailWithAFormatError() throws IOException {
        Random random = new Random(0xC0FFEE);
        byte[] seed = HEADER.getBytes(StandardCharsets.UTF_8);
        byte[] data = data();
        Path name = Path.of("fuzz.safetensors");
        Path file = dir.resolve("fuzz.safetensors");
        String[] tokens = {"{", "}", "[", "]", ",", ":", "\"", "\\", "\\u", "0", "-1", "99999999999999999999", "1.5",
                "\"F32\"", "\"BF16\"", "\"shape\"", "\"dtype\"", "\"data_offsets\"", "\"__metadata__\"", " ", "null"};
        int valid = 0;
        for (int i = 0; i < 10_000; i++) {
            byte[] json = seed.clone();
            for (int m = 1 + random.nextInt(3); m > 0; m--) {
                switch (random.nextInt(4)) {
                    case 0 -> json[random.nextInt(json.length)] = (byte) random.nextInt(256);
                    case 1 -> json = java.util.Arrays.copyOf(json, random.nextInt(json.length + 1));
                    default -> {
                        String text = new String(json, StandardCharsets.ISO_8859_1);
                        int at = random.nextInt(text.length() + 1);
                        int cut = Math.min(text.length(), at + random.nextInt(4));
                        text = text.substring(0, at) + tokens[random.nextInt(tokens.length)] + text.substring(cut);
                        json = text.getBytes(StandardCharsets.ISO_8859_1);
                    }
                }
                if (json.length == 0) json = seed.clone();
            }
            try {
                SafetensorsHeader h = SafetensorsHeader.parse(name, json, data.length);
                for (SafetensorsFile.TensorInfo t : h.tensors().values()) {
                    assertTrue(t.begin() >= 0 && t.end() <= data.length && t.begin() <= t.end(), t::toString);
                }
                valid++;
            } catch (TensorFormatException e) {
                assertEquals(name, e.file());
            } catch (Throwable t) {
                fail("unexpected " + t + " for " + HexFormat.of().formatHex(json), t);
            }
            if (i % 25 == 0) {
                Files.write(file, safetensors(new String(json, StandardCharsets.ISO_8859_1), data));
                try (SafetensorsFile st = SafetensorsFile.open(file)) {
                    for (String n : st.names()) if (st.info(n).shape().length > 0) values(st.tensor(n));
                } catch (TensorFormatException e) {
                    assertEquals(file, e.file());
                } catch (Throwable t) {
                    fail("unexpected " + t + " opening " + HexFormat.of().formatHex(json), t);
                }
            }
        }
        assertTrue(valid > 100, "valid: " + valid);
        System.out.println("safetensors fuzz: " + valid + " valid of 10000");
    }
}
