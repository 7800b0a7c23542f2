package dev.longnet.engine;

import dev.longnet.storage.DType;
import dev.longnet.storage.NpyFile;
import dev.longnet.storage.RowWindow;
import java.io.IOException;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import static org.junit.jupiter.api.Assertions.assertEquals;

class PrefaultTest {
    @TempDir Path dir;

    @Test
    void populatingRowsKeepsTheirDataAndIgnoresRowsOutsideTheFile() throws IOException {
        try (NpyFile out = NpyFile.create(dir.resolve("out.npy"), DType.F32, 5000, 8, 4);
             NpyFile lse = NpyFile.create(dir.resolve("lse.npy"), DType.F32, 5000, 8);
             Prefault prefault = new Prefault()) {
            try (RowWindow w = out.window(0, 5000)) {
                for (int i = 0; i < 5000 * 32; i += 97) DType.F32.set(w.segment(), i, i);
            }
            prefault.ahead(out, lse, 1000, 3000);
            prefault.ahead(out, lse, 4000, 2000);            // past the last row: refused by the file, ignored
            prefault.await();
            try (RowWindow w = out.window(0, 5000); RowWindow l = lse.window(0, 5000)) {
                for (int i = 0; i < 5000 * 32; i++) assertEquals(i % 97 == 0 ? i : 0f, DType.F32.get(w.segment(), i));
                for (int i = 0; i < 5000 * 8; i++) assertEquals(0f, DType.F32.get(l.segment(), i));
            }
        }
    }
}
