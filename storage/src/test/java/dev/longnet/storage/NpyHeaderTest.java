package dev.longnet.storage;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import static dev.longnet.storage.TestFiles.assertFormatError;
import static dev.longnet.storage.TestFiles.fixtureBytes;
import static dev.longnet.storage.TestFiles.npyFixture;
import static java.nio.file.StandardOpenOption.READ;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

class NpyHeaderTest {
    @TempDir Path dir;

    static NpyHeader read(Path file) throws IOException {
        try (FileChannel ch = FileChannel.open(file, READ)) {
            return NpyHeader.read(file, ch);
        }
    }

    /** A file of magic, version, a length field for text, text itself and then data bytes of zeros. */
    Path rawNpy(String name, int major, int minor, String text, int dataBytes) throws IOException {
        byte[] dict = text.getBytes(StandardCharsets.UTF_8);
        int lengthField = major == 1 ? 2 : 4;
        ByteBuffer out = ByteBuffer.allocate(8 + lengthField + dict.length + dataBytes).order(ByteOrder.LITTLE_ENDIAN);
        out.put(NpyHeader.MAGIC).put((byte) major).put((byte) minor);
        if (major == 1) out.putShort((short) dict.length); else out.putInt(dict.length);
        out.put(dict);
        Path file = dir.resolve(name);
        Files.write(file, out.array());
        return file;
    }

    static String dict(String shape) {
        return "{'descr': '<f4', 'fortran_order': False, 'shape': " + shape + ", }     \n";
    }

    // ---- numpy compatibility ----

    @Test
    void encodesExactlyWhatNumpyWritesForEveryHeaderOfTheFixtureList() throws IOException {
        List<String> lines = Files.readAllLines(npyFixture("headers.txt"));
        assertEquals(12, lines.size());
        for (String line : lines) {
            String[] f = line.split("\\|");
            DType dtype = DType.fromNpyDescr(f[0]);
            long[] shape = f[1].isEmpty() ? new long[0] : Arrays.stream(f[1].split(",")).mapToLong(Long::parseLong).toArray();
            byte[] numpy = TestFiles.hex(f[3]);
            long dataBytes = Arrays.stream(shape).reduce(1, Math::multiplyExact) * dtype.bytes();

            NpyHeader parsed = NpyHeader.parse(Path.of(line), ByteBuffer.wrap(numpy), numpy.length + dataBytes);
            assertEquals(dtype, parsed.dtype(), line);
            assertArrayEquals(shape, parsed.shape(), line);
            assertEquals(numpy.length, parsed.dataOffset(), line);
            assertEquals(0, numpy.length % 64, line);
            assertEquals(f[2].equals("guess") ? "1.0" : f[2], parsed.version(), line);
            assertArrayEquals(numpy, parsed.encode(), line);
            if (f[2].equals("guess")) {
                NpyHeader made = NpyHeader.of(dtype, shape);
                assertArrayEquals(numpy, made.encode(), line);
                assertEquals(parsed, made, line);
            }
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"f32_2x3x4.npy", "f16_5.npy", "f32_7x1.npy", "f32_0x3.npy", "f32_scalar.npy"})
    void ofEncodesTheSameHeaderBytesAsNpSave(String fixture) throws IOException {
        byte[] file = fixtureBytes(fixture);
        NpyHeader header = read(npyFixture(fixture));
        byte[] expected = Arrays.copyOf(file, (int) header.dataOffset());
        assertArrayEquals(expected, NpyHeader.of(header.dtype(), header.shape()).encode());
        assertArrayEquals(expected, header.encode());
        assertEquals(file.length, header.dataOffset() + header.dataBytes());
    }

