package dev.longnet.engine;

import dev.longnet.engine.job.JobLock;
import dev.longnet.storage.Convert;
import dev.longnet.storage.Disk;
import dev.longnet.storage.DType;
import dev.longnet.storage.NpyFile;
import dev.longnet.storage.RowWindow;
import dev.longnet.storage.RunJournal;
import dev.longnet.storage.TensorFormatException;
import dev.longnet.storage.TensorRows;
import java.io.IOException;
import java.nio.file.Files;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * A resumable file job's state on disk ({@link RunFiles}, docs/DESIGN.md "The run journal"), seen by the operator
 * as its {@link UnitLog}: the journal of completed units, the f32 accumulator and lse scratch, the undo image of
 * the unit in progress, the live counters, all under the run's lock. A run that writes its output directly
 * ({@link JobPlan#direct()}) keeps out and lse of the unit in progress in memory ({@link UnitScratch}) and, as the
 * unit ends, converts its rows into the partial output: the journal's checksums then cover the output's rows.
 *
 * <p>Units (pass, window) run one after another. A unit of the first pass starts from zeros; a unit of a later
 * pass starts from what the earlier passes left in its rows, so before it writes, its out and lse rows are saved
 * to the undo image (forced) and a BEGIN record carrying their checksum is appended (forced). After its last
 * write, its rows are forced and a DONE record carrying their CRC32C is appended (forced), on the {@link CommitThread}
 * while the next unit computes. A later-pass unit begins only once the unit before it is committed (it would
 * replace the undo image). Hence after a crash the DONE records are a prefix of the schedule, and the units after
 * it are untouched, or first-pass units (up to two: the one committing and the next; zeroed again), or one
 * later-pass unit whose undo image is valid (restored): redoing them gives the same bits.
 * On resume every finished unit whose rows no later unit has rewritten is checked against its CRC.
 */
final class RunDirectory implements UnitLog, AutoCloseable {
    private final RunFiles files;
    private final JobLock lock;
    private final DType outputType;
    private final Schedule schedule;
    private final long n;
    private final long[] passStart;
    private final RunJournal journal;
    /** The rows the journal's checksums cover: the f32 accumulator, or the output itself when written directly. */
    private final NpyFile kept;
    /** The lse scratch on disk; null when the output is written directly. */
    private final NpyFile lse;
    /** Out and lse of the unit in progress when the output is written directly; else null. */
    private final UnitScratch unitOut;
    private final UnitScratch unitLse;
    private final float[] convertBuffer;
    private final List<RunJournal.Entry> done;
    private final long unitsResumed;
    private final UndoImage undo;
    private final CommitThread commits = new CommitThread();
    private RunCounters counters;
    private Schedule.Unit restored;
    private boolean closed;

    private RunDirectory(RunFiles files, JobLock lock, JobPlan plan, RunJournal journal, NpyFile kept, NpyFile lse,
                         List<RunJournal.Entry> done) {
        this.files = files;
        this.lock = lock;
        this.outputType = plan.outputType();
        this.schedule = plan.schedule();
        this.n = plan.n();
        this.journal = journal;
        this.kept = kept;
        this.lse = lse;
        if (plan.direct()) {
            long windowRows = schedule.passes().getFirst().windowRows();
            unitOut = new UnitScratch(plan.outputShape(), windowRows);
            unitLse = new UnitScratch(new long[]{n, plan.inputs().heads()}, windowRows);
            convertBuffer = new float[16 * 1024];
        } else {
            unitOut = unitLse = null;
            convertBuffer = null;
        }
        this.done = java.util.Collections.synchronizedList(new ArrayList<>(done));
        this.unitsResumed = done.size();
        this.undo = new UndoImage(files.undo());
        this.passStart = new long[schedule.passes().size() + 1];
        for (int p = 0; p < schedule.passes().size(); p++) passStart[p + 1] = passStart[p] + schedule.passes().get(p).units(n);
    }

    /**
     * Resumes the run the journal describes, or starts a new one (replacing any earlier run when the request says
     * restart). A journal whose identity differs from the plan's is refused with a {@link RunConflictException}
     * unless restarting. Takes over {@code lock}: closing the run directory releases it.
     */
    static RunDirectory open(JobPlan plan, JobLock lock) throws IOException {
        RunFiles files = RunFiles.of(plan.request().out());
        try {
            RunJournal.requireAccess();                                         // before any file is made
            RunFiles.checkOutput(files.out(), plan.request().overwrite());     // another run may have committed it
            if (!plan.request().restart() && Files.isRegularFile(files.journal())) {
                RunDirectory resumed = resume(files, lock, plan);
                if (resumed != null) return resumed;
            }
            files.deleteWork();
            Disk.requireSpace(files.out(), plan.spaceNeeded(), "the run (output, f32 accumulator, lse scratch, undo)");
            return create(files, lock, plan);
        } catch (IOException | RuntimeException | Error e) {
            if (!Files.isRegularFile(files.journal())) {                      // nothing to resume: leave nothing
                try {
                    files.deleteWork();                 // may fail as creating them did (a name too long, ...)
                } catch (IOException | RuntimeException ignored) {
                    // what could not be named was not created
                }
                try {
                    files.deleteDirectory();
                } catch (IOException | RuntimeException ignored) {
                    // the original failure is what matters
                }
            }
            lock.close();
            throw e;
        }
    }

    private static RunDirectory create(RunFiles files, JobLock lock, JobPlan plan) throws IOException {
        NpyFile accFile = NpyFile.create(rowsTarget(files, plan), rowsType(plan), plan.outputShape());
        NpyFile lseFile = null;
        try {
            if (!plan.direct()) lseFile = NpyFile.create(files.lse(), DType.F32, plan.n(), plan.inputs().heads());
            RunJournal journal = RunJournal.create(files.journal(), plan.identity());
            RunDirectory run = new RunDirectory(files, lock, plan, journal, accFile, lseFile, List.of());
            run.startCounters(0, 0);
            return run;
        } catch (IOException | RuntimeException e) {
            accFile.close();
            if (lseFile != null) lseFile.close();
            throw e;
        }
    }

    /** The resumed run, or null when the partial output is gone (nothing to resume). */
    private static RunDirectory resume(RunFiles files, JobLock lock, JobPlan plan) throws IOException {
        RunJournal journal;
        try {
            journal = RunJournal.open(files.journal());
        } catch (TensorFormatException e) {
            throw new RunConflictException(files.directory() + ": the run's journal is unreadable (" + e.getMessage()
                    + ")", true);
        }
        NpyFile accFile = null;
        NpyFile lseFile = null;
        try {
            RunIdentity.requireSame(files.directory(), journal.header(), plan.identity());
            java.nio.file.Path accTarget = rowsTarget(files, plan);
            if (!Files.isRegularFile(NpyFile.partialPath(accTarget))
                    || !plan.direct() && !Files.isRegularFile(NpyFile.partialPath(files.lse()))) {
                journal.close();
                return null;
            }
            accFile = NpyFile.resume(accTarget);
            if (!plan.direct()) lseFile = NpyFile.resume(files.lse());
            long[] shape = plan.outputShape();
            if (!Arrays.equals(accFile.shape(), shape) || accFile.dtype() != rowsType(plan) || lseFile != null
                    && (!Arrays.equals(lseFile.shape(), new long[]{shape[0], shape[1]}) || lseFile.dtype() != DType.F32)) {
                throw new RunConflictException(files.directory() + ": the partial output does not have the run's shape",
                        true);
            }
            List<RunJournal.Entry> done = new ArrayList<>();
            List<RunJournal.Entry> begun = new ArrayList<>();             // BEGIN records without their DONE yet
            long errors = 0;
            long resumes = 0;
            long total = plan.schedule().unitCount(plan.n());
            for (RunJournal.Entry e : journal.records()) {
                switch (e.kind()) {
                    case DONE -> {
                        Schedule.Unit expected = done.size() < total ? plan.schedule().unitAt(done.size(), plan.n()) : null;
                        if (expected == null || !sameUnit(expected, e)) {
                            throw new RunConflictException(files.directory() + ": the journal does not follow the run's"
                                    + " schedule (a DONE record for pass " + e.pass() + " unit " + e.unit()
                                    + " is out of order)", true);
                        }
                        done.add(e);
                        begun.removeIf(b -> b.pass() == e.pass() && b.unit() == e.unit());
                    }
                    case BEGIN -> begun.add(e);
                    case ERROR -> errors++;
                    case RESUME -> resumes++;
                    case COMPLETE -> { }
                }
            }
            long remaining = total - done.size();
            Disk.requireSpace(files.out(), total == 0 ? 0 : (long) Math.ceil((double) plan.spaceNeeded() * remaining / total),
                    "the rest of the run");
            RunDirectory run = new RunDirectory(files, lock, plan, journal, accFile, lseFile, done);
            run.recover(begun);
            journal.append(RunJournal.Entry.note(RunJournal.Kind.RESUME, "resumed at unit " + done.size() + " of " + total));
            journal.force();
            run.startCounters(errors, resumes + 1);
            return run;
        } catch (IOException | RuntimeException | Error e) {
            if (accFile != null) accFile.close();
            if (lseFile != null) lseFile.close();
            journal.close();
            throw e;
        }
    }

    /**
     * Brings the rows of the units begun after the last finished one back to what they were before they started,
     * then checks every finished unit whose rows still hold what its DONE record describes.
     */
    private void recover(List<RunJournal.Entry> begun) throws IOException {
        for (long ordinal = done.size(); ordinal < Math.min(unitsTotal(), done.size() + 2L); ordinal++) {
            Schedule.Unit unit = schedule.unitAt(ordinal, n);
            RunJournal.Entry began = begun.stream().filter(e -> sameUnit(unit, e)).findFirst().orElse(null);
            if (unit.pass() == 0) {
                // First-pass rows start from zeros; an interrupted attempt may have merged into some of them (the
                // next unit, and the one after it while the next was committing). A direct run's unit starts from
                // zeros in memory and writes its output rows whole as it ends.
                if (lse != null && (ordinal == done.size() || began != null)) zero(unit);
            } else if (ordinal == done.size() && began != null) {
                try (RowWindow o = kept.window(unit.firstRow(), unit.rows()); RowWindow l = lse.window(unit.firstRow(), unit.rows())) {
                    undo.restore(unit, o, l, began.checksum());
                }
                restored = unit;
            }
            // Otherwise the unit never began: its BEGIN is written before its first write (forced in later passes).
        }
        verifyFinished();
    }

    private void zero(Schedule.Unit unit) throws IOException {
        try (RowWindow o = kept.window(unit.firstRow(), unit.rows()); RowWindow l = lse.window(unit.firstRow(), unit.rows())) {
            o.segment().fill((byte) 0);
            l.segment().fill((byte) 0);
            o.force();
            l.force();
        }
    }

    /**
     * Checks the CRC of every finished unit of the last pass that has any (they cover rows [0, frontier)), and of
     * every unit of the pass before it that lies wholly past the rows the last pass has touched (including a unit
     * restored from its undo image, whose own checksum was checked). The rows of a unit of the earlier pass that
     * straddles the frontier are not checked: part of them has been rewritten since its DONE.
     */
    private void verifyFinished() throws IOException {
        if (done.isEmpty()) return;
        int lastPass = done.getLast().pass();
        long touched = done.getLast().firstRow() + done.getLast().rows();
        if (restored != null && restored.pass() == lastPass) touched = restored.firstRow() + restored.rows();
        for (RunJournal.Entry e : done) {
            boolean intact = e.pass() == lastPass || (e.pass() == lastPass - 1 && e.firstRow() >= touched);
            if (!intact) continue;
            if (checksum(e.firstRow(), e.rows()) != e.checksum()) {
                throw new RunConflictException(files.directory() + ": the partial output does not match the journal"
                        + " (pass " + e.pass() + " unit " + e.unit() + ", rows " + e.firstRow() + ".."
                        + (e.firstRow() + e.rows() - 1) + ", fails its checksum): it was changed, or lost by the"
                        + " disk", true);
            }
        }
    }

    /** The CRC32C of the rows a DONE record covers: out and lse rows, or the output's rows when written directly. */
    private long checksum(long firstRow, long rows) throws IOException {
        try (RowWindow o = kept.window(firstRow, rows)) {
            if (lse == null) return Disk.crc32c(o.segment());
            try (RowWindow l = lse.window(firstRow, rows)) {
                return Disk.crc32c(o.segment(), l.segment());
            }
        }
    }

    /** Where the operator merges out rows: the f32 accumulator (OUT.partial or OUT.run/acc.npy.partial), or memory. */
    TensorRows accumulator() { return unitOut != null ? unitOut : kept; }

    /** Where the operator keeps lse: the scratch file, or the unit's scratch. */
    TensorRows lseScratch() { return unitLse != null ? unitLse : lse; }

    /** Units an earlier run had completed when this one started. */
    long unitsResumed() { return unitsResumed; }

    long unitsTotal() { return passStart[passStart.length - 1]; }

    @Override
    public long completed(Schedule.Unit unit) {
        long ordinal = passStart[unit.pass()] + unit.index();
        return ordinal < done.size() ? done.get((int) ordinal).tiles() : -1;
    }

    @Override
    public void begin(Schedule.Unit unit, RowWindow out, RowWindow lseRows) throws IOException {
        counters.pass(unit.pass());
        if (unit.pass() == 0) {
            // Nothing to save: a first-pass unit starts from zeros, and recovery zeroes it again.
            append(unitEntry(RunJournal.Kind.BEGIN, unit, 0, 0), false);
            return;
        }
        commits.await();                             // the undo image may still be the unit before's
        if (unit.equals(restored)) return;           // its before-image and BEGIN are on disk from the earlier try
        long checksum = undo.save(out, lseRows);
        append(unitEntry(RunJournal.Kind.BEGIN, unit, 0, checksum), true);
    }

    @Override
    public void end(Schedule.Unit unit, long tiles, RowWindow out, RowWindow lseRows) throws IOException {
        restored = null;
        // The commit maps the unit's rows anew: the operator unmaps its windows (and reuses a direct run's unit
        // scratch) as soon as this returns; the pages it wrote stay in the page cache until forced.
        RowWindow o = kept.window(unit.firstRow(), unit.rows());
        RowWindow l = null;
        try {
            if (unitOut != null) {
                Convert.copy(DType.F32, out.segment(), 0, outputType, o.segment(), 0,
                        out.segment().byteSize() / DType.F32.bytes(), convertBuffer);
            } else {
                l = lse.window(unit.firstRow(), unit.rows());
            }
        } catch (IOException | RuntimeException | Error e) {
            o.close();
            throw e;
        }
        RowWindow rowsLse = l;
        commits.submit(() -> {
            long checksum;
            try (o; RowWindow lr = rowsLse) {
                o.force();
                if (lr != null) lr.force();
                checksum = lr == null ? Disk.crc32c(o.segment()) : Disk.crc32c(o.segment(), lr.segment());
            }
            RunJournal.Entry entry = unitEntry(RunJournal.Kind.DONE, unit, tiles, checksum);
            append(entry, true);
            done.add(entry);
        });
    }

    /** Appends a record (the operator's thread and the commit thread both write), forcing it when asked. */
    private void append(RunJournal.Entry entry, boolean force) throws IOException {
        synchronized (journal) {
            journal.append(entry);
            if (force) journal.force();
        }
    }

    /** Wraps a listener so that progress also lands in the counters. */
    Progress.Listener listener(Progress.Listener downstream) { return counters.listener(downstream); }

    /**
     * Every unit is done: commits the output under its name (converting if asked), removes the run's files and
     * releases its lock. Nothing but the output is left.
     */
    void finish() throws IOException {
        commits.await();
        append(RunJournal.Entry.note(RunJournal.Kind.COMPLETE, "all " + unitsTotal() + " units done"), true);
        if (kept.dtype() == outputType) {
            kept.commit();
        } else {
            kept.convertTo(files.out(), outputType);
        }
        counters.done();
        closeFiles();
        files.deleteWork();
        files.deleteDirectory();
        lock.close();
    }

    /** The run failed: records why (best effort) and keeps everything for a later resume. */
    void failed(Throwable e) {
        commits.close();                               // the unit committing keeps its DONE, or lacks it whole
        try {
            counters.failed();
            append(RunJournal.Entry.note(RunJournal.Kind.ERROR, String.valueOf(e.getMessage() != null ? e.getMessage() : e)), true);
        } catch (Throwable ignored) {
            // the disk may be full or failing: the journal stays as it was, which is consistent
        }
    }

    /** Closes the files and releases the lock; the partial output and the run directory stay on disk. */
    @Override
    public void close() {
        closeFiles();
        lock.close();
    }

    private void closeFiles() {
        if (closed) return;
        closed = true;
        commits.close();
        if (counters != null) counters.close();
        closeQuietly(kept);
        if (lse != null) closeQuietly(lse);
        if (unitOut != null) {
            closeQuietly(unitOut);
            closeQuietly(unitLse);
        }
        closeQuietly(undo);
        journal.close();
    }

    private static void closeQuietly(AutoCloseable c) {
        try {
            c.close();
        } catch (Exception e) {
            // closing keeps what was written; a failure to close loses nothing that was forced
        }
    }

    private void startCounters(long errors, long resumes) throws IOException {
        counters = RunCounters.start(files.counters(), n, unitsTotal(), done.size(), errors, resumes,
                RunCounters.SAMPLE_NANOS);
    }

    /** The file the run's rows go to: the output when written directly or f32, else the f32 accumulator. */
    private static java.nio.file.Path rowsTarget(RunFiles files, JobPlan plan) {
        return plan.direct() ? files.out() : files.accumulator(plan.outputType());
    }

    private static DType rowsType(JobPlan plan) { return plan.direct() ? plan.outputType() : DType.F32; }

    private static RunJournal.Entry unitEntry(RunJournal.Kind kind, Schedule.Unit unit, long tiles, long checksum) {
        return RunJournal.Entry.unit(kind, unit.pass(), unit.levelMask(), unit.index(), unit.firstRow(), unit.rows(),
                tiles, checksum);
    }

    private static boolean sameUnit(Schedule.Unit unit, RunJournal.Entry e) {
        return e.pass() == unit.pass() && e.unit() == unit.index() && e.firstRow() == unit.firstRow()
                && e.rows() == unit.rows() && e.levels() == unit.levelMask();
    }
}
