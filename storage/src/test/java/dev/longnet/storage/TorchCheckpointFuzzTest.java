package dev.longnet.storage;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.zip.CRC32;
import java.util.zip.ZipEntry;
import java.util.zip.ZipFile;
import java.util.zip.ZipOutputStream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * Mutated checkpoints: each either opens, and then every tensor and value reads, or is refused with a
 * TensorFormatException; no other exception, no hang. Half the mutations hit the raw file (the zip structure), half
 * the pickle, re-zipped with a correct CRC so that the unpickler itself sees them.
 */
class TorchCheckpointFuzzTest {
    private static final int CASES = 10_000;

    @TempDir
    Path dir;

    @Test
    void mutatedCheckpointsLoadOrFailCleanly() throws IOException {
        List<String> names = TorchCheckpointTest.wellFormed();
        Map<String, byte[]> files = new LinkedHashMap<>();
        for (String name : names) {
            byte[] bytes = Files.readAllBytes(TorchCheckpointTest.fixture(name));
            files.put(name, bytes);
            ENTRIES.put(bytes, entries(TorchCheckpointTest.fixture(name)));
        }
        SplittableRandom random = new SplittableRandom(20261203);
        Path target = dir.resolve("fuzz.pt");
        int opened = 0;
        int refused = 0;
        long start = System.nanoTime();
        for (int i = 0; i < CASES; i++) {
            byte[] original = files.get(names.get(random.nextInt(names.size())));
            byte[] mutated = random.nextBoolean() ? mutateRaw(original, random) : mutatePickle(original, random);
            Files.write(target, mutated);
            try (TorchCheckpoint ckpt = TorchCheckpoint.open(target)) {
                exercise(ckpt);
                opened++;
            } catch (TensorFormatException e) {
                assertTrue(e.getMessage().startsWith(target + ": "), e.getMessage());
                assertTrue(e.getMessage().indexOf('\n') < 0, e.getMessage());
                refused++;
            } catch (RuntimeException | IOException e) {
                fail("case " + i + ": " + e, e);
            }
        }
        assertTrue(opened > 100 && refused > 100, "opened " + opened + ", refused " + refused);
        System.out.printf("torch fuzz: %d cases, %d opened, %d refused, %.1f s%n", CASES, opened, refused,
                (System.nanoTime() - start) / 1e9);
    }

    /** Reads everything a caller could: each tensor's bytes, the values walked whole. */
    private static void exercise(TorchCheckpoint ckpt) throws IOException {
        for (String name : ckpt.names()) {
            TorchCheckpoint.TensorInfo info = ckpt.info(name);
            if (info.shape().length == 0) continue;
            TensorRows rows;
            try {
                rows = ckpt.tensor(name);
            } catch (TensorFormatException e) {
                continue;                                            // a strided layout: refused, as it should be
            }
            try (RowWindow w = rows.window(0, rows.rows())) {
                long n = w.segment().byteSize() / info.dtype().bytes();
                float sum = 0;
                for (long k = 0; k < n; k++) sum += info.dtype().get(w.segment(), k);
                assertTrue(Float.isNaN(sum) || !Float.isNaN(sum));
            }
        }
        walk(ckpt.values(), 0);
        ckpt.skipped().forEach((k, v) -> assertTrue(v.length() < 1000));
    }

    private static void walk(Object value, int depth) {
        assertTrue(depth <= TorchCheckpoint.MAX_VALUE_DEPTH + 1);
        if (value instanceof Map<?, ?> m) m.values().forEach(v -> walk(v, depth + 1));
        if (value instanceof List<?> l) l.forEach(v -> walk(v, depth + 1));
    }

