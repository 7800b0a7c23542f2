package dev.longnet.storage;

import java.io.IOException;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

/**
 * An append-only log of a long run's units of work, memory-mapped, that survives a crash, kill -9 or a power cut:
 * a header of named fields (what the run is: hashes of its inputs and configuration), then records. Each record
 * carries a CRC32C of its own bytes, so a record torn by a crash reads as the end of the log, never as data.
 *
 * <p>Appends land in the mapping at once (another process, or this one after kill -9, reads them); {@link #force}
 * makes them durable. The log knows nothing of what the units compute: a unit is a pass, a set of levels (a bit
 * mask), an index and a range of rows; the caller gives records their meaning.
 */
public interface RunJournal extends AutoCloseable {

    /** What a record says. */
    enum Kind {
        /** A unit is about to modify its rows (its before-image, if any, is saved and forced). */
        BEGIN,
        /** A unit's rows are written and forced; {@code checksum} covers them. */
        DONE,
        /** The run stopped on an error ({@code note} says which). */
        ERROR,
        /** Every unit is done; the output is being committed. */
        COMPLETE,
        /** A later process took the run up where the journal ends. */
        RESUME;

        static Kind of(int code) {
            return code >= 1 && code <= values().length ? values()[code - 1] : null;
        }

        int code() { return ordinal() + 1; }
    }

    /**
     * One record. For unit records: the pass, the levels of the pass as a bit mask, the unit's index in its pass,
     * its rows [firstRow, firstRow + rows), the tiles it ran, and a checksum (of the before-image for BEGIN, of
     * the written rows for DONE). {@code note} is free text (an error message), at most 4 KiB of UTF-8.
     */
    record Entry(Kind kind, int pass, long levels, long unit, long firstRow, long rows, long tiles, long checksum,
                 String note) {
        public Entry {
            if (kind == null) throw new IllegalArgumentException("a record needs a kind");
            if (note == null) note = "";
        }

        public static Entry unit(Kind kind, int pass, long levels, long unit, long firstRow, long rows, long tiles,
                                 long checksum) {
            return new Entry(kind, pass, levels, unit, firstRow, rows, tiles, checksum, "");
        }

        public static Entry note(Kind kind, String note) {
            return new Entry(kind, -1, 0, -1, 0, 0, 0, 0, note);
        }
    }

    /**
     * Throws an {@link IllegalStateException} with one line naming the missing JVM flags when this JVM cannot
     * run a journal (it was started without the JDK-internals flags among the project's JVM flags); jobs call it
     * before creating any file. {@link #create} and {@link #open} check the same.
     */
    static void requireAccess() {
        ChronicleSetup.requireAccess();
    }

    /** Creates a new journal at {@code file} (replacing any), with the header durable before it appears there. */
    static RunJournal create(Path file, Map<String, String> header) throws IOException {
        return ChronicleRunJournal.create(file, header);
    }

    /** Opens an existing journal for reading and appending; a torn last record is dropped. */
    static RunJournal open(Path file) throws IOException {
        return ChronicleRunJournal.open(file);
    }

    Path path();

    /** The header's fields, in the order written. */
    Map<String, String> header();

    /** Appends a record; visible to readers at once, durable after {@link #force}. */
    void append(Entry entry);

    /** Every record, in the order appended. */
    List<Entry> records();

    /** Makes every appended record durable (fdatasync of the file, which covers its mapped pages). */
    void force() throws IOException;

    @Override
    void close();
}
