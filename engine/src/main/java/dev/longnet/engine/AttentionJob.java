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

    /** Runs one file job (see {@link AttentionRequest}); resumes an earlier interrupted run of the same job. */
    public static AttentionResult run(AttentionConfig config, DilatedAttention.Options options, AttentionRequest request) throws IOException {
        long start = System.nanoTime();
        RunFiles.checkOutput(request.out(), request.overwrite());
        try (NpyFile qf = openInput(request.q(), request.out()); NpyFile kf = openInput(request.k(), request.out());
             NpyFile vf = openInput(request.v(), request.out())) {
            AttentionInputs inputs = check(config, qf, kf, vf);
            if (request.checkFinite()) requireFinite(config, inputs, qf, kf, vf);
            Schedule schedule = DilatedAttention.schedule(config, options.windowBudgetBytes(), qf, kf, vf);
            JobPlan plan = new JobPlan(request, inputs, schedule,
                    RunIdentity.of(config, options.kernel().name(), schedule, request.outputType(), qf, kf, vf),
                    JobPlan.spaceNeeded(inputs, request.outputType(), schedule));
            RunDirectory run = RunDirectory.open(plan, RunFiles.lock(request.out()));
            TimedLog timed = new TimedLog(run);
            ResumedWork resumed = new ResumedWork();
            try {
                // Last, once nothing else opens the inputs: closing any descriptor of a file drops this process's locks.
                for (NpyFile input : new NpyFile[]{qf, kf, vf}) input.lockShared();
                DilatedAttention.Options journaled = options.withUnitLog(resumed.log(timed))
                        .withListener(resumed.listener(run.listener(options.listener())));
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
            return new AttentionResult(inputs.n(), inputs.heads(), inputs.headDim(), seconds, config.flops(inputs.n()),
                    options.kernel().name(), request.outputType(), run.unitsTotal(), run.unitsResumed(), timed.nanos / 1e9,
                    resumed.tokens);
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
    static void requireFinite(AttentionConfig config, AttentionInputs inputs, NpyFile q, NpyFile k, NpyFile v) throws IOException {
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
