package dev.longnet.storage;

import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.nio.file.Path;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

class MadviseTest {
    @TempDir Path dir;

    @Test
    void pageSizeIsAPowerOfTwo() {
        long page = Madvise.pageSize();
        assertTrue(page >= 4096 && Long.bitCount(page) == 1, "page size " + page);
    }

    @Test
    void advisesMappedWindowsEvenAtUnalignedAddresses() throws IOException {
        assumeTrue(System.getProperty("os.name").toLowerCase().contains("linux"), "the Linux constants");
        try (NpyFile f = NpyFile.create(dir.resolve("a.npy"), DType.F32, 10_000, 3); RowWindow w = f.window(7, 5000)) {
            assertTrue(w.segment().address() % Madvise.pageSize() != 0, "rows start mid-page");
            DType.F32.set(w.segment(), 4, 7f);
            for (Advice advice : Advice.values()) {
                boolean done = Madvise.tryAdvise(w.segment(), advice);
                // the POPULATE hints need Linux 5.14; an older kernel refuses them, which is not an error
                if (!advice.name().startsWith("POPULATE_")) assertTrue(done, advice.name());
                w.advise(advice);
            }
            assertEquals(7f, DType.F32.get(w.segment(), 4), "populating a mapping keeps its data");
            assertTrue(Madvise.tryAdvise(w.segment().asSlice(4097, 3), Advice.WILL_NEED));
            DType.F32.set(w.segment(), 0, 2f);   // DONT_NEED on a shared file mapping keeps the data
            w.advise(Advice.DONT_NEED);
            assertEquals(2f, DType.F32.get(w.segment(), 0));
        }
    }

    @Test
    @SuppressWarnings("restricted")   // a made-up native segment, only handed to madvise
    void ignoresHeapAndEmptySegments() {
        float[] values = {3f, 1f, 4f, 1f, 5f, 9f, 2f, 6f};
        MemorySegment heap = MemorySegment.ofArray(values);
        assertFalse(Madvise.tryAdvise(heap, Advice.SEQUENTIAL));
        Madvise.advise(heap, Advice.DONT_NEED);                 // a no-op on the heap: nothing is dropped
        assertEquals(9f, heap.getAtIndex(DType.FLOAT, 5));
        assertFalse(Madvise.tryAdvise(MemorySegment.NULL, Advice.RANDOM));
        // an address madvise rejects (not mapped): a failed hint, never an exception
        MemorySegment unmapped = MemorySegment.ofAddress(1L << 46).reinterpret(4096);
        assertFalse(Madvise.tryAdvise(unmapped, Advice.WILL_NEED));
    }
}
