package dev.longnet.engine;

import dev.longnet.storage.CountersFile;
import dev.longnet.storage.DType;
import dev.longnet.storage.NpyFile;
import dev.longnet.storage.ProcSelf;
import dev.longnet.storage.RowWindow;
import dev.longnet.storage.RunJournal;
import dev.longnet.storage.TensorFormatException;
import dev.longnet.storage.TensorRows;
import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.locks.LockSupport;
import java.util.zip.CRC32C;

/**
 * The run directory of a resumable file job, {@code OUT.run/} beside the output (docs/DESIGN.md, "The run
 * journal"): the journal of completed units, the live counters, the lse scratch, the before-image of the unit in
 * progress ("undo"), and for f16 outputs the f32 accumulator. The f32 output accumulates in {@code OUT.partial}.
 *
 * <p>Units (pass, window) run one after another. A unit of the first pass starts from zeros; a unit of a later
 * pass starts from what the earlier passes left in its rows, so before it writes, its out and lse rows are copied
 * to the undo file (forced) and a BEGIN record carrying their checksum is appended (forced). After its last
 * write, its rows are forced and a DONE record carrying their CRC32C is appended (forced). Hence after a crash
 * the DONE records are a prefix of the schedule, and the next unit is either untouched, or a first-pass unit
 * (zeroed again), or a later-pass unit whose undo image is valid (restored): redoing it gives the same bits.
 */
public final class RunDirectory implements UnitLog, AutoCloseable {
    public static final String SUFFIX = ".run";
    static final String JOURNAL = "journal";
    static final String COUNTERS = "counters";
    static final String UNDO = "undo";
    static final String LSE = "lse.npy";
    static final String ACC = "acc.npy";
    /** Header fields that must agree for a run to resume. */
    private static final List<String> IDENTITY_KEYS = List.of("format", "config", "schedule", "kernel", "output", "q", "k", "v");

    /** The live counters, in the order of the counters file. */
    public static final List<String> COUNTER_LABELS = List.of("tokens done", "tokens total", "tiles done", "units done",
            "units total", "current level", "current pass", "bytes read", "bytes written", "resident memory",
            "errors", "resumes");
    private static final int TOKENS_DONE = 0, TOKENS_TOTAL = 1, TILES_DONE = 2, UNITS_DONE = 3, UNITS_TOTAL = 4,
            LEVEL = 5, PASS = 6, BYTES_READ = 7, BYTES_WRITTEN = 8, RSS = 9, ERRORS = 10, RESUMES = 11;
    private static final long SAMPLE_NANOS = 200_000_000L;

    private final Path dir;
    private final Path out;
    private final DType outputType;
    private final Schedule schedule;
    private final long n;
    private final long[] passStart;
    private final RunJournal journal;
    private final NpyFile acc;
    private final NpyFile lse;
    private final List<RunJournal.Entry> done;
    private final long unitsResumed;
    private CountersFile counters;
    private FileChannel undo;
    private Schedule.Unit restored;
    private Thread sampler;
    private volatile boolean closed;

    private RunDirectory(Path out, DType outputType, Schedule schedule, long n, RunJournal journal, NpyFile acc,
                         NpyFile lse, List<RunJournal.Entry> done) {
        this.dir = of(out);
        this.out = out;
        this.outputType = outputType;
        this.schedule = schedule;
        this.n = n;
        this.journal = journal;
        this.acc = acc;
        this.lse = lse;
        this.done = new ArrayList<>(done);
        this.unitsResumed = done.size();
        this.passStart = new long[schedule.passes().size() + 1];
        for (int p = 0; p < schedule.passes().size(); p++) passStart[p + 1] = passStart[p] + schedule.passes().get(p).windows(n);
    }

    /** The run directory of an output: {@code OUT.run} beside it. */
    public static Path of(Path out) { return out.resolveSibling(out.getFileName() + SUFFIX); }

    /** The counters file of a run directory. */
    public static Path countersFile(Path runDirectory) { return runDirectory.resolve(COUNTERS); }

    /** True when an earlier run of {@code out} left a journal that a later run can resume from. */
    public static boolean exists(Path out) { return Files.isRegularFile(of(out).resolve(JOURNAL)); }

    /** The files a run of {@code out} writes before the output is complete: OUT.partial and the run directory. */
    public static List<Path> temporaryFiles(Path out) { return List.of(NpyFile.partialPath(out), of(out)); }

