package dev.longnet.storage;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Files that are not what they seem (issue 11): pipes, directories, files that shrink while mapped. */
class HostileFilesTest {
    @TempDir
    Path dir;

    @Test
    void aFifoIsRefusedInsteadOfBlockingForever() throws Exception {
        Path fifo = dir.resolve("q.npy");
        Process mkfifo;
        try {
            mkfifo = new ProcessBuilder("mkfifo", fifo.toString()).start();
        } catch (IOException e) {
            assumeTrue(false, "no mkfifo here");
            return;
        }
        assumeTrue(mkfifo.waitFor() == 0 && Files.exists(fifo), "mkfifo failed");
        TensorFormatException e = assertTimeoutPreemptively(Duration.ofSeconds(10),
                () -> assertThrows(TensorFormatException.class, () -> NpyFile.open(fifo)));
        assertTrue(e.getMessage().startsWith(fifo + ": is not a regular file"), e.getMessage());
        assertTimeoutPreemptively(Duration.ofSeconds(10),
                () -> assertThrows(TensorFormatException.class, () -> SafetensorsFile.open(fifo)));
        assertTimeoutPreemptively(Duration.ofSeconds(10),
                () -> assertThrows(TensorFormatException.class, () -> TensorFile.open(fifo)));
        assertTimeoutPreemptively(Duration.ofSeconds(10),
                () -> assertThrows(TensorFormatException.class, () -> TorchCheckpoint.open(fifo)));
    }

    @Test
    void aDirectoryIsNamed() {
        TensorFormatException e = assertThrows(TensorFormatException.class, () -> NpyFile.open(dir));
        assertEquals(dir + ": is a directory, not a tensor file", e.getMessage());
    }

    @Test
    void aFileThatShrankIsRefusedBeforeItsRowsAreMapped() throws IOException {
        // Issue 11.7: touching a mapping past the end of a truncated file kills the JVM with SIGBUS.
        Path file = dir.resolve("x.npy");
        try (NpyFile f = NpyFile.create(file, DType.F32, 1000, 4)) {
            f.commit();
        }
        try (NpyFile f = NpyFile.open(file)) {
            try (RowWindow w = f.window(0, 1000)) {
                assertEquals(0f, w.segment().get(java.lang.foreign.ValueLayout.JAVA_FLOAT_UNALIGNED, 3996 * 4 - 4));
            }
            try (FileChannel ch = FileChannel.open(file, StandardOpenOption.WRITE)) {
                ch.truncate(f.header().dataOffset() + 100 * 16);
            }
            try (RowWindow w = f.window(0, 100)) {
                assertEquals(100, w.rowCount(), "rows still in the file map as before");
            }
            IOException e = assertThrows(IOException.class, () -> f.window(50, 100));
            assertTrue(e.getMessage().startsWith(file + ": the file shrank to "), e.getMessage());
            assertTrue(e.getMessage().contains("must not be modified"), e.getMessage());
        }
    }
}