    /** Byte flips, truncation, or a 2-, 4- or 8-byte field set to a boundary value, anywhere in the file. */
    private static byte[] mutateRaw(byte[] original, SplittableRandom random) {
        byte[] b = original.clone();
        switch (random.nextInt(4)) {
            case 0 -> {
                for (int n = 1 + random.nextInt(4); n > 0; n--) b[random.nextInt(b.length)] ^= (byte) (1 << random.nextInt(8));
            }
            case 1 -> b = java.util.Arrays.copyOf(b, random.nextInt(b.length));
            case 2 -> field(b, random.nextInt(b.length), random);
            default -> {                                             // a field of the central directory or end record
                int from = Math.max(0, b.length - 300);
                field(b, from + random.nextInt(b.length - from), random);
            }
        }
        return b;
    }

    /** The pickle mutated (flips, a length field, a cut, a duplicated run), then re-zipped with a correct CRC. */
    private static final Map<byte[], Map<String, byte[]>> ENTRIES = new java.util.IdentityHashMap<>();

    private static Map<String, byte[]> entries(Path file) throws IOException {
        Map<String, byte[]> entries = new LinkedHashMap<>();
        try (ZipFile zip = new ZipFile(file.toFile())) {
            for (ZipEntry e : java.util.Collections.list(zip.entries())) {
                try (var in = zip.getInputStream(e)) {
                    entries.put(e.getName(), in.readAllBytes());
                }
            }
        }
        return entries;
    }

    private static byte[] mutatePickle(byte[] original, SplittableRandom random) throws IOException {
        Map<String, byte[]> entries = new LinkedHashMap<>(ENTRIES.get(original));
        String pkl = entries.keySet().stream().filter(n -> n.endsWith("/data.pkl")).findFirst().orElseThrow();
        byte[] p = entries.get(pkl).clone();
        switch (random.nextInt(5)) {
            case 0 -> {
                for (int n = 1 + random.nextInt(3); n > 0; n--) p[random.nextInt(p.length)] = (byte) random.nextInt(256);
            }
            case 1 -> field(p, random.nextInt(p.length), random);
            case 2 -> p = java.util.Arrays.copyOf(p, random.nextInt(p.length));
            case 3 -> {                                              // a run repeated in place
                int from = random.nextInt(p.length);
                int length = 1 + random.nextInt(Math.min(64, p.length - from));
                ByteArrayOutputStream out = new ByteArrayOutputStream();
                out.write(p, 0, from + length);
                for (int n = random.nextInt(1, 50); n > 0; n--) out.write(p, from, length);
                out.write(p, from + length, p.length - from - length);
                p = out.toByteArray();
            }
            default -> {                                             // a run deleted
                int from = random.nextInt(p.length);
                int length = 1 + random.nextInt(Math.min(16, p.length - from));
                byte[] q = new byte[p.length - length];
                System.arraycopy(p, 0, q, 0, from);
                System.arraycopy(p, from + length, q, from, p.length - from - length);
                p = q;
            }
        }
        entries.put(pkl, p);
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        try (ZipOutputStream out = new ZipOutputStream(bytes)) {
            for (Map.Entry<String, byte[]> e : entries.entrySet()) {
                ZipEntry z = new ZipEntry(e.getKey());
                z.setMethod(ZipEntry.STORED);
                z.setSize(e.getValue().length);
                CRC32 crc = new CRC32();
                crc.update(e.getValue());
                z.setCrc(crc.getValue());
                out.putNextEntry(z);
                out.write(e.getValue());
                out.closeEntry();
            }
        }
        return bytes.toByteArray();
    }

    /** A little-endian field of 1, 2, 4 or 8 bytes at at set to a boundary or random value. */
    private static void field(byte[] b, int at, SplittableRandom random) {
        int width = 1 << random.nextInt(4);
        long value = switch (random.nextInt(5)) {
            case 0 -> 0;
            case 1 -> -1;
            case 2 -> Long.MAX_VALUE >>> (64 - 8 * width + 1);
            case 3 -> random.nextLong();
            default -> random.nextInt(1 << 16);
        };
        for (int k = 0; k < width && at + k < b.length; k++) b[at + k] = (byte) (value >>> (8 * k));
    }
}
