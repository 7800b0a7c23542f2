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
        CountersFile.Type tokens = new CountersFile.Type(7, "tokens done");
        CountersFile.Type tiles = new CountersFile.Type(3, "tiles done");
        CountersFile.Type written = new CountersFile.Type(11, "bytes written");
        List<CountersFile.Type> types = List.of(tokens, tiles, written);
        try (CountersFile counters = CountersFile.create(file, types)) {
            assertFalse(Files.exists(dir.resolve("counters.tmp")));
            CountersFile.Snapshot s = CountersFile.read(file);
            assertEquals(CountersFile.State.STARTING, s.state());
            assertEquals(ProcessHandle.current().pid(), s.pid());
            assertTrue(s.writerAlive());
            assertEquals(List.of("tokens done", "tiles done", "bytes written"),
                    s.counters().stream().map(CountersFile.Counter::label).toList());
            assertEquals(List.of(7, 3, 11), s.counters().stream().map(CountersFile.Counter::typeId).toList());
            counters.state(CountersFile.State.RUNNING);
            counters.counter(tokens).setRelease(1_000_000_000_000L);
            counters.counter(tiles).getAndAddRelease(7);
            counters.counter(tiles).getAndAddRelease(5);
            counters.counter(written).setRelease(1L << 40);
            s = CountersFile.read(file);
            assertEquals(CountersFile.State.RUNNING, s.state());
            assertEquals(1_000_000_000_000L, s.value(tokens, -1));
            assertEquals(12, s.value(tiles, -1));
            assertEquals(1L << 40, s.value(written, -1));
            assertEquals(-1, s.value(new CountersFile.Type(99, "tiles done"), -1), "found by type id, not by label");
            assertThrows(IllegalArgumentException.class, () -> counters.counter(new CountersFile.Type(99, "x")));
            counters.state(CountersFile.State.DONE);
        }
        CountersFile.Snapshot after = CountersFile.read(file);
        assertEquals(CountersFile.State.DONE, after.state(), "the file keeps its last values after close");
        assertEquals(12, after.value(tiles, -1));
    }

    @Test
    void recreatingReplacesTheFile() throws IOException {
        Path file = dir.resolve("counters");
        CountersFile.Type a = new CountersFile.Type(1, "a");
        try (CountersFile c = CountersFile.create(file, List.of(a))) {
            c.counter(a).setRelease(5);
        }
        try (CountersFile c = CountersFile.create(file, List.of(a, new CountersFile.Type(2, "b")))) {
            assertEquals(0, CountersFile.read(file).value(a, -1));
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