    @Test
    void readsNumpyFixtures() throws IOException {
        NpyHeader a = read(npyFixture("f32_2x3x4.npy"));
        assertEquals(DType.F32, a.dtype());
        assertArrayEquals(new long[] {2, 3, 4}, a.shape());
        assertEquals("1.0", a.version());
        assertEquals(128, a.dataOffset());
        assertEquals(96, a.dataBytes());
        assertEquals(24, a.elementCount());

        NpyHeader h = read(npyFixture("f16_5.npy"));
        assertEquals(DType.F16, h.dtype());
        assertArrayEquals(new long[] {5}, h.shape());
        assertEquals(10, h.dataBytes());

        NpyHeader scalar = read(npyFixture("f32_scalar.npy"));
        assertEquals(0, scalar.rank());
        assertEquals(1, scalar.elementCount());

        for (String v : List.of("f32_v2.npy", "f32_v3.npy")) {
            NpyHeader header = read(npyFixture(v));
            assertEquals(v.contains("v2") ? 2 : 3, header.majorVersion());
            assertArrayEquals(new long[] {3, 2}, header.shape());
            assertEquals(128, header.dataOffset());
            assertArrayEquals(Arrays.copyOf(fixtureBytes(v), 128), header.encode());
        }
    }

    @Test
    void switchesToVersion2WhenTheHeaderOutgrowsA16BitLength() throws TensorFormatException {
        long[] shape = new long[30_000];
        Arrays.fill(shape, 1);
        NpyHeader header = NpyHeader.of(DType.F32, shape);
        assertEquals("2.0", header.version());
        byte[] bytes = header.encode();
        assertEquals(bytes.length, header.dataOffset());
        assertEquals(0, bytes.length % 64);
        assertEquals(bytes.length - 12, ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN).getInt(8));
        NpyHeader back = NpyHeader.parse(Path.of("big"), ByteBuffer.wrap(bytes), bytes.length + 4);
        assertEquals(header, back);

