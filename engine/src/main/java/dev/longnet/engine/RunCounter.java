package dev.longnet.engine;

import dev.longnet.storage.CountersFile;
import java.util.Arrays;
import java.util.List;

/**
 * The live counters of a run, each with the agrona type id that {@code longnet stat} finds it by (type ids are the
 * file's contract with its readers and never change meaning; labels are for people).
 */
public enum RunCounter {
    TOKENS_DONE(1, "tokens done"),
    TOKENS_TOTAL(2, "tokens total"),
    TILES_DONE(3, "tiles done"),
    UNITS_DONE(4, "units done"),
    UNITS_TOTAL(5, "units total"),
    LEVEL(6, "current level"),
    PASS(7, "current pass"),
    BYTES_READ(8, "bytes read"),
    BYTES_WRITTEN(9, "bytes written"),
    RESIDENT_MEMORY(10, "resident memory"),
    ERRORS(11, "errors"),
    RESUMES(12, "resumes");

    /** Every counter, in the order of the file. */
    public static final List<CountersFile.Type> TYPES = Arrays.stream(values()).map(RunCounter::type).toList();

    private final CountersFile.Type type;

    RunCounter(int typeId, String label) {
        this.type = new CountersFile.Type(typeId, label);
    }

    public CountersFile.Type type() { return type; }

    /** This counter's value in a reading of the file, or {@code otherwise}. */
    public long in(CountersFile.Snapshot snapshot, long otherwise) { return snapshot.value(type, otherwise); }
}
