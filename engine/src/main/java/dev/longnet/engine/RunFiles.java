package dev.longnet.engine;

import dev.longnet.storage.DType;
import dev.longnet.storage.NpyFile;
import java.io.IOException;
import java.nio.file.DirectoryNotEmptyException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.util.List;

/**
 * The names a run of {@code OUT} writes before its output is complete: {@code OUT.partial} (the f32 output, or the
 * output of a run that writes it directly; otherwise, for other output types, the f32 accumulator
 * {@code OUT.run/acc.npy.partial}) and the run directory {@code OUT.run/} with the journal, the counters, the lse
 * scratch, the undo image and the lock.
 */
public record RunFiles(Path out, Path directory) {
    public static final String SUFFIX = ".run";
    static final String JOURNAL = "journal";
    static final String COUNTERS = "counters";
    static final String UNDO = "undo";
    static final String LOCK = "lock";
    static final String LSE = "lse.npy";
    static final String ACC = "acc.npy";

    public static RunFiles of(Path out) { return new RunFiles(out, directory(out)); }

    /** The run directory of an output: {@code OUT.run} beside it. */
    public static Path directory(Path out) { return out.resolveSibling(out.getFileName() + SUFFIX); }

    /** The counters file of a run directory. */
    public static Path countersFile(Path runDirectory) { return runDirectory.resolve(COUNTERS); }

    /** True when an earlier run of {@code out} left a journal (or a batch's record) that a later run can resume from. */
    public static boolean resumable(Path out) {
        Path dir = directory(out);
        return Files.isRegularFile(dir.resolve(JOURNAL)) || Files.isRegularFile(dir.resolve(BatchJob.IDENTITY));
    }

    /**
     * Where a batch's run stands ({@code dir} its run directory): its sequences, those done, and the run directory
     * of the sequence begun last and not done (null when none); null when {@code dir} holds no batch.
     */
    public record BatchState(int sequences, int done, Path current) {
        public static BatchState read(Path dir) throws IOException {
            Path identity = dir.resolve(BatchJob.IDENTITY);
            if (!Files.isRegularFile(identity)) return null;
            String lengths = BatchJob.read(identity).getOrDefault("lengths", "[]");
            int sequences = lengths.equals("[]") ? 0 : lengths.split(",").length;
            int done = 0;
            Path current = null;
            for (int b = 0; b < sequences; b++) {
                Path out = BatchJob.sequenceOut(dir, b);
                if (Files.isRegularFile(out)) {
                    done++;
                } else if (Files.isDirectory(directory(out))) {
                    current = directory(out);
                }
            }
            return new BatchState(sequences, done, current);
        }
    }

    /** What a run of {@code out} writes before the output is complete: OUT.partial and the run directory. */
    public static List<Path> temporaryFiles(Path out) { return List.of(NpyFile.partialPath(out), directory(out)); }

    Path journal() { return directory.resolve(JOURNAL); }

    Path counters() { return countersFile(directory); }

    Path undo() { return directory.resolve(UNDO); }

    Path lock() { return directory.resolve(LOCK); }

    /** Takes the lock of the run of {@code out} ({@code OUT.run/lock}): one run per output. */
    static dev.longnet.engine.job.JobLock lock(Path out) throws IOException {
        RunFiles files = of(out);
        try {
            return dev.longnet.engine.job.JobLock.acquire(files.lock(), files.out());
        } catch (RunConflictException e) {
            throw e;
        } catch (dev.longnet.engine.job.JobConflictException e) {
            throw new RunConflictException(e.getMessage());            // attend's callers catch its own type
        }
    }

    Path lse() { return directory.resolve(LSE); }

    /** Where the f32 rows accumulate; committing it gives OUT itself when the output is f32. */
    Path accumulator(DType outputType) { return outputType == DType.F32 ? out : directory.resolve(ACC); }

    /** Refuses an output that is a directory, a device or anything but a regular file, or that exists already. */
    public static void checkOutput(Path out, boolean overwrite) throws IOException {
        dev.longnet.engine.job.Job.checkOutput(out, overwrite);
    }

    /**
     * True when {@code file} (a real path) is the output or one of its working files: such an input would be
     * overwritten by the run.
     */
    static boolean isWorkFileOf(Path out, Path file) throws IOException {
        Path parent = out.toAbsolutePath().getParent();
        if (parent == null || !Files.isDirectory(parent)) return false;
        Path real = parent.toRealPath().resolve(out.getFileName());
        return file.equals(real) || file.equals(NpyFile.partialPath(real)) || file.startsWith(directory(real));
    }

    /** Removes the run's working files but keeps the directory and its lock (the run holding it goes on). */
    void deleteWork() throws IOException {
        Files.deleteIfExists(NpyFile.partialPath(out));
        for (String name : List.of(JOURNAL, JOURNAL + ".tmp", COUNTERS, COUNTERS + ".tmp", UNDO,
                LSE + dev.longnet.storage.AtomicFile.PARTIAL_SUFFIX, ACC + dev.longnet.storage.AtomicFile.PARTIAL_SUFFIX)) {
            Files.deleteIfExists(directory.resolve(name));
        }
    }

    /** Removes the run directory once it holds nothing but the lock; another run may already be starting in it. */
    void deleteDirectory() throws IOException {
        Files.deleteIfExists(lock());
        try {
            Files.deleteIfExists(directory);
        } catch (DirectoryNotEmptyException e) {
            // a run started by another process since: the directory is its now
        }
    }

    /** Removes a run of {@code out} that no process holds: OUT.partial and the run directory. */
    public static void delete(Path out) throws IOException {
        RunFiles files = of(out);
        files.deleteWork();
        if (Files.isDirectory(files.directory)) files.deleteDirectory();
    }
}
