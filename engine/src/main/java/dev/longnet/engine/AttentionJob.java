package dev.longnet.engine;

import dev.longnet.storage.DType;
import dev.longnet.storage.NonFinite;
import dev.longnet.storage.NpyFile;
import dev.longnet.storage.TensorRows;
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
 *
 * <p>Runs of different outputs may be called from several threads at once; a second run of an output whose run is
 * in progress is refused (one run per output).
 */
public final class AttentionJob {
    private AttentionJob() { }

    /**
     * Runs attention on q, k, v into out. Refuses an existing out unless {@code overwrite}; on failure leaves
     * nothing under out's name, and the run directory for a later resume.
     */
    public static AttentionResult run(AttentionConfig config, DilatedAttention.Options options, Path q, Path k, Path v, Path out,
                             DType outputType, boolean overwrite) throws IOException {
        return run(config, options, AttentionRequest.of(q, k, v, out).withOutputType(outputType).withOverwrite(overwrite));
    }

    /**
     * Runs one file job (see {@link AttentionRequest}); resumes an earlier interrupted run of the same job. A batch
     * (B, N, H, d) runs each sequence alone ({@link BatchJob}).
     */
    public static AttentionResult run(AttentionConfig config, DilatedAttention.Options options, AttentionRequest request) throws IOException {
        long start = System.nanoTime();
        RunFiles.checkOutput(request.out(), request.overwrite());
        try (NpyFile qf = openInput(request.q(), request.out()); NpyFile kf = openInput(request.k(), request.out());
             NpyFile vf = openInput(request.v(), request.out())) {
            AttentionInputs inputs = check(config, qf, kf, vf);
            if (inputs.batched()) return BatchJob.run(config, options, request, inputs, qf, kf, vf, start);
            if (request.lengths() != null) {
                throw new IllegalArgumentException(qf.path() + ": sequence lengths are for a batch of shape (B, N, heads,"
                        + " headDim); q has shape " + Arrays.toString(qf.shape()));
            }
            BatchJob.requireNoBatchRun(request);
            if (request.checkFinite()) requireFinite(config, inputs, new TensorRows[]{qf, kf, vf}, labels(qf, kf, vf, ""));
            return sequence(config, options, request, inputs, new TensorRows[]{qf, kf, vf}, RunIdentity.inputs(qf, kf, vf),
                    () -> lockShared(qf, kf, vf), start);
        }
    }

    /** Takes a shared lock on each input (see {@link NpyFile#lockShared}). */
    static void lockShared(NpyFile... inputs) throws IOException {
        for (NpyFile input : inputs) input.lockShared();
    }

    /** The inputs' names in messages: their paths, then {@code where} (", sequence 3" in a batch). */
    static String[] labels(NpyFile q, NpyFile k, NpyFile v, String where) {
        return new String[]{q.path() + where, k.path() + where, v.path() + where};
    }

    /** Work that may fail with an I/O error. */
    @FunctionalInterface
    interface IoAction {
        void run() throws IOException;
    }