    /**
     * Resumes the run of {@code out} that the journal describes, or starts a new one (replacing any earlier run
     * when {@code restart}). A journal whose identity differs from {@code identity} is refused with a
     * {@link RunConflictException} unless {@code restart}.
     *
     * @param spaceNeeded bytes a fresh run needs on the output's file system (it is checked before anything is
     *                    written; a resumed run needs the share of its remaining units)
     */
    static RunDirectory open(Path out, Map<String, String> identity, Schedule schedule, long n, int heads, int headDim,
                             DType outputType, boolean restart, long spaceNeeded) throws IOException {
        Path dir = of(out);
        Path journalPath = dir.resolve(JOURNAL);
        Path accTarget = outputType == DType.F32 ? out : dir.resolve(ACC);
        Path lseTarget = dir.resolve(LSE);
        long[] shape = {n, heads, headDim};
        if (restart) {
            delete(out);
        } else if (Files.isRegularFile(journalPath)) {
            RunJournal journal;
            try {
                journal = RunJournal.open(journalPath);
            } catch (TensorFormatException e) {
                throw new RunConflictException(dir + ": the run's journal is unreadable (" + e.getMessage()
                        + "); use --restart to start over");
            }
            try {
                requireSameRun(dir, journal.header(), identity);
                if (Files.isRegularFile(NpyFile.partialPath(accTarget)) && Files.isRegularFile(NpyFile.partialPath(lseTarget))) {
                    return resume(out, outputType, schedule, n, shape, journal, accTarget, lseTarget, spaceNeeded);
                }
            } catch (IOException | RuntimeException | Error e) {
                journal.close();
                throw e;
            }
            // The partial output is gone (the run committed, or someone removed it): nothing to resume.
            journal.close();
            delete(out);
        } else if (Files.exists(dir)) {
            delete(out);                      // a run that stopped before its journal existed: nothing was done
        }
        requireSpace(out, spaceNeeded);
        Files.createDirectories(dir);
        NpyFile accFile = NpyFile.create(accTarget, DType.F32, shape);
        NpyFile lseFile = null;
        try {
            lseFile = NpyFile.create(lseTarget, DType.F32, n, heads);
            RunJournal journal = RunJournal.create(journalPath, identity);
            RunDirectory run = new RunDirectory(out, outputType, schedule, n, journal, accFile, lseFile, List.of());
            run.startCounters(0, 0);
            return run;
        } catch (IOException | RuntimeException e) {
            accFile.close();
            if (lseFile != null) lseFile.close();
            throw e;
        }
    }

    private static RunDirectory resume(Path out, DType outputType, Schedule schedule, long n, long[] shape,
                                       RunJournal journal, Path accTarget, Path lseTarget, long spaceNeeded)
            throws IOException {
        Path dir = of(out);
        NpyFile accFile = NpyFile.resume(accTarget);
        NpyFile lseFile = null;
        try {
            lseFile = NpyFile.resume(lseTarget);
            if (!Arrays.equals(accFile.shape(), shape) || accFile.dtype() != DType.F32
                    || !Arrays.equals(lseFile.shape(), new long[]{shape[0], shape[1]}) || lseFile.dtype() != DType.F32) {
                throw new RunConflictException(dir + ": the partial output does not have the run's shape; use --restart"
                        + " to start over");
            }
            List<RunJournal.Entry> done = new ArrayList<>();
            RunJournal.Entry pending = null;
            long errors = 0;
            long resumes = 0;
            long total = schedule.unitCount(n);
            for (RunJournal.Entry e : journal.records()) {
                switch (e.kind()) {
                    case DONE -> {
                        Schedule.Unit expected = done.size() < total ? unitAt(schedule, n, done.size()) : null;
                        if (expected == null || !sameUnit(expected, e)) {
                            throw new RunConflictException(dir + ": the journal does not follow the run's schedule"
                                    + " (a DONE record for pass " + e.pass() + " unit " + e.unit()
                                    + " is out of order); use --restart to start over");
                        }
                        done.add(e);
                        pending = null;
                    }
                    case BEGIN -> pending = e;
                    case ERROR -> errors++;
                    case RESUME -> resumes++;
                    case COMPLETE -> { }
                }
            }
            long remaining = total - done.size();
            requireSpace(out, total == 0 ? 0 : (long) Math.ceil((double) spaceNeeded * remaining / total));
            RunDirectory run = new RunDirectory(out, outputType, schedule, n, journal, accFile, lseFile, done);
            run.recover(pending);
            journal.append(RunJournal.Entry.note(RunJournal.Kind.RESUME, "resumed at unit " + done.size() + " of " + total));
            journal.force();
            run.startCounters(errors, resumes + 1);
            return run;
        } catch (IOException | RuntimeException | Error e) {
            accFile.close();
            if (lseFile != null) lseFile.close();
            throw e;
        }
    }

