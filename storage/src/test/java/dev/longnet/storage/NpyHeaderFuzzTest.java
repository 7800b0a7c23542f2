package dev.longnet.storage;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.TreeMap;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import static dev.longnet.storage.TestFiles.fixtureBytes;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * Seeded mutation fuzzing of .npy headers: whatever the bytes, the outcome is a header consistent with the file or
 * a TensorFormatException — never another exception, an OOM or a hang.
 */
class NpyHeaderFuzzTest {
    private static final long SEED = 0x5EED_1234L;
    private static final int ITERATIONS = 20_000;
    private static final Path NAME = Path.of("fuzz.npy");
    private static final String[] TOKENS = {
            "{", "}", "(", ")", ",", ":", " ", "\n", "'", "\"", "'descr'", "'fortran_order'", "'shape'", "'<f4'",
            "'<f2'", "'>f4'", "'<f8'", "True", "False", "0", "1", "7", "-1", "-0", "00", "9223372036854775807",
            "9223372036854775808", "99999999999999999999999", "4611686018427387904", "2305843009213693952", "\t",
            "\\", "\u00e9", "\u0000", "L", ".5", "[", "]", "None"};

    /** How often each kind of reason came up: the fuzzer should reach most of the parser's checks. */
    private static final Map<String, Integer> reasons = new TreeMap<>();
    private final Random random = new Random(SEED);
    @TempDir Path dir;

    private List<byte[]> seeds() throws IOException {
        List<byte[]> seeds = new ArrayList<>();
        for (String f : List.of("f32_2x3x4.npy", "f16_5.npy", "f32_7x1.npy", "f32_0x3.npy", "f32_scalar.npy",
                "f32_v2.npy", "f32_v3.npy", "f32_big_endian.npy", "f32_fortran.npy", "f64_3.npy")) {
            seeds.add(fixtureBytes(f));
        }
        seeds.add(NpyHeader.of(DType.F32, 1L << 31, 3).encode());       // header only: data "missing"
        seeds.add(withData(NpyHeader.of(DType.F16, 3, 1, 2, 1).encode(), 12));
        return seeds;
    }

    private static byte[] withData(byte[] header, int dataBytes) {
        return Arrays.copyOf(header, header.length + dataBytes);
    }

    @Test
    void everyMutatedHeaderParsesConsistentlyOrFailsWithAFormatError() throws IOException {
        List<byte[]> seeds = seeds();
        int valid = 0;
        int rejected = 0;
        Path file = dir.resolve("fuzz.npy");
        for (int i = 0; i < ITERATIONS; i++) {
            byte[] input = seeds.get(random.nextInt(seeds.size()));
            int mutations = 1 + random.nextInt(3);
            for (int m = 0; m < mutations; m++) input = mutate(input);
            if (check(input)) valid++; else rejected++;
            if (i % 20 == 0) checkThroughFiles(file, input);   // the real read path too, on a sample
        }
        assertEquals(ITERATIONS, valid + rejected);
        // the mutations must exercise both outcomes, or the fuzzer tests little
        assertTrue(valid > ITERATIONS / 50, "valid: " + valid);
        assertTrue(rejected > ITERATIONS / 2, "rejected: " + rejected);
        assertTrue(reasons.size() >= 20, () -> "only " + reasons.size() + " kinds of rejection: " + reasons);
        System.out.println("npy fuzz: " + valid + " valid, " + rejected + " rejected of " + ITERATIONS + ", "
                + reasons.size() + " kinds of rejection");
    }

    /** Parses input as a whole file; true if it is a valid header, which must then agree with the file. */
    private static boolean check(byte[] input) {
        try {
            NpyHeader h = NpyHeader.parse(NAME, ByteBuffer.wrap(input), input.length);
            assertTrue(h.dataOffset() >= 10 && h.dataOffset() + h.dataBytes() <= input.length, h::toString);
            assertEquals(h.elementCount() * h.dtype().bytes(), h.dataBytes());
            for (long d : h.shape()) assertTrue(d >= 0);
            byte[] canonical = h.encode();   // a valid header re-encodes and parses back to itself
            NpyHeader back = NpyHeader.parse(NAME, ByteBuffer.wrap(canonical), canonical.length + h.dataBytes());
            assertEquals(h.dtype(), back.dtype());
            assertArrayEquals(h.shape(), back.shape());
            return true;
        } catch (TensorFormatException e) {
            assertTrue(e.getMessage().startsWith(NAME + ": "), e.getMessage());
            reasons.merge(reasonKind(e), 1, Integer::sum);
            return false;
        } catch (Throwable t) {
            fail("unexpected " + t + " for input " + HexFormat.of().formatHex(input, 0, Math.min(input.length, 400)), t);
            return false;
        }
    }

    /** The reason's wording up to its first number or quoted value, e.g. "malformed header: missing key ". */
    private static String reasonKind(TensorFormatException e) {
        return e.getMessage().substring(NAME.toString().length() + 2).replaceAll("[0-9'(\\\\].*", "");
    }

    private static void checkThroughFiles(Path file, byte[] input) throws IOException {
        Files.write(file, input);
        try (NpyFile f = NpyFile.open(file)) {
            assertTrue(f.rows() >= 0);
        } catch (TensorFormatException e) {
            assertEquals(file, e.file());
        } catch (Throwable t) {
            fail("unexpected " + t + " opening " + HexFormat.of().formatHex(input, 0, Math.min(input.length, 400)), t);
        }
    }