    /**
     * One sequence's run: rows {@code qkv} of shape {@code inputs} into {@code request.out()} through its run
     * directory; {@code inputFields} identify the inputs in the journal, and {@code lockInputs} runs once the run
     * directory is open and nothing else will open the inputs (closing any descriptor of a file drops this
     * process's locks on it).
     */
    static AttentionResult sequence(AttentionConfig config, DilatedAttention.Options options, AttentionRequest request,
                                    AttentionInputs inputs, TensorRows[] qkv, java.util.Map<String, String> inputFields,
                                    IoAction lockInputs, long start) throws IOException {
        TensorRows q = qkv[0], k = qkv[1], v = qkv[2];
        Schedule schedule = DilatedAttention.schedule(config, options.windowBudgetBytes(), q, k, v);
        JobPlan plan = new JobPlan(request, inputs, schedule,
                RunIdentity.of(config, options.kernel().name(), schedule, request.outputType(), inputFields),
                JobPlan.spaceNeeded(inputs, request.outputType(), schedule));
        RunDirectory run = RunDirectory.open(plan, RunFiles.lock(request.out()));
        TimedLog timed = new TimedLog(run);
        ResumedWork resumed = new ResumedWork();
        try {
            lockInputs.run();
            DilatedAttention.Options journaled = options.withUnitLog(resumed.log(timed))
                    .withListener(resumed.listener(run.listener(options.listener())));
            try (DilatedAttention attention = new DilatedAttention(config, journaled)) {
                attention.attend(schedule, q, k, v, run.accumulator(), run.lseScratch());
            }
            run.finish();
        } catch (IOException | RuntimeException | Error e) {
            run.failed(e);
            run.close();
            throw e;
        }
        double seconds = (System.nanoTime() - start) / 1e9;
        return new AttentionResult(inputs.n(), inputs.heads(), inputs.headDim(), seconds, config.flops(inputs.n()),
                options.kernel().name(), request.outputType(), run.unitsTotal(), run.unitsResumed(), timed.nanos / 1e9,
                resumed.tokens);
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
     * beyond 3.4e38), which would turn finite inputs into NaN. {@code labels} name q, k and v in messages.
     */
    static void requireFinite(AttentionConfig config, AttentionInputs inputs, TensorRows[] qkv, String[] labels)
            throws IOException {
        float[] maxAbs = new float[3];
        for (int i = 0; i < 3; i++) {
            NonFinite.Scan scan = NonFinite.scan(qkv[i]);
            NonFinite.Found found = scan.first();
            if (found != null) {
                long head = found.element() / inputs.headDim();
                long dim = found.element() % inputs.headDim();
                throw new IllegalArgumentException(labels[i] + ": row " + found.row() + ", head " + head + " holds "
                        + found.describe() + " (dimension " + dim + "); attention needs finite inputs, nothing was"
                        + " computed");
            }
            maxAbs[i] = scan.maxAbs();
        }
        double logit = (double) maxAbs[0] * maxAbs[1] * inputs.headDim() * config.scale();
        if (logit >= Float.MAX_VALUE) {
            throw new IllegalArgumentException(labels[0] + ", " + labels[1] + ": |q| up to " + maxAbs[0] + " and |k| up to "
                    + maxAbs[1] + " can make a logit of " + (float) logit + ", beyond float's range: scale the inputs"
                    + " down; nothing was computed");
        }
        long viewRows = 1;
        for (Level level : config.levels()) {
            viewRows = Math.max(viewRows, Level.viewRows(level.effectiveSegment(inputs.n()), level.dilation(), 0));
        }
        if ((double) maxAbs[2] * viewRows >= Float.MAX_VALUE) {
            throw new IllegalArgumentException(labels[2] + ": |v| up to " + maxAbs[2] + " summed over views of " + viewRows
                    + " rows can exceed float's range: scale the values down; nothing was computed");
        }
    }

    /**
     * The tokens' worth of work of the units an earlier run completed: the progress each skipped unit reports (a
     * unit the log says is complete is followed by exactly one progress report, on the same thread).
     */
    private static final class ResumedWork {
        long tokens;
        private long lastTokens;
        private boolean skipping;

        UnitLog log(UnitLog log) {
            return new UnitLog() {
                @Override
                public long completed(Schedule.Unit unit) {
                    long tiles = log.completed(unit);
                    skipping = tiles >= 0;
                    return tiles;
                }

                @Override
                public void begin(Schedule.Unit unit, dev.longnet.storage.RowWindow out,
                                  dev.longnet.storage.RowWindow lse) throws IOException {
                    log.begin(unit, out, lse);
                }

                @Override
                public void end(Schedule.Unit unit, long tiles, dev.longnet.storage.RowWindow out,
                                dev.longnet.storage.RowWindow lse) throws IOException {
                    log.end(unit, tiles, out, lse);
                }
            };
        }

        Progress.Listener listener(Progress.Listener downstream) {
            return p -> {
                if (skipping) tokens += p.tokensDone() - lastTokens;
                skipping = false;
                lastTokens = p.tokensDone();
                downstream.onProgress(p);
            };
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
    public static AttentionInputs check(AttentionConfig config, NpyFile q, NpyFile k, NpyFile v) {
        AttentionInputs inputs = AttentionInputs.of(q);
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