    /**
     * Brings the rows of the first unfinished unit back to what they were before it started, and checks the last
     * finished unit's rows against its checksum.
     */
    private void recover(RunJournal.Entry pending) throws IOException {
        if (done.size() < passStart[passStart.length - 1]) {
            Schedule.Unit next = unitAt(schedule, n, done.size());
            if (next.pass() == 0) {
                // First-pass rows start from zeros; an interrupted attempt may have merged into some of them.
                try (RowWindow o = acc.window(next.firstRow(), next.rows()); RowWindow l = lse.window(next.firstRow(), next.rows())) {
                    o.segment().fill((byte) 0);
                    l.segment().fill((byte) 0);
                    o.force();
                    l.force();
                }
            } else if (pending != null && sameUnit(next, pending)) {
                restoreUndo(next, pending.checksum());
                restored = next;
            }
            // Otherwise the unit never began: its BEGIN is forced before its first write.
        }
        if (!done.isEmpty()) {
            RunJournal.Entry last = done.getLast();
            try (RowWindow o = acc.window(last.firstRow(), last.rows()); RowWindow l = lse.window(last.firstRow(), last.rows())) {
                if (crc(o.segment(), l.segment()) != last.checksum()) {
                    throw new RunConflictException(dir + ": the partial output does not match the journal (pass "
                            + last.pass() + " unit " + last.unit() + " fails its checksum): it was changed, or lost"
                            + " by the disk; use --restart to start over");
                }
            }
        }
    }

    private void restoreUndo(Schedule.Unit unit, long checksum) throws IOException {
        Path file = dir.resolve(UNDO);
        try (FileChannel channel = FileChannel.open(file, StandardOpenOption.READ);
             RowWindow o = acc.window(unit.firstRow(), unit.rows()); RowWindow l = lse.window(unit.firstRow(), unit.rows())) {
            long expected = o.segment().byteSize() + l.segment().byteSize();
            if (channel.size() != expected) throw undoDamaged(unit);
            read(channel, o.segment(), 0);
            read(channel, l.segment(), o.segment().byteSize());
            if (crc(o.segment(), l.segment()) != checksum) throw undoDamaged(unit);
            o.force();
            l.force();
        } catch (java.nio.file.NoSuchFileException e) {
            throw undoDamaged(unit);
        }
    }

    private RunConflictException undoDamaged(Schedule.Unit unit) {
        return new RunConflictException(dir + ": the saved rows of the interrupted " + unit + " are missing or damaged,"
                + " so it cannot be redone; use --restart to start over");
    }

    /** The f32 accumulator (OUT.partial, or OUT.run/acc.npy.partial for f16 outputs). */
    TensorRows accumulator() { return acc; }

    /** The lse scratch. */
    TensorRows lseScratch() { return lse; }

    /** Units an earlier run had completed when this one started. */
    public long unitsResumed() { return unitsResumed; }

    public long unitsTotal() { return passStart[passStart.length - 1]; }

    public Path directory() { return dir; }

    @Override
    public long completed(Schedule.Unit unit) {
        long ordinal = passStart[unit.pass()] + unit.index();
        return ordinal < done.size() ? done.get((int) ordinal).tiles() : -1;
    }

    @Override
    public void begin(Schedule.Unit unit, RowWindow out, RowWindow lseRows) throws IOException {
        counters.set(PASS, unit.pass());
        if (unit.pass() == 0) {
            // Nothing to save: a first-pass unit starts from zeros, and recovery zeroes it again.
            journal.append(unitEntry(RunJournal.Kind.BEGIN, unit, 0, 0));
            return;
        }
        if (unit.equals(restored)) return;           // its before-image and BEGIN are on disk from the earlier try
        if (undo == null) {
            undo = FileChannel.open(dir.resolve(UNDO), StandardOpenOption.CREATE, StandardOpenOption.READ,
                    StandardOpenOption.WRITE);
        }
        MemorySegment o = out.segment();
        MemorySegment l = lseRows.segment();
        undo.truncate(0);
        write(undo, o, 0);
        write(undo, l, o.byteSize());
        undo.force(false);
        journal.append(unitEntry(RunJournal.Kind.BEGIN, unit, 0, crc(o, l)));
        journal.force();
    }

