package dev.longnet.storage;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class CountersFileTest {
    @TempDir
    Path dir;

    @Test
    void aReaderSeesTheWritersValuesAndState() throws IOException {
        Path file = dir.resolve("counters");
        List<String> labels = List.of("tokens done", "tiles done", "bytes written");
        try (CountersFile counters = CountersFile.create(file, labels)) {
            assertFalse(Files.exists(dir.resolve("counters.tmp")));
            CountersFile.Snapshot s = CountersFile.read(file);
            assertEquals(CountersFile.State.STARTING, s.state());
            assertEquals(ProcessHandle.current().pid(), s.pid());
            assertTrue(s.writerAlive());
            assertEquals(labels, s.counters().stream().map(CountersFile.Counter::label).toList());
            counters.state(CountersFile.State.RUNNING);
            counters.set(0, 1_000_000_000_000L);
            counters.add(1, 7);
            counters.add(1, 5);
            counters.set(2, 1L << 40);
            s = CountersFile.read(file);
            assertEquals(CountersFile.State.RUNNING, s.state());
            assertEquals(1_000_000_000_000L, s.value("tokens done", -1));
            assertEquals(12, s.value("tiles done", -1));
            assertEquals(1L << 40, s.value("bytes written", -1));
            assertEquals(-1, s.value("no such counter", -1));
            counters.state(CountersFile.State.DONE);
        }
        CountersFile.Snapshot after = CountersFile.read(file);
        assertEquals(CountersFile.State.DONE, after.state(), "the file keeps its last values after close");
        assertEquals(12, after.value("tiles done", -1));
    }

    @Test
    void recreatingReplacesTheFile() throws IOException {
        Path file = dir.resolve("counters");
        try (CountersFile c = CountersFile.create(file, List.of("a"))) {
            c.set(0, 5);
        }
        try (CountersFile c = CountersFile.create(file, List.of("a", "b"))) {
            assertEquals(0, CountersFile.read(file).value("a", -1));
            assertEquals(2, CountersFile.read(file).counters().size());
        }
    }

    @Test
    void missingOrForeignFilesAreRefused() throws IOException {
        assertThrows(NoSuchFileException.class, () -> CountersFile.read(dir.resolve("none")));
        Path junk = Files.write(dir.resolve("junk"), new byte[8192]);
        TestFiles.assertFormatError(junk, "not a longnet counters file", () -> CountersFile.read(junk));
    }
}
