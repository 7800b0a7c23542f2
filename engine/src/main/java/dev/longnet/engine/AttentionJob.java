package dev.longnet.engine;

import dev.longnet.storage.DType;
import dev.longnet.storage.NonFinite;
import dev.longnet.storage.NpyFile;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;

/**
 * Attention from .npy files to an .npy file, the way the CLI and embedders run it. In order: the output path is
 * checked (a regular file or nothing), the inputs are opened once, checked against each other, the configuration
 * and the output's working files, and share-locked; the work is planned once ({@link JobPlan}); the run's lock is
 * taken ({@link dev.longnet.engine.job.JobLock}: one run per output); the run directory is opened or resumed ({@link RunDirectory}); the
 * operator follows the plan's schedule and records each unit; the output is committed under its name only when
 * complete.
 *
 * <p>A run that fails or is killed keeps its partial output and run directory {@code OUT.run/}; the same call
 * later takes it up where it stopped, and the output is bit-identical to an uninterrupted run. A run whose inputs
 * or configuration changed is refused ({@link RunConflictException}) unless {@code restart}. Inputs must not be
 * modified while a run reads them: a shrunk input is refused before a window is mapped, other changes are caught
 * by the fingerprint only at the next resume.
 */
public final class AttentionJob {
    private AttentionJob() { }

    /**
     * What a finished run did.
     *
     * @param unitsTotal      units (pass, window) of the run
     * @param unitsResumed    units an earlier, interrupted run had completed (skipped by this one)
     * @param journalSeconds  time spent saving before-images, forcing rows and appending to the journal
     */
    public record Result(long tokens, int heads, int headDim, double seconds, double flops, String kernel,
                         DType outputType, long unitsTotal, long unitsResumed, double journalSeconds) {
        public double tokensPerSecond() { return tokens / seconds; }

        public double gflops() { return flops / seconds / 1e9; }

        public boolean resumed() { return unitsResumed > 0; }
    }

    /** The inputs' checked shape. */
    public record Inputs(long n, int heads, int headDim, DType dtype) {
        /** q's shape, checked as a run checks it: (N, heads, headDim), N at least 1. */
        public static Inputs of(NpyFile q) {
            long[] shape = q.shape();
            if (shape.length != 3) {
                throw new IllegalArgumentException(q.path() + ": expected shape (N, heads, headDim), got "
                        + Arrays.toString(shape));
            }
            if (shape[1] > Integer.MAX_VALUE || shape[2] > Integer.MAX_VALUE) {
                throw new IllegalArgumentException(q.path() + ": shape " + Arrays.toString(shape) + " has too many heads"
                        + " or too large a head dimension");
            }
            if (shape[0] == 0) {
                throw new IllegalArgumentException(q.path() + ": shape " + Arrays.toString(shape) + " has no rows;"
                        + " attention needs at least one token");
            }
            return new Inputs(shape[0], (int) shape[1], (int) shape[2], q.dtype());
        }

        /** The shape of the q file at {@code path}, from its header. */
        public static Inputs of(Path path) throws IOException {
            try (NpyFile q = NpyFile.open(path)) {
                return of(q);
            }
        }
    }

    /**
     * One file job.
     *
     * @param overwrite   replace an existing output
     * @param restart     start over even if a run directory holds an earlier run of this output
     * @param checkFinite scan q, k and v for NaN and infinities first, and refuse to compute if there are any
     */
    public record Request(Path q, Path k, Path v, Path out, DType outputType, boolean overwrite, boolean restart,
                          boolean checkFinite) {
        public Request {
            if (outputType == null) outputType = DType.F32;
        }

        public static Request of(Path q, Path k, Path v, Path out) {
            return new Request(q, k, v, out, DType.F32, false, false, false);
        }

        public Request withOutputType(DType t) { return new Request(q, k, v, out, t, overwrite, restart, checkFinite); }
        public Request withOverwrite(boolean o) { return new Request(q, k, v, out, outputType, o, restart, checkFinite); }
        public Request withRestart(boolean r) { return new Request(q, k, v, out, outputType, overwrite, r, checkFinite); }
        public Request withCheckFinite(boolean c) { return new Request(q, k, v, out, outputType, overwrite, restart, c); }
    }

    /**
     * Runs attention on q, k, v into out. Refuses an existing out unless {@code overwrite}; on failure leaves
     * nothing under out's name, and the run directory for a later resume.
     */
    public static Result run(AttentionConfig config, DilatedAttention.Options options, Path q, Path k, Path v, Path out,
                             DType outputType, boolean overwrite) throws IOException {
        return run(config, options, Request.of(q, k, v, out).withOutputType(outputType).withOverwrite(overwrite));
    }

