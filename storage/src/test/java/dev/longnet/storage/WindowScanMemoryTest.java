package dev.longnet.storage;

import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/** Scanning a file window by window keeps resident memory near one window, not the file's size. */
class WindowScanMemoryTest {
    private static final int COLUMNS = 1024;
    private static final long ROWS = 64 * 1024;                 // 256 MiB of f32, really written
    private static final long WINDOW_ROWS = (16 << 20) / (COLUMNS * 4);   // 16 MiB windows
    private static final long MAX_GROWTH = 128L << 20;

    @TempDir Path dir;

    /** VmRSS of this process in bytes, from /proc/self/status. */
    static long residentBytes() throws IOException {
        for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
            if (line.startsWith("VmRSS:")) return Long.parseLong(line.replaceAll("[^0-9]", "")) * 1024;
        }
        throw new IllegalStateException("no VmRSS in /proc/self/status");
    }

    static float value(long row, int column) {
        return row % 1000 + column % 7;
    }

    @Test
    void scanningInWindowsKeepsResidentMemoryBounded() throws IOException {
        assumeTrue(Files.isReadable(Path.of("/proc/self/status")), "needs Linux /proc");
        Path target = dir.resolve("scan.npy");
        float[] row = new float[COLUMNS];
        try (NpyFile f = NpyFile.create(target, DType.F32, ROWS, COLUMNS)) {
            for (long first = 0; first < ROWS; first += WINDOW_ROWS) {
                try (RowWindow w = f.window(first, WINDOW_ROWS)) {
                    for (long r = 0; r < WINDOW_ROWS; r++) {
                        for (int c = 0; c < COLUMNS; c++) row[c] = value(first + r, c);
                        MemorySegment.copy(row, 0, w.segment(), DType.FLOAT, r * COLUMNS * 4, COLUMNS);
                    }
                    w.force();
                }
            }
            f.commit();
        }
        assertEquals(ROWS * COLUMNS * 4 + 128, Files.size(target));

        long before = residentBytes();
        long peak = before;
        long sum = 0;
        long rowsSeen = 0;
        try (NpyFile f = NpyFile.open(target)) {
            for (long first = 0; first < f.rows(); first += WINDOW_ROWS) {
                try (RowWindow w = f.window(first, Math.min(WINDOW_ROWS, f.rows() - first))) {
                    w.advise(Advice.SEQUENTIAL);
                    MemorySegment s = w.segment();
                    for (long i = 0; i < w.rowCount() * COLUMNS; i++) sum += (long) DType.F32.get(s, i);
                    rowsSeen += w.rowCount();
                    peak = Math.max(peak, residentBytes());
                }
            }
        }
        long expected = 0;
        for (long r = 0; r < ROWS; r++) for (int c = 0; c < COLUMNS; c++) expected += (long) value(r, c);
        assertEquals(ROWS, rowsSeen);
        assertEquals(expected, sum);
        long growth = peak - before;
        assertTrue(growth < MAX_GROWTH, "resident memory grew by " + (growth >> 20) + " MiB scanning a "
                + (ROWS * COLUMNS * 4 >> 20) + " MiB file in " + (WINDOW_ROWS * COLUMNS * 4 >> 20) + " MiB windows");
        System.out.println("window scan: RSS grew " + (growth >> 20) + " MiB (" + List.of(before >> 20, peak >> 20) + " MiB)");
    }
}