    @Override
    public void end(Schedule.Unit unit, long tiles, RowWindow out, RowWindow lseRows) throws IOException {
        out.force();
        lseRows.force();
        RunJournal.Entry entry = unitEntry(RunJournal.Kind.DONE, unit, tiles, crc(out.segment(), lseRows.segment()));
        journal.append(entry);
        journal.force();
        done.add(entry);
        restored = null;
    }

    /** Wraps a listener so that progress also lands in the counters. */
    Progress.Listener listener(Progress.Listener downstream) {
        return p -> {
            counters.set(TOKENS_DONE, p.tokensDone());
            counters.set(TILES_DONE, p.tilesDone());
            counters.set(UNITS_DONE, p.unitsDone());
            counters.set(LEVEL, p.level());
            counters.set(PASS, p.pass());
            downstream.onProgress(p);
        };
    }

    /**
     * Every unit is done: commits the output under its name (converting to f16 if asked) and removes the run
     * directory. Nothing but the output is left.
     */
    void finish() throws IOException {
        journal.append(RunJournal.Entry.note(RunJournal.Kind.COMPLETE, "all " + unitsTotal() + " units done"));
        journal.force();
        if (outputType == DType.F32) {
            acc.commit();
        } else {
            AttentionJob.convert(acc, out, outputType, acc.shape());
        }
        counters.state(CountersFile.State.DONE);
        counters.heartbeat();
        close();
        delete(out);
    }

    /** The run failed: records why (best effort) and keeps everything for a later resume. */
    void failed(Throwable e) {
        try {
            counters.add(ERRORS, 1);
            counters.state(CountersFile.State.FAILED);
            journal.append(RunJournal.Entry.note(RunJournal.Kind.ERROR, String.valueOf(e.getMessage() != null ? e.getMessage() : e)));
            journal.force();
        } catch (Throwable ignored) {
            // the disk may be full or failing: the journal stays as it was, which is consistent
        }
    }

