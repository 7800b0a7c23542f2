package dev.longnet.storage;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

class ProcSelfTest {
    @TempDir Path dir;

    @Test
    void residentBytesOfAFileFollowTheTouchedPagesOfItsMappings() throws IOException {
        assumeTrue(Files.isReadable(Path.of("/proc/self/smaps")), "needs Linux /proc");
        long rows = 4096;                                              // 16 MiB of f32 rows of 1024
        try (NpyFile f = NpyFile.create(dir.resolve("a.npy"), DType.F32, rows, 1024); RowWindow w = f.window(0, rows)) {
            Path file = f.path().toRealPath();
            assertTrue(ProcSelf.residentBytesByFile().getOrDefault(file, 0L) < (1 << 20), "nothing touched yet");
            for (long row = 0; row < rows / 2; row++) DType.F32.set(w.segment(), row * 1024, 1f);   // 8 MiB
            long touched = ProcSelf.residentBytesByFile().getOrDefault(file, 0L);
            assertTrue(touched >= (8L << 20) && touched <= (9L << 20), "resident after touching 8 MiB: " + touched);
            w.advise(Advice.DONT_NEED);
            long dropped = ProcSelf.residentBytesByFile().getOrDefault(file, 0L);
            assertTrue(dropped < (1 << 20), "resident after DONT_NEED: " + dropped);
        }
    }
}