        assertEquals("1.0", NpyHeader.of(DType.F32, new long[64]).version());
    }

    @Test
    void acceptsAnyKeyOrderDoubleQuotesAndPythonWhitespace() throws IOException {
        String text = "{ \"shape\" :(2,3 ,) ,'fortran_order':False,\n\t'descr':\"<f2\"}   \n";
        Path file = rawNpy("reordered.npy", 1, 0, text, 12);
        NpyHeader header = read(file);
        assertEquals(DType.F16, header.dtype());
        assertArrayEquals(new long[] {2, 3}, header.shape());
        assertEquals(10 + text.length(), header.dataOffset());
        assertEquals(1, read(rawNpy("nocomma.npy", 1, 0, "{'descr': '<f4', 'fortran_order': False, 'shape': ()}\n", 4))
                .elementCount());
    }

    @Test
    void acceptsFilesLongerThanTheirData() throws IOException {
        byte[] longer = Arrays.copyOf(fixtureBytes("f32_2x3x4.npy"), 224 + 1000);
        Path file = dir.resolve("longer.npy");
        Files.write(file, longer);
        assertEquals(96, read(file).dataBytes());
    }

    // ---- every bad input is a TensorFormatException naming file and reason ----

    @Test
    void rejectsWrongMagic() throws IOException {
        Path file = dir.resolve("text.npy");
        Files.writeString(file, "NUMPY is not what this is, it is text");
        assertFormatError(file, "not an npy file", () -> read(file));
    }

    @Test
    void rejectsUnsupportedVersions() throws IOException {
        Path v4 = rawNpy("v4.npy", 4, 0, dict("(1,)"), 4);
        assertFormatError(v4, "unsupported npy format version 4.0 (supported: 1.0, 2.0, 3.0)", () -> read(v4));
        Path v11 = rawNpy("v11.npy", 1, 1, dict("(1,)"), 4);
        assertFormatError(v11, "unsupported npy format version 1.1", () -> read(v11));
        Path v0 = rawNpy("v0.npy", 0, 0, dict("(1,)"), 4);
        assertFormatError(v0, "unsupported npy format version 0.0", () -> read(v0));
    }

    @Test
    void rejectsHeaderLengthOverTheCapOrTheFile() throws IOException {
        Path capped = dir.resolve("capped.npy");
        ByteBuffer b = ByteBuffer.allocate(64).order(ByteOrder.LITTLE_ENDIAN);
        b.put(NpyHeader.MAGIC).put((byte) 2).put((byte) 0).putInt(0x7FFF_FFF0);
        Files.write(capped, b.array());
        assertFormatError(capped, "header length 2147483632 exceeds the limit of 1048576 bytes", () -> read(capped));

        b.putInt(8, -1);   // u32 4294967295, not -1
        Files.write(capped, b.array());
        assertFormatError(capped, "header length 4294967295 exceeds the limit", () -> read(capped));

        Path longer = dir.resolve("longer-than-file.npy");
        ByteBuffer c = ByteBuffer.allocate(100).order(ByteOrder.LITTLE_ENDIAN);
        c.put(NpyHeader.MAGIC).put((byte) 1).put((byte) 0).putShort((short) 1000);
        Files.write(longer, c.array());
        assertFormatError(longer, "truncated: header length field claims 1000 bytes, file holds 90", () -> read(longer));
    }

    @ParameterizedTest
    @ValueSource(ints = {0, 1, 4, 6, 7, 9, 11, 60, 127})
    void rejectsTruncatedHeaders(int length) throws IOException {
        Path file = dir.resolve("cut" + length + ".npy");
        Files.write(file, Arrays.copyOf(fixtureBytes("f32_2x3x4.npy"), length));
        assertFormatError(file, "truncated", () -> read(file));
    }

    @Test
    void rejectsDataShorterThanTheShapeClaims() throws IOException {
        Path file = dir.resolve("short.npy");
        Files.write(file, Arrays.copyOf(fixtureBytes("f32_2x3x4.npy"), 128 + 92));
        assertFormatError(file, "truncated: header claims 96 bytes of data, file holds 92", () -> read(file));
        Path none = dir.resolve("nodata.npy");
        Files.write(none, Arrays.copyOf(fixtureBytes("f32_2x3x4.npy"), 128));
        assertFormatError(none, "truncated: header claims 96 bytes of data, file holds 0", () -> read(none));
    }

    @Test
    void rejectsNonAsciiHeaders() throws IOException {
        Path v3 = rawNpy("utf8.npy", 3, 0, "{'descr': '<f4', 'fortran_order': False, 'shape': (1,), 'é': 1}\n", 4);
        assertFormatError(v3, "non-ASCII byte 0xc3 at offset", () -> read(v3));
        Path v1 = rawNpy("latin.npy", 1, 0, dict("(1,)").replace("}", "}\u00a0"), 4);
        assertFormatError(v1, "only ASCII headers are supported", () -> read(v1));
    }

    @ParameterizedTest
    @ValueSource(strings = {
            "",
            "\n",
            "'descr': '<f4', 'fortran_order': False, 'shape': (1,), }\n",
            "{'descr': '<f4', 'fortran_order': False, 'shape': (1,), \n",
            "{'descr': '<f4', 'fortran_order': False, 'shape': (1,), }",
            "{'descr': '<f4', 'fortran_order': False, 'shape': (1,), } x\n",
            "{'descr': '<f4', 'fortran_order': False, 'shape': (1,), }\n\n",
            "{'descr': '<f4', 'fortran_order': False, 'shape': (1,) 'x': 1}\n",
            "{'descr': '<f4', 'fortran_order': False}\n",
            "{'descr': '<f4', 'shape': (1,)}\n",
            "{'fortran_order': False, 'shape': (1,)}\n",
            "{'descr': '<f4', 'fortran_order': False, 'shape': (1,), 'extra': 0}\n",
            "{'descr': '<f4', 'descr': '<f4', 'fortran_order': False, 'shape': (1,)}\n",
            "{'descr': '<f4', 'fortran_order': false, 'shape': (1,)}\n",
            "{'descr': '<f4', 'fortran_order': 0, 'shape': (1,)}\n",
            "{'descr': '<f4', 'fortran_order': False, 'shape': (1)}\n",
            "{'descr': '<f4', 'fortran_order': False, 'shape': [1]}\n",
            "{'descr': '<f4', 'fortran_order': False, 'shape': (1,,)}\n",
            "{'descr': '<f4', 'fortran_order': False, 'shape': (,)}\n",
            "{'descr': '<f4', 'fortran_order': False, 'shape': (01,)}\n",
            "{'descr': '<f4', 'fortran_order': False, 'shape': (1L,)}\n",
            "{'descr': '<f4', 'fortran_order': False, 'shape': (1.0,)}\n",
            "{'descr': '<f4', 'fortran_order': False, 'shape': (+1,)}\n",
            "{'descr': '<f4', 'fortran_order': False, 'shape': (0x10,)}\n",
            "{'descr': '<f4, 'fortran_order': False, 'shape': (1,)}\n",
            "{'descr': <f4, 'fortran_order': False, 'shape': (1,)}\n",
            "{'descr': '<f\\x34', 'fortran_order': False, 'shape': (1,)}\n",
            "{'descr': [('a', '<f4')], 'fortran_order': False, 'shape': (1,)}\n",
            "{descr: '<f4', 'fortran_order': False, 'shape': (1,)}\n",
            "{'descr' '<f4', 'fortran_order': False, 'shape': (1,)}\n",
    })
    void rejectsMalformedDicts(String text) throws IOException {
        Path file = rawNpy("malformed.npy", 1, 0, text, 64);
        TensorFormatException e = assertFormatError(file, "malformed header: ", () -> read(file));
        assertEquals(-1, e.getMessage().indexOf('\n'), "the excerpt escapes control characters");
    }

    @Test
    void namesUnsupportedDtypesAndWhatIsSupported() {
        Path f8 = npyFixture("f64_3.npy");
        assertFormatError(f8, "unsupported dtype '<f8' (supported: '<f4', '<f2')", () -> read(f8));
        Path i4 = npyFixture("i32_3.npy");
        assertFormatError(i4, "unsupported dtype '<i4' (supported: '<f4', '<f2')", () -> read(i4));
    }

    @Test
    void rejectsBigEndianAndFortranOrder() {
        Path big = npyFixture("f32_big_endian.npy");
        assertFormatError(big, "big-endian dtype '>f4' (supported: '<f4', '<f2')", () -> read(big));
        Path fortran = npyFixture("f32_fortran.npy");
        assertFormatError(fortran, "fortran_order True (column-major) is not supported", () -> read(fortran));
    }

    @Test
    void rejectsNegativeAndOverflowingDimensions() throws IOException {
        Path negative = rawNpy("neg.npy", 1, 0, dict("(-3, 4)"), 64);
        assertFormatError(negative, "negative dimension -3", () -> read(negative));
        Path tooLong = rawNpy("huge.npy", 1, 0, dict("(99999999999999999999999999, 4)"), 64);
        assertFormatError(tooLong, "dimension 99999999999999999999999999 is too large", () -> read(tooLong));
        Path product = rawNpy("product.npy", 1, 0, dict("(4611686018427387904, 4)"), 64);
        assertFormatError(product, "shape (4611686018427387904, 4) overflows", () -> read(product));
        Path bytes = rawNpy("bytes.npy", 1, 0, dict("(2305843009213693952,)"), 64);   // 2^61 elements * 4 bytes
        assertFormatError(bytes, "overflows: its data would exceed 2^63-1 bytes", () -> read(bytes));
        Path max = rawNpy("max.npy", 1, 0, dict("(9223372036854775807,)"), 64);
        assertFormatError(max, "overflows", () -> read(max));
        Path big = rawNpy("big.npy", 1, 0, dict("(1000000000000, 1000)"), 64);
        assertFormatError(big, "truncated: header claims 4000000000000000 bytes of data, file holds 64", () -> read(big));
        Path zero = rawNpy("zero.npy", 1, 0, dict("(0, 9223372036854775807)"), 0);
        assertEquals(0, read(zero).dataBytes());
    }

    @Test
    void ofRefusesWhatNumpyCannotHold() {
        assertThrows(IllegalArgumentException.class, () -> NpyHeader.of(DType.BF16, 3));
        assertThrows(IllegalArgumentException.class, () -> NpyHeader.of(DType.F32, 3, -1));
        assertThrows(IllegalArgumentException.class, () -> NpyHeader.of(DType.F32, 1L << 62));
    }
}
