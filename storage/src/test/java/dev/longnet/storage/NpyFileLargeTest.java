package dev.longnet.storage;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Files past every 32-bit limit: > 2^31 rows, > 2 GiB of data, windows at > 2 GiB offsets and of > 2 GiB size. */
class NpyFileLargeTest {
    private static final long ROWS = (1L << 31) + 10;   // 8 GiB + 40 bytes of f32, all but a few pages a hole

    @TempDir Path dir;

    /** Disk blocks the file really uses, from stat(1); -1 where that cannot be asked. */
    static long allocatedBytes(Path file) {
        try {
            Process p = new ProcessBuilder("stat", "-c", "%b %B", file.toString()).redirectErrorStream(true).start();
            String[] out = new String(p.getInputStream().readAllBytes(), StandardCharsets.US_ASCII).trim().split(" ");
            return p.waitFor() == 0 ? Long.parseLong(out[0]) * Long.parseLong(out[1]) : -1;
        } catch (IOException | InterruptedException | RuntimeException e) {
            return -1;
        }
    }

    @Test
    void writesAndReadsRowsAtBothEndsOfAFileOverTwoBillionRows() throws IOException {
        Path target = dir.resolve("huge.npy");
        try (NpyFile f = NpyFile.create(target, DType.F32, ROWS, 1)) {
            assertEquals(ROWS * 4, f.dataBytes());
            assertEquals(ROWS, f.rows());
            assertEquals(f.header().dataOffset() + ROWS * 4, Files.size(f.path()));
            try (RowWindow first = f.window(0, 2); RowWindow last = f.window(ROWS - 2, 2)) {
                DType.F32.set(first.segment(), 0, 1.5f);
                DType.F32.set(first.segment(), 1, 2.5f);
                DType.F32.set(last.segment(), 0, -1.5f);
                DType.F32.set(last.segment(), 1, -2.5f);
            }
            // a window across row 2^31, whose bytes sit past 8 GiB
            try (RowWindow across = f.window((1L << 31) - 3, 6)) {
                for (int i = 0; i < 6; i++) DType.F32.set(across.segment(), i, 100 + i);
            }
            f.commit();
        }
        long allocated = allocatedBytes(target);
        if (allocated >= 0) assertTrue(allocated < (16 << 20), "sparse: " + allocated + " bytes on disk");

        try (NpyFile f = NpyFile.open(target)) {
            assertArrayEquals(new long[] {ROWS, 1}, f.shape());
            try (RowWindow first = f.window(0, 3); RowWindow last = f.window(ROWS - 3, 3)) {
                assertEquals(1.5f, DType.F32.get(first.segment(), 0));
                assertEquals(2.5f, DType.F32.get(first.segment(), 1));
                assertEquals(0f, DType.F32.get(first.segment(), 2));
                assertEquals(0f, DType.F32.get(last.segment(), 0));
                assertEquals(-1.5f, DType.F32.get(last.segment(), 1));
                assertEquals(-2.5f, DType.F32.get(last.segment(), 2));
            }
            try (RowWindow across = f.window((1L << 31) - 4, 8)) {
                assertEquals(0f, DType.F32.get(across.segment(), 0));
                for (int i = 0; i < 6; i++) assertEquals(100f + i, DType.F32.get(across.segment(), i + 1));
                assertEquals(0f, DType.F32.get(across.segment(), 7));
            }
        }
    }

    @Test
    void mapsOneWindowLargerThanTwoGibibytes() throws IOException {
        Path target = dir.resolve("wide.npy");
        long rows = 600_000_000L;   // 2.4 GB in one window: only the two touched pages become resident
        try (NpyFile f = NpyFile.create(target, DType.F32, rows, 1)) {
            try (RowWindow all = f.window(0, rows)) {
                assertEquals(rows * 4, all.segment().byteSize());
                assertTrue(all.segment().byteSize() > Integer.MAX_VALUE);
                all.advise(Advice.RANDOM);
                DType.F32.set(all.segment(), 0, 3f);
                DType.F32.set(all.segment(), rows - 1, 4f);
                all.force();
            }
            f.commit();
        }
        try (NpyFile f = NpyFile.open(target); RowWindow tail = f.window(rows - 1, 1); RowWindow head = f.window(0, 1)) {
            assertEquals(4f, DType.F32.get(tail.segment(), 0));
            assertEquals(3f, DType.F32.get(head.segment(), 0));
        }
    }

    @Test
    void parsesAndEncodesHeadersOfHugeShapes() throws TensorFormatException {
        NpyHeader h = NpyHeader.of(DType.F16, 1L << 40, 1L << 20);
        assertEquals(1L << 61, h.dataBytes());
        byte[] bytes = h.encode();
        Path name = Path.of("exabyte.npy");
        assertEquals(h, NpyHeader.parse(name, java.nio.ByteBuffer.wrap(bytes), bytes.length + (1L << 61)));
        TestFiles.assertFormatError(name, "truncated: header claims 2305843009213693952 bytes of data, file holds 7",
                () -> NpyHeader.parse(name, java.nio.ByteBuffer.wrap(bytes), bytes.length + 7));
    }
}