    /** Closes the files; the partial output and the run directory stay on disk. */
    @Override
    public void close() {
        if (closed) return;
        closed = true;
        if (sampler != null) {
            sampler.interrupt();
            try {
                sampler.join(1000);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
        closeQuietly(acc);
        closeQuietly(lse);
        closeQuietly(undo);
        journal.close();
        if (counters != null) {
            counters.heartbeat();
            counters.close();
        }
    }

    private static void closeQuietly(AutoCloseable c) {
        if (c == null) return;
        try {
            c.close();
        } catch (Exception e) {
            // closing keeps what was written; a failure to close loses nothing that was forced
        }
    }

    /** Removes a run of {@code out}: OUT.partial and the run directory's files, then the directory. */
    public static void delete(Path out) throws IOException {
        Path dir = of(out);
        Files.deleteIfExists(NpyFile.partialPath(out));
        if (!Files.isDirectory(dir)) return;
        for (String name : List.of(JOURNAL, JOURNAL + ".tmp", COUNTERS, COUNTERS + ".tmp", UNDO,
                LSE + ".partial", ACC + ".partial")) {
            Files.deleteIfExists(dir.resolve(name));
        }
        Files.deleteIfExists(dir);
    }

    private void startCounters(long errors, long resumes) throws IOException {
        counters = CountersFile.create(countersFile(dir), COUNTER_LABELS);
        counters.set(TOKENS_TOTAL, n);
        counters.set(UNITS_TOTAL, unitsTotal());
        counters.set(UNITS_DONE, done.size());
        counters.set(ERRORS, errors);
        counters.set(RESUMES, resumes);
        sample();
        counters.state(CountersFile.State.RUNNING);
        sampler = Thread.ofPlatform().daemon().name("longnet-counters").start(() -> {
            while (!closed && !Thread.currentThread().isInterrupted()) {
                sample();
                LockSupport.parkNanos(SAMPLE_NANOS);
            }
        });
    }

    private void sample() {
        counters.heartbeat();
        counters.set(RSS, ProcSelf.rssBytes());
        counters.set(BYTES_READ, ProcSelf.storageReadBytes());
        counters.set(BYTES_WRITTEN, ProcSelf.storageWriteBytes());
    }

    private static RunJournal.Entry unitEntry(RunJournal.Kind kind, Schedule.Unit unit, long tiles, long checksum) {
        return RunJournal.Entry.unit(kind, unit.pass(), unit.levelMask(), unit.index(), unit.firstRow(), unit.rows(),
                tiles, checksum);
    }

    private static boolean sameUnit(Schedule.Unit unit, RunJournal.Entry e) {
        return e.pass() == unit.pass() && e.unit() == unit.index() && e.firstRow() == unit.firstRow()
                && e.rows() == unit.rows() && e.levels() == unit.levelMask();
    }

    /** The unit at position {@code ordinal} of the whole run, in schedule order. */
    private static Schedule.Unit unitAt(Schedule schedule, long n, long ordinal) {
        for (int p = 0; p < schedule.passes().size(); p++) {
            long windows = schedule.passes().get(p).windows(n);
            if (ordinal < windows) return schedule.unit(p, ordinal, n);
            ordinal -= windows;
        }
        throw new IndexOutOfBoundsException("the run has no unit " + ordinal);
    }

    private static void requireSameRun(Path dir, Map<String, String> recorded, Map<String, String> now) {
        for (String key : IDENTITY_KEYS) {
            String was = recorded.get(key);
            String is = now.get(key);
            if (Objects.equals(was, is)) continue;
            String what = switch (key) {
                case "q", "k", "v" -> key + " (" + now.get(key + ".path") + ") changed since the run started (its"
                        + " header, size or sampled contents differ)";
                case "config" -> "the configuration changed since the run started (was: " + was + "; now: " + is + ")";
                case "schedule" -> "the window budget or the input types changed since the run started, which cuts"
                        + " the work differently (was: " + was + "; now: " + is + ")";
                case "kernel" -> "the kernel changed since the run started (was " + was + ", now " + is + ")";
                case "output" -> "the output type changed since the run started (was " + was + ", now " + is + ")";
                default -> "it was written by another version (" + was + ")";
            };
            throw new RunConflictException("cannot resume the run in " + dir + ": " + what
                    + "; use --restart to start over");
        }
    }

    private static void requireSpace(Path out, long needed) throws IOException {
        Path parent = out.toAbsolutePath().getParent();
        if (parent == null || !Files.isDirectory(parent)) {
            throw new java.nio.file.NoSuchFileException(String.valueOf(parent), null,
                    "cannot create " + out + ": its directory does not exist");
        }
        long free = Files.getFileStore(parent).getUsableSpace();
        if (free < needed) {
            throw new IOException("not enough disk space in " + parent + ": the run needs " + AttentionJob.human(needed)
                    + " (output, f32 accumulator, lse scratch and undo), " + AttentionJob.human(free) + " is free");
        }
    }

    /** CRC32C of the bytes of the given segments, in order. */
    static long crc(MemorySegment... segments) {
        CRC32C crc = new CRC32C();
        for (MemorySegment s : segments) {
            for (long at = 0; at < s.byteSize(); at += 1 << 30) {
                crc.update(s.asSlice(at, Math.min(1L << 30, s.byteSize() - at)).asByteBuffer());
            }
        }
        return crc.getValue();
    }

    private static void write(FileChannel channel, MemorySegment s, long position) throws IOException {
        for (long at = 0; at < s.byteSize(); at += 1 << 30) {
            ByteBuffer b = s.asSlice(at, Math.min(1L << 30, s.byteSize() - at)).asByteBuffer();
            while (b.hasRemaining()) channel.write(b, position + at + b.position());
        }
    }

    private static void read(FileChannel channel, MemorySegment s, long position) throws IOException {
        for (long at = 0; at < s.byteSize(); at += 1 << 30) {
            ByteBuffer b = s.asSlice(at, Math.min(1L << 30, s.byteSize() - at)).asByteBuffer();
            while (b.hasRemaining()) {
                if (channel.read(b, position + at + b.position()) < 0) throw new IOException("undo file is short");
            }
        }
    }
}
