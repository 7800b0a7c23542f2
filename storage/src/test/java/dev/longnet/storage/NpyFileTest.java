package dev.longnet.storage;

import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import static dev.longnet.storage.TestFiles.assertFormatError;
import static dev.longnet.storage.TestFiles.fixtureBytes;
import static dev.longnet.storage.TestFiles.npyFixture;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class NpyFileTest {
    @TempDir Path dir;

    /** Every element of rows, in order, widened to float. */
    static float[] readAll(TensorRows rows) throws IOException {
        long n = rows.rows() * rows.rowElements();
        float[] out = new float[Math.toIntExact(n)];
        try (RowWindow w = rows.window(0, rows.rows())) {
            for (int i = 0; i < out.length; i++) out[i] = rows.dtype().get(w.segment(), i);
        }
        return out;
    }

    @Test
    void readsValuesNumpyWrote() throws IOException {
        try (NpyFile f = NpyFile.open(npyFixture("f32_2x3x4.npy"))) {
            assertEquals(DType.F32, f.dtype());
            assertArrayEquals(new long[] {2, 3, 4}, f.shape());
            assertEquals(2, f.rows());
            assertEquals(12, f.rowElements());
            assertEquals(48, f.rowBytes());
            assertEquals(96, f.dataBytes());
            assertFalse(f.writable());
            float[] expected = new float[24];
            for (int i = 0; i < 24; i++) expected[i] = i;
            assertArrayEquals(expected, readAll(f));
            try (RowWindow second = f.window(1, 1)) {
                assertEquals(1, second.firstRow());
                assertEquals(1, second.rowCount());
                assertEquals(48, second.segment().byteSize());
                assertTrue(second.segment().isReadOnly());
                assertEquals(12f, DType.F32.get(second.segment(), 0));
                assertEquals(23f, DType.F32.get(second.segment(), 11));
            }
        }
        try (NpyFile f = NpyFile.open(npyFixture("f16_5.npy"))) {
            assertEquals(DType.F16, f.dtype());
            assertArrayEquals(new float[] {0f, 0.25f, 0.5f, 0.75f, 1f}, readAll(f));
        }
        try (NpyFile f = NpyFile.open(npyFixture("f32_7x1.npy"))) {
            assertArrayEquals(new float[] {-3, -2, -1, 0, 1, 2, 3}, readAll(f));
        }
        for (String v : List.of("f32_v2.npy", "f32_v3.npy")) {
            try (NpyFile f = NpyFile.open(npyFixture(v))) {
                assertArrayEquals(new float[] {0, 1, 2, 3, 4, 5}, readAll(f));
            }
        }
        try (NpyFile f = NpyFile.open(npyFixture("f32_0x3.npy"))) {
            assertEquals(0, f.rows());
            assertEquals(12, f.rowBytes());
            try (RowWindow w = f.window(0, 0)) {
                assertEquals(0, w.segment().byteSize());
            }
        }
    }

    @Test
    void writesTheSameBytesAsNumpy() throws IOException {
        Path target = dir.resolve("same.npy");
        try (NpyFile f = NpyFile.create(target, DType.F32, 2, 3, 4)) {
            try (RowWindow w = f.window(0, 2)) {
                for (int i = 0; i < 24; i++) DType.F32.set(w.segment(), i, i);
                w.force();
            }
            f.commit();
        }
        assertArrayEquals(fixtureBytes("f32_2x3x4.npy"), Files.readAllBytes(target));

        Path half = dir.resolve("half.npy");
        try (NpyFile f = NpyFile.create(half, DType.F16, 5)) {
            for (int i = 0; i < 5; i++) {
                try (RowWindow w = f.window(i, 1)) {
                    DType.F16.set(w.segment(), 0, i / 4f);
                }
            }
            f.commit();
        }
        assertArrayEquals(fixtureBytes("f16_5.npy"), Files.readAllBytes(half));
    }

    @Test
    void roundTripsF32AndF16In1dAnd3d() throws IOException {
        record Case(DType dtype, long[] shape) { }
        for (Case c : List.of(new Case(DType.F32, new long[] {1000}), new Case(DType.F16, new long[] {1000}),
                new Case(DType.F32, new long[] {7, 5, 3}), new Case(DType.F16, new long[] {7, 5, 3}))) {
            Path target = dir.resolve(c.dtype + "-" + c.shape.length + ".npy");
            long elements = 1;
            for (long d : c.shape) elements *= d;
            float[] values = new float[(int) elements];
            for (int i = 0; i < values.length; i++) values[i] = (i % 97 - 48) * 0.125f;   // exact in f16 too
            try (NpyFile f = NpyFile.create(target, c.dtype, c.shape)) {
                assertTrue(f.writable());
                int perRow = (int) f.rowElements();
                for (long row = 0; row < f.rows(); row += 3) {
                    long count = Math.min(3, f.rows() - row);
                    try (RowWindow w = f.window(row, count)) {
                        for (int i = 0; i < count * perRow; i++) {
                            c.dtype.set(w.segment(), i, values[(int) (row * perRow) + i]);
                        }
                    }
                }
                f.commit();
            }
            try (NpyFile f = NpyFile.open(target)) {
                assertEquals(c.dtype, f.dtype());
                assertArrayEquals(c.shape, f.shape());
                assertArrayEquals(values, readAll(f));
                assertEquals(f.header().dataOffset() + f.dataBytes(), Files.size(target));
            }
        }
    }

    @Test
    void openWritableChangesTheFileInPlace() throws IOException {
        Path copy = dir.resolve("copy.npy");
        Files.copy(npyFixture("f32_7x1.npy"), copy);
        try (NpyFile f = NpyFile.openWritable(copy); RowWindow w = f.window(6, 1)) {
            assertTrue(f.writable());
            assertFalse(w.segment().isReadOnly());
            DType.F32.set(w.segment(), 0, 42f);
            w.force();
        }
        try (NpyFile f = NpyFile.open(copy)) {
            assertArrayEquals(new float[] {-3, -2, -1, 0, 1, 2, 42}, readAll(f));
            assertEquals(copy, f.path());
            assertEquals(copy, f.target());
            assertThrows(IllegalStateException.class, f::commit, "only created files commit");
        }
    }

    @Test
    void createdDataReadsAsZerosAndIsSparse() throws IOException {
        Path target = dir.resolve("zeros.npy");
        try (NpyFile f = NpyFile.create(target, DType.F32, 1 << 20, 16)) {   // 64 MiB of data
            assertEquals(64L << 20, f.dataBytes());
            assertEquals(f.header().dataOffset() + f.dataBytes(), Files.size(f.path()));
            try (RowWindow w = f.window((1 << 20) - 2, 2)) {
                for (int i = 0; i < 32; i++) assertEquals(0f, DType.F32.get(w.segment(), i));
            }
            f.commit();
        }
        long allocated = NpyFileLargeTest.allocatedBytes(target);
        assertTrue(allocated < (1 << 20), "a hole, not 64 MiB of zeros: " + allocated + " bytes allocated");
    }

    @Test
    void windowsCheckTheirBounds() throws IOException {
        try (NpyFile f = NpyFile.open(npyFixture("f32_7x1.npy"))) {
            for (long[] bad : new long[][] {{-1, 1}, {0, 8}, {7, 1}, {3, -1}, {8, 0}, {Long.MAX_VALUE, 2}, {1, Long.MAX_VALUE}}) {
                IndexOutOfBoundsException e = assertThrows(IndexOutOfBoundsException.class, () -> f.window(bad[0], bad[1]));
                assertTrue(e.getMessage().contains("out of bounds for 7 rows"), e.getMessage());
                assertTrue(e.getMessage().contains("f32_7x1.npy"), e.getMessage());
            }
            try (RowWindow empty = f.window(7, 0)) {
                assertEquals(0, empty.segment().byteSize());
                assertEquals(7, empty.firstRow());
                empty.advise(Advice.SEQUENTIAL);
                empty.force();
            }
            try (RowWindow all = f.window(0, 7)) {
                assertEquals(28, all.segment().byteSize());
            }
        }
    }

    @Test
    void windowsCloseIdempotentlyAndUnmap() throws IOException {
        try (NpyFile f = NpyFile.open(npyFixture("f32_7x1.npy"))) {
            RowWindow w = f.window(0, 7);
            MemorySegment s = w.segment();
            w.advise(Advice.WILL_NEED);
            assertEquals(-3f, DType.F32.get(s, 0));
            w.close();
            w.close();
            assertThrows(IllegalStateException.class, () -> DType.F32.get(s, 0), "the mapping is gone");
        }
    }

    @Test
    void windowsWorkFromManyThreads() throws Exception {
        Path target = dir.resolve("threads.npy");
        int rows = 4096;
        try (NpyFile f = NpyFile.create(target, DType.F32, rows, 64); ExecutorService pool = Executors.newFixedThreadPool(4)) {
            List<Future<?>> done = new ArrayList<>();
            for (int t = 0; t < 8; t++) {
                int first = t * rows / 8;
                done.add(pool.submit(() -> {
                    try (RowWindow w = f.window(first, rows / 8)) {
                        for (int i = 0; i < rows / 8 * 64; i++) DType.F32.set(w.segment(), i, first * 64 + i);
                    }
                    return null;
                }));
            }
            // one window shared by threads: a shared arena allows it
            try (RowWindow shared = f.window(0, rows)) {
                for (Future<?> d : done) d.get();
                List<Future<Double>> sums = new ArrayList<>();
                for (int t = 0; t < 4; t++) {
                    int part = t;
                    sums.add(pool.submit(() -> {
                        double sum = 0;
                        for (long i = part * (rows * 64L / 4); i < (part + 1) * (rows * 64L / 4); i++) {
                            sum += DType.F32.get(shared.segment(), i);
                        }
                        return sum;
                    }));
                }
                double total = 0;
                for (Future<Double> s : sums) total += s.get();
                long n = rows * 64L;
                assertEquals(n * (n - 1) / 2.0, total);
            }
        }
    }

    @Test
    void refusesScalarsAndBadFilesWithTheirPath() throws IOException {
        Path scalar = npyFixture("f32_scalar.npy");
        assertFormatError(scalar, "0-d (scalar) array has no rows", () -> NpyFile.open(scalar));
        Path big = npyFixture("f32_big_endian.npy");
        assertFormatError(big, "big-endian", () -> NpyFile.open(big));
        Path cut = dir.resolve("cut.npy");
        Files.write(cut, java.util.Arrays.copyOf(fixtureBytes("f32_2x3x4.npy"), 200));
        assertFormatError(cut, "truncated: header claims 96 bytes of data, file holds 72", () -> NpyFile.open(cut));
        assertThrows(NoSuchFileException.class, () -> NpyFile.open(dir.resolve("absent.npy")));
    }

    // ---- atomic commit ----

    @Test
    void onlyThePartialExistsBeforeCommitAndOnlyTheTargetAfter() throws IOException {
        Path target = dir.resolve("out.npy");
        Path partial = dir.resolve("out.npy.partial");
        assertEquals(partial, NpyFile.partialPath(target));
        try (NpyFile f = NpyFile.create(target, DType.F32, 4, 2)) {
            assertEquals(partial, f.path());
            assertEquals(target, f.target());
            assertTrue(Files.exists(partial));
            assertFalse(Files.exists(target));
            try (RowWindow w = f.window(0, 4)) {
                DType.F32.set(w.segment(), 7, 7f);
            }
            assertFalse(Files.exists(target));
            f.commit();
            assertTrue(Files.exists(target));
            assertFalse(Files.exists(partial));
            assertThrows(IllegalStateException.class, () -> f.window(0, 1), "commit closes the file");
        }
        try (NpyFile f = NpyFile.open(target)) {
            assertArrayEquals(new float[] {0, 0, 0, 0, 0, 0, 0, 7}, readAll(f));
        }
        assertEquals(List.of(target), listDir());
    }

    @Test
    void commitReplacesAnExistingTargetAtomically() throws IOException {
        Path target = dir.resolve("replace.npy");
        Files.copy(npyFixture("f32_7x1.npy"), target);
        try (NpyFile f = NpyFile.create(target, DType.F16, 3)) {
            try (NpyFile old = NpyFile.open(target)) {
                assertEquals(DType.F32, old.dtype(), "the old file stays whole until the commit");
            }
            f.commit();
        }
        try (NpyFile f = NpyFile.open(target)) {
            assertEquals(DType.F16, f.dtype());
            assertArrayEquals(new long[] {3}, f.shape());
        }
    }

    @Test
    void closeWithoutCommitLeavesOnlyThePartialWhichResumes() throws IOException {
        Path target = dir.resolve("resume.npy");
        try (NpyFile f = NpyFile.create(target, DType.F32, 10, 3)) {
            try (RowWindow w = f.window(0, 5)) {
                for (int i = 0; i < 15; i++) DType.F32.set(w.segment(), i, i + 1);
            }
            // no commit: as if the run failed here
        }
        assertFalse(Files.exists(target));
        assertTrue(Files.exists(NpyFile.partialPath(target)));

        try (NpyFile f = NpyFile.resume(target)) {
            assertTrue(f.writable());
            assertArrayEquals(new long[] {10, 3}, f.shape());
            try (RowWindow done = f.window(0, 5); RowWindow rest = f.window(5, 5)) {
                assertEquals(15f, DType.F32.get(done.segment(), 14));
                for (int i = 0; i < 15; i++) {
                    assertEquals(0f, DType.F32.get(rest.segment(), i));
                    DType.F32.set(rest.segment(), i, i + 16);
                }
            }
            f.commit();
        }
        float[] expected = new float[30];
        for (int i = 0; i < 30; i++) expected[i] = i + 1;
        try (NpyFile f = NpyFile.open(target)) {
            assertArrayEquals(expected, readAll(f));
        }
        assertEquals(List.of(target), listDir());
    }

    @Test
    void discardDeletesThePartialAndLeavesTheTarget() throws IOException {
        Path target = dir.resolve("discard.npy");
        Files.copy(npyFixture("f32_7x1.npy"), target);
        NpyFile f = NpyFile.create(target, DType.F32, 3);
        f.discard();
        assertEquals(List.of(target), listDir());
        assertArrayEquals(fixtureBytes("f32_7x1.npy"), Files.readAllBytes(target));
        assertThrows(NoSuchFileException.class, () -> NpyFile.resume(target));
    }

    @Test
    void resumeValidatesThePartialsHeader() throws IOException {
        Path target = dir.resolve("broken.npy");
        Path partial = NpyFile.partialPath(target);
        Files.write(partial, java.util.Arrays.copyOf(fixtureBytes("f32_2x3x4.npy"), 150));
        assertFormatError(partial, "truncated: header claims 96 bytes of data, file holds 22", () -> NpyFile.resume(target));
    }

    @Test
    void createRefusesAMissingDirectoryNamingIt() {
        Path target = dir.resolve("no/such/dir/out.npy");
        NoSuchFileException e = assertThrows(NoSuchFileException.class, () -> NpyFile.create(target, DType.F32, 3));
        assertTrue(e.getMessage().contains(target.getParent().toString()), e.getMessage());
        assertTrue(e.getMessage().contains("does not exist"), e.getMessage());
        assertFalse(Files.exists(dir.resolve("no")));
        assertThrows(IllegalArgumentException.class, () -> NpyFile.create(dir.resolve("s.npy"), DType.F32));
        assertThrows(IllegalArgumentException.class, () -> NpyFile.create(dir.resolve("b.npy"), DType.BF16, 3));
        assertThrows(IllegalArgumentException.class, () -> NpyFile.create(dir.resolve("n.npy"), DType.F32, -3));
    }

    private List<Path> listDir() throws IOException {
        try (var files = Files.list(dir)) {
            return files.sorted().toList();
        }
    }
}