    /** Runs one file job (see {@link Request}); resumes an earlier interrupted run of the same job. */
    public static Result run(AttentionConfig config, DilatedAttention.Options options, Request request) throws IOException {
        long start = System.nanoTime();
        RunFiles.checkOutput(request.out(), request.overwrite());
        try (NpyFile qf = openInput(request.q(), request.out()); NpyFile kf = openInput(request.k(), request.out());
             NpyFile vf = openInput(request.v(), request.out())) {
            Inputs inputs = check(config, qf, kf, vf);
            if (request.checkFinite()) requireFinite(config, inputs, qf, kf, vf);
            Schedule schedule = DilatedAttention.schedule(config, options.windowBudgetBytes(), qf, kf, vf);
            JobPlan plan = new JobPlan(request, inputs, schedule,
                    RunIdentity.of(config, options.kernel().name(), schedule, request.outputType(), qf, kf, vf),
                    JobPlan.spaceNeeded(inputs, request.outputType(), schedule));
            RunDirectory run = RunDirectory.open(plan, RunFiles.lock(request.out()));
            TimedLog timed = new TimedLog(run);
            try {
                // Last, once nothing else opens the inputs: closing any descriptor of a file drops this process's locks.
                for (NpyFile input : new NpyFile[]{qf, kf, vf}) input.lockShared();
                DilatedAttention.Options journaled = options.withUnitLog(timed).withListener(run.listener(options.listener()));
                try (DilatedAttention attention = new DilatedAttention(config, journaled)) {
                    attention.attend(schedule, qf, kf, vf, run.accumulator(), run.lseScratch());
                }
                run.finish();
            } catch (IOException | RuntimeException | Error e) {
                run.failed(e);
                run.close();
                throw e;
            }
            double seconds = (System.nanoTime() - start) / 1e9;
            return new Result(inputs.n(), inputs.heads(), inputs.headDim(), seconds, config.flops(inputs.n()),
                    options.kernel().name(), request.outputType(), run.unitsTotal(), run.unitsResumed(), timed.nanos / 1e9);
        }
    }

    /**
     * Opens an input read-only; refuses one that is the output or one of its
     * working files (the run would overwrite it).
     */
    private static NpyFile openInput(Path input, Path out) throws IOException {
        if (Files.isRegularFile(input) && RunFiles.isWorkFileOf(out, input.toRealPath())) {
            throw new IllegalArgumentException(input + " is the output " + out + " or one of its working files"
                    + " (OUT.partial, OUT.run/); the run would overwrite it: give the output another name");
        }
        return NpyFile.open(input);
    }

    /**
     * Fails with the file, row and head of the first NaN or infinity in q, k or v; and when q and k (or v) are so
     * large that a finite input could overflow float in the kernel (|q·k|·scale, or the sum of a view's value rows,
     * beyond 3.4e38), which would turn finite inputs into NaN.
     */
    static void requireFinite(AttentionConfig config, Inputs inputs, NpyFile q, NpyFile k, NpyFile v) throws IOException {
        float[] maxAbs = new float[3];
        NpyFile[] files = {q, k, v};
        for (int i = 0; i < 3; i++) {
            NonFinite.Scan scan = NonFinite.scan(files[i]);
            NonFinite.Found found = scan.first();
            if (found != null) {
                long head = found.element() / inputs.headDim();
                long dim = found.element() % inputs.headDim();
                throw new IllegalArgumentException(files[i].path() + ": row " + found.row() + ", head " + head + " holds "
                        + found.describe() + " (dimension " + dim + "); attention needs finite inputs, nothing was"
                        + " computed");
            }
            maxAbs[i] = scan.maxAbs();
        }
        double logit = (double) maxAbs[0] * maxAbs[1] * inputs.headDim() * config.scale();
        if (logit >= Float.MAX_VALUE) {
            throw new IllegalArgumentException(q.path() + ", " + k.path() + ": |q| up to " + maxAbs[0] + " and |k| up to "
                    + maxAbs[1] + " can make a logit of " + (float) logit + ", beyond float's range: scale the inputs"
                    + " down; nothing was computed");
        }
        long viewRows = 1;
        for (Level level : config.levels()) {
            viewRows = Math.max(viewRows, Level.viewRows(level.effectiveSegment(inputs.n()), level.dilation(), 0));
        }
        if ((double) maxAbs[2] * viewRows >= Float.MAX_VALUE) {
            throw new IllegalArgumentException(v.path() + ": |v| up to " + maxAbs[2] + " summed over views of " + viewRows
                    + " rows can exceed float's range: scale the values down; nothing was computed");
        }
    }

    /** Counts the time the run directory spends on each unit's begin and end (before-images, forces, journal). */
    private static final class TimedLog implements UnitLog {
        private final UnitLog log;
        long nanos;

        TimedLog(UnitLog log) { this.log = log; }

        @Override
        public long completed(Schedule.Unit unit) { return log.completed(unit); }

        @Override
        public void begin(Schedule.Unit unit, dev.longnet.storage.RowWindow out, dev.longnet.storage.RowWindow lse)
                throws IOException {
            long t = System.nanoTime();
            log.begin(unit, out, lse);
            nanos += System.nanoTime() - t;
        }

        @Override
        public void end(Schedule.Unit unit, long tiles, dev.longnet.storage.RowWindow out, dev.longnet.storage.RowWindow lse)
                throws IOException {
            long t = System.nanoTime();
            log.end(unit, tiles, out, lse);
            nanos += System.nanoTime() - t;
        }
    }

    /** Checks that q, k and v agree with each other and with the configuration; returns their shape. */
    public static Inputs check(AttentionConfig config, NpyFile q, NpyFile k, NpyFile v) {
        Inputs inputs = Inputs.of(q);
        long[] shape = q.shape();
        for (NpyFile other : new NpyFile[]{k, v}) {
            if (!Arrays.equals(other.shape(), shape)) {
                throw new IllegalArgumentException(other.path() + ": shape " + Arrays.toString(other.shape())
                        + " does not match q's " + Arrays.toString(shape) + " (" + q.path() + ")");
            }
        }
        if (inputs.heads() != config.heads() || inputs.headDim() != config.headDim()) {
            throw new IllegalArgumentException(q.path() + ": shape " + Arrays.toString(shape) + " has " + shape[1]
                    + " heads of dimension " + shape[2] + ", but the configuration says heads=" + config.heads()
                    + " headDim=" + config.headDim());
        }
        return inputs;
    }
}
