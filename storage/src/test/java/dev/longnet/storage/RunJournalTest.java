package dev.longnet.storage;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class RunJournalTest {
    @TempDir
    Path dir;

    private static Map<String, String> header() {
        Map<String, String> h = new LinkedHashMap<>();
        h.put("format", "test 1");
        h.put("config", "segments=1,2 dilations=1,2");
        h.put("q", "F32 [10, 2, 4] 0123abcd");
        h.put("note", "a value with = and\na newline");
        return h;
    }

    private static RunJournal.Entry unit(RunJournal.Kind kind, long index) {
        return RunJournal.Entry.unit(kind, 1, 0b110, index, index * 64, 64, 9 * index, 0xFFFF_FFFFL - index);
    }

    @Test
    void recordsAndHeaderSurviveReopening() throws IOException {
        Path file = dir.resolve("journal");
        List<RunJournal.Entry> written = new ArrayList<>();
        try (RunJournal j = RunJournal.create(file, header())) {
            assertFalse(Files.exists(dir.resolve("journal.tmp")), "built under a temporary name, then renamed");
            for (int i = 0; i < 2000; i++) {                                // > 1 chunk of the mapping
                RunJournal.Entry e = unit(i % 2 == 0 ? RunJournal.Kind.BEGIN : RunJournal.Kind.DONE, i);
                j.append(e);
                written.add(e);
            }
            RunJournal.Entry note = RunJournal.Entry.note(RunJournal.Kind.ERROR, "disk full: No space left on device — ü");
            j.append(note);
            written.add(note);
            j.force();
            assertEquals(written, j.records());
        }
        try (RunJournal j = RunJournal.open(file)) {
            assertEquals(written, j.records());
            Map<String, String> expected = new LinkedHashMap<>(header());
            expected.put("note", "a value with = and a newline");
            assertEquals(expected, j.header());
            j.append(unit(RunJournal.Kind.DONE, 5000));
        }
        try (RunJournal j = RunJournal.open(file)) {
            assertEquals(written.size() + 1, j.records().size());
            assertEquals(unit(RunJournal.Kind.DONE, 5000), j.records().getLast());
        }
    }

    @Test
    void aTornLastRecordIsDroppedAndOverwritten() throws IOException {
        Path file = dir.resolve("journal");
        long tail;
        try (RunJournal j = RunJournal.create(file, header())) {
            j.append(unit(RunJournal.Kind.BEGIN, 0));
            j.append(unit(RunJournal.Kind.DONE, 0));
            tail = Files.size(file);
        }
        // Find the last record and damage its payload, as a crash in mid-append would leave it.
        byte[] bytes = Files.readAllBytes(file);
        int last = lastRecordOffset(bytes);
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.WRITE)) {
            ch.write(ByteBuffer.wrap(new byte[]{0x55, 0x55, 0x55}), last + 20);
        }
        try (RunJournal j = RunJournal.open(file)) {
            assertEquals(List.of(unit(RunJournal.Kind.BEGIN, 0)), j.records(), "the torn record reads as the end");
            j.append(unit(RunJournal.Kind.DONE, 1));
        }
        try (RunJournal j = RunJournal.open(file)) {
            assertEquals(List.of(unit(RunJournal.Kind.BEGIN, 0), unit(RunJournal.Kind.DONE, 1)), j.records());
        }
        assertTrue(Files.size(file) >= tail);
    }

    @Test
    void aDamagedRecordFollowedByWholeRecordsIsCorruptionNotATornEnd() throws IOException {
        // Issue 11.2: one flipped bit in the middle used to read as the end of the log, dropping the records after it.
        Path file = dir.resolve("journal");
        try (RunJournal j = RunJournal.create(file, header())) {
            for (int i = 0; i < 6; i++) j.append(unit(RunJournal.Kind.DONE, i));
        }
        byte[] bytes = Files.readAllBytes(file);
        int second = recordOffsets(bytes).get(2);
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ, StandardOpenOption.WRITE)) {
            ByteBuffer b = ByteBuffer.allocate(1);
            ch.read(b, second + 30);
            b.put(0, (byte) (b.get(0) ^ 0x04));
            ch.write(b.flip(), second + 30);
        }
        TensorFormatException e = TestFiles.assertFormatError(file, "record 2 (at byte " + second + ") is damaged but"
                + " whole records follow it", () -> RunJournal.open(file));
        assertTrue(e.getMessage().contains("the journal is corrupt"), e.getMessage());
    }

    @Test
    void notAJournalIsAFormatError() throws IOException {
        Path junk = Files.writeString(dir.resolve("junk"), "this is not a journal, not at all");
        TestFiles.assertFormatError(junk, "not a run journal", () -> RunJournal.open(junk));
        Path shortFile = Files.writeString(dir.resolve("short"), "LNJ");
        TestFiles.assertFormatError(shortFile, "too short", () -> RunJournal.open(shortFile));
        assertThrows(NoSuchFileException.class, () -> RunJournal.open(dir.resolve("missing")));
        Path file = dir.resolve("journal");
        RunJournal.create(file, header()).close();
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.WRITE)) {
            ch.write(ByteBuffer.wrap(new byte[]{'X'}), 30);               // inside the header text
        }
        TestFiles.assertFormatError(file, "header is damaged", () -> RunJournal.open(file));
    }

    /** The offsets of the whole records (records are length-prefixed and 8-byte aligned). */
    private static List<Integer> recordOffsets(byte[] bytes) {
        ByteBuffer b = ByteBuffer.wrap(bytes).order(java.nio.ByteOrder.LITTLE_ENDIAN);
        List<Integer> offsets = new ArrayList<>();
        for (int at = b.getInt(20); at + 8 <= bytes.length && b.getInt(at) != 0; at += (8 + b.getInt(at) + 7) & ~7) {
            offsets.add(at);
        }
        return offsets;
    }

    /** The offset of the last whole record. */
    private static int lastRecordOffset(byte[] bytes) {
        List<Integer> offsets = recordOffsets(bytes);
        return offsets.isEmpty() ? -1 : offsets.getLast();
    }
}
