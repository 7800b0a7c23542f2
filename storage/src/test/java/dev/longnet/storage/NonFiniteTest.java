package dev.longnet.storage;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import org.junit.jupiter.api.Test;

class NonFiniteTest {
    private static MemoryRows rows(Arena arena, DType dtype, long n, int heads, int d, long at, float value) {
        MemorySegment s = arena.allocate(n * heads * d * dtype.bytes(), 4);
        for (long i = 0; i < n * heads * d; i++) dtype.set(s, i, (i % 7) - 3.5f);
        if (at >= 0) dtype.set(s, at, value);
        return MemoryRows.of(s, dtype, n, heads, d);
    }

    private static MemorySegment one(DType dtype, float value) {
        MemorySegment s = Arena.ofAuto().allocate(4);
        dtype.set(s, 0, value);
        return s;
    }

    @Test
    void findsTheFirstNaNOrInfinityWithItsRowAndElement() throws IOException {
        try (Arena arena = Arena.ofConfined()) {
            for (DType dtype : DType.values()) {
                assertNull(NonFinite.first(rows(arena, dtype, 50, 3, 4, -1, 0)), dtype + ": all finite");
                float big = dtype == DType.F16 ? 65504f : Float.MAX_VALUE;
                assertNull(NonFinite.first(rows(arena, dtype, 50, 3, 4, 17, dtype == DType.BF16 ? 3e38f : big)),
                        "the largest finite value is finite");
                NonFinite.Found nan = NonFinite.first(rows(arena, dtype, 50, 3, 4, 12 * 37 + 9, Float.NaN));
                assertEquals(new NonFinite.Found(37, 9, Float.NaN).row(), nan.row(), dtype.toString());
                assertEquals(9, nan.element());
                assertEquals("NaN", nan.describe());
                NonFinite.Found inf = NonFinite.first(rows(arena, dtype, 50, 3, 4, 12 * 49 + 11, Float.NEGATIVE_INFINITY));
                assertEquals(49, inf.row());
                assertEquals(11, inf.element());
                assertEquals("-Inf", inf.describe());
                NonFinite.Scan scan = NonFinite.scan(rows(arena, dtype, 50, 3, 4, 100, -1000f));
                assertEquals(null, scan.first());
                assertEquals(dtype == DType.F32 ? 1000f : dtype.get(one(dtype, -1000f), 0) * -1, scan.maxAbs(), dtype.toString());
            }
        }
    }

    @Test
    void scansFilesAWindowAtATime(@org.junit.jupiter.api.io.TempDir java.nio.file.Path dir) throws IOException {
        long n = 70_000;                                                      // 70 MB: two windows of 64 MiB
        try (NpyFile f = NpyFile.create(dir.resolve("x.npy"), DType.F32, n, 1, 256)) {
            try (RowWindow w = f.window(n - 1, 1)) {
                DType.F32.set(w.segment(), 255, Float.POSITIVE_INFINITY);
            }
            NonFinite.Found found = NonFinite.first(f);
            assertEquals(n - 1, found.row());
            assertEquals(255, found.element());
            assertEquals("+Inf", found.describe());
        }
    }
}