    private byte[] mutate(byte[] in) {
        byte[] out;
        switch (random.nextInt(9)) {
            case 0 -> {   // flip bytes
                out = in.clone();
                for (int n = 1 + random.nextInt(4); n > 0 && out.length > 0; n--) {
                    out[random.nextInt(out.length)] ^= (byte) (1 << random.nextInt(8));
                }
            }
            case 1 -> out = Arrays.copyOf(in, in.length == 0 ? 0 : random.nextInt(in.length));   // truncate
            case 2 -> {   // corrupt the length field
                out = in.clone();
                if (out.length >= 12) {
                    ByteBuffer b = ByteBuffer.wrap(out).order(ByteOrder.LITTLE_ENDIAN);
                    int[] extremes = {0, 1, 0xFFFF, 0x7FFF_FFFF, -1, 1 << 20, (1 << 20) + 1, random.nextInt()};
                    int value = extremes[random.nextInt(extremes.length)];
                    if (random.nextBoolean()) b.putShort(8, (short) value); else b.putInt(8, value);
                }
            }
            case 3 -> out = replaceDict(in, randomText(1 + random.nextInt(40)));
            case 4 -> out = replaceDict(in, plausibleDict());
            case 5 -> {   // insert random bytes
                int at = in.length == 0 ? 0 : random.nextInt(in.length + 1);
                byte[] extra = new byte[1 + random.nextInt(16)];
                random.nextBytes(extra);
                out = new byte[in.length + extra.length];
                System.arraycopy(in, 0, out, 0, at);
                System.arraycopy(extra, 0, out, at, extra.length);
                System.arraycopy(in, at, out, at + extra.length, in.length - at);
            }
            case 6 -> {   // delete a range
                if (in.length < 2) return in;
                int from = random.nextInt(in.length);
                int to = Math.min(in.length, from + 1 + random.nextInt(16));
                out = new byte[in.length - (to - from)];
                System.arraycopy(in, 0, out, 0, from);
                System.arraycopy(in, to, out, from, in.length - to);
            }
            case 7 -> {   // version bytes
                out = in.clone();
                if (out.length >= 8) {
                    out[6] = (byte) random.nextInt(5);
                    out[7] = (byte) (random.nextInt(4) == 0 ? random.nextInt(3) : 0);
                }
            }
            default -> {   // grow or shrink the data section
                int delta = random.nextInt(256) - 128;
                out = Arrays.copyOf(in, Math.max(0, in.length + delta));
            }
        }
        return out;
    }

    private String randomText(int tokens) {
        StringBuilder text = new StringBuilder();
        for (int i = 0; i < tokens; i++) text.append(TOKENS[random.nextInt(TOKENS.length)]);
        return text.toString();
    }

    /** A dict that is nearly right: real keys in random order with values that are sometimes wrong. */
    private String plausibleDict() {
        List<String> entries = new ArrayList<>(List.of(
                "'descr': " + pick("'<f4'", "'<f2'", "'>f4'", "'<f8'", "'|u1'", "\"<f4\"", "1"),
                "'fortran_order': " + pick("False", "False", "True", "0", "None"),
                "'shape': " + shape()));
        if (random.nextInt(8) == 0) entries.remove(random.nextInt(entries.size()));
        if (random.nextInt(8) == 0) entries.add(entries.get(random.nextInt(entries.size())));
        java.util.Collections.shuffle(entries, random);
        String dict = "{" + String.join(pick(", ", ",", " ,\n"), entries) + pick(", }", "}", ",}", " }") ;
        return dict + " ".repeat(random.nextInt(70)) + pick("\n", "\n", "", " ");
    }

    private String shape() {
        int rank = random.nextInt(5);
        StringBuilder s = new StringBuilder("(");
        for (int i = 0; i < rank; i++) {
            s.append(i == 0 ? "" : ", ").append(pick("0", "1", "2", "3", "17", "-2", "9223372036854775807",
                    "4294967296", "99999999999999999999", Long.toString(random.nextLong()), Integer.toString(random.nextInt(64))));
        }
        if (rank == 1 && random.nextInt(5) > 0) s.append(',');
        return s.append(')').toString();
    }

    private String pick(String... options) {
        return options[random.nextInt(options.length)];
    }

    /** Puts text where the dict was, with a correct length field (so parsing gets past the prefix), keeping data. */
    private byte[] replaceDict(byte[] in, String text) {
        byte[] dict = text.getBytes(StandardCharsets.UTF_8);
        int major = in.length > 6 && in[6] >= 2 && in[6] <= 3 ? in[6] : 1;
        int prefix = major == 1 ? 10 : 12;
        int oldEnd = in.length;
        if (in.length >= prefix) {
            ByteBuffer b = ByteBuffer.wrap(in).order(ByteOrder.LITTLE_ENDIAN);
            long length = major == 1 ? Short.toUnsignedInt(b.getShort(8)) : Integer.toUnsignedLong(b.getInt(8));
            oldEnd = (int) Math.min(in.length, prefix + length);
        }
        int dataLength = in.length - oldEnd;
        ByteBuffer out = ByteBuffer.allocate(prefix + dict.length + dataLength).order(ByteOrder.LITTLE_ENDIAN);
        out.put(NpyHeader.MAGIC).put((byte) major).put((byte) 0);
        if (major == 1) out.putShort((short) dict.length); else out.putInt(dict.length);
        out.put(dict).put(in, oldEnd, dataLength);
        return out.array();
    }
}
