package dev.longnet.engine;

import dev.longnet.storage.DType;
import dev.longnet.storage.FileFingerprint;
import dev.longnet.storage.NonFinite;
import dev.longnet.storage.NpyFile;
import dev.longnet.storage.RowWindow;
import java.io.IOException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Attention from .npy files to an .npy file, the way the CLI and embedders run it: inputs are checked against
 * each other and the configuration, free space is checked before any work, the output accumulates in f32 under
 * a temporary name beside the target, and only a complete output is renamed to the target.
 *
 * <p>The run is resumable: a journal of completed units, the lse scratch and the live counters live in the run
 * directory {@code OUT.run/} ({@link RunDirectory}). A run that fails or is killed keeps them and its partial output;
 * the same call later takes it up where it stopped, and the output is bit-identical to an uninterrupted run. A run
 * whose inputs or configuration changed is refused ({@link RunConflictException}) unless {@code restart}.
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
        public Result(long tokens, int heads, int headDim, double seconds, double flops, String kernel, DType outputType) {
            this(tokens, heads, headDim, seconds, flops, kernel, outputType, 0, 0, 0);
        }

        public double tokensPerSecond() { return tokens / seconds; }

        public double gflops() { return flops / seconds / 1e9; }

        public boolean resumed() { return unitsResumed > 0; }
    }

    /** The inputs' checked shape. */
    public record Inputs(long n, int heads, int headDim, DType dtype) { }

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
        Path out = request.out();
        if (Files.exists(out) && !request.overwrite()) {
            throw new FileAlreadyExistsException(out.toString(), null, "output exists (use --force to replace it)");
        }
        long start = System.nanoTime();
        try (NpyFile qf = NpyFile.open(request.q()); NpyFile kf = NpyFile.open(request.k());
             NpyFile vf = NpyFile.open(request.v())) {
            Inputs inputs = check(config, qf, kf, vf);
            long n = inputs.n();
            if (request.checkFinite()) requireFinite(config, inputs, qf, kf, vf);
            Schedule schedule = DilatedAttention.schedule(config, options.windowBudgetBytes(), qf, kf, vf);
            Map<String, String> identity = identity(config, options, schedule, request.outputType(), qf, kf, vf);
            long needed = spaceNeeded(n, inputs, request.outputType(), schedule);
            RunDirectory run = RunDirectory.open(out, identity, schedule, n, inputs.heads(), inputs.headDim(),
                    request.outputType(), request.restart(), needed);
            TimedLog timed = new TimedLog(run);
            try {
                DilatedAttention.Options journaled = options.withUnitLog(timed).withListener(run.listener(options.listener()));
                try (DilatedAttention attention = new DilatedAttention(config, journaled)) {
                    attention.attend(qf, kf, vf, run.accumulator(), run.lseScratch());
                }
                run.finish();
            } catch (IOException | RuntimeException | Error e) {
                run.failed(e);
                run.close();
                throw e;
            }
            double seconds = (System.nanoTime() - start) / 1e9;
            return new Result(n, inputs.heads(), inputs.headDim(), seconds, config.flops(n), options.kernel().name(),
                    request.outputType(), run.unitsTotal(), run.unitsResumed(), timed.nanos / 1e9);
        }
    }

    /** What identifies a run: a later run resumes it only if all of this is the same. */
    static Map<String, String> identity(AttentionConfig config, DilatedAttention.Options options, Schedule schedule,
                                        DType outputType, NpyFile q, NpyFile k, NpyFile v) throws IOException {
        Map<String, String> fields = new LinkedHashMap<>();
        fields.put("format", "longnet-run 1");
        fields.put("config", config.toString());
        fields.put("schedule", schedule.describe());
        fields.put("kernel", options.kernel().name());
        fields.put("output", outputType.name());
        String[] names = {"q", "k", "v"};
        NpyFile[] files = {q, k, v};
        for (int i = 0; i < 3; i++) {
            NpyFile f = files[i];
            fields.put(names[i], f.dtype().name() + " " + Arrays.toString(f.shape()) + " "
                    + FileFingerprint.of(f.path(), f.header().dataOffset()));
            fields.put(names[i] + ".path", f.path().toAbsolutePath().toString());
        }
        fields.put("started", java.time.Instant.now().toString());
        return fields;
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

    /** Disk a fresh run needs: the f32 accumulator, the lse scratch, the f16 output if asked, the undo image. */
    private static long spaceNeeded(long n, Inputs inputs, DType outputType, Schedule schedule) {
        long elements = n * inputs.heads() * inputs.headDim();
        long outRow = (long) inputs.heads() * inputs.headDim() * 4 + inputs.heads() * 4L;
        long undo = 0;
        for (int p = 1; p < schedule.passes().size(); p++) {
            undo = Math.max(undo, Math.min(n, schedule.passes().get(p).windowRows()) * outRow);
        }
        return elements * 4 + n * inputs.heads() * 4L + (outputType == DType.F32 ? 0 : elements * outputType.bytes()) + undo;
    }

    /** Counts the time the run directory spends on each unit's begin and end (before-images, forces, journal). */
    private static final class TimedLog implements UnitLog {
        private final UnitLog log;
        long nanos;

        TimedLog(UnitLog log) { this.log = log; }

        @Override
        public long completed(Schedule.Unit unit) { return log.completed(unit); }

        @Override
        public void begin(Schedule.Unit unit, RowWindow out, RowWindow lse) throws IOException {
            long t = System.nanoTime();
            log.begin(unit, out, lse);
            nanos += System.nanoTime() - t;
        }

        @Override
        public void end(Schedule.Unit unit, long tiles, RowWindow out, RowWindow lse) throws IOException {
            long t = System.nanoTime();
            log.end(unit, tiles, out, lse);
            nanos += System.nanoTime() - t;
        }
    }

    /** Checks that q, k and v agree with each other and with the configuration; returns their shape. */
    public static Inputs check(AttentionConfig config, NpyFile q, NpyFile k, NpyFile v) {
        long[] shape = q.shape();
        if (shape.length != 3) {
            throw new IllegalArgumentException(q.path() + ": expected shape (N, heads, headDim), got "
                    + Arrays.toString(shape));
        }
        for (NpyFile other : new NpyFile[]{k, v}) {
            if (!Arrays.equals(other.shape(), shape)) {
                throw new IllegalArgumentException(other.path() + ": shape " + Arrays.toString(other.shape())
                        + " does not match q's " + Arrays.toString(shape) + " (" + q.path() + ")");
            }
        }
        if (shape[1] != config.heads() || shape[2] != config.headDim()) {
            throw new IllegalArgumentException(q.path() + ": shape " + Arrays.toString(shape) + " has " + shape[1]
                    + " heads of dimension " + shape[2] + ", but the configuration says heads=" + config.heads()
                    + " headDim=" + config.headDim());
        }
        return new Inputs(shape[0], (int) shape[1], (int) shape[2], q.dtype());
    }

    /** Copies the f32 accumulator into the target type, window by window, then commits the target. */
    static void convert(NpyFile acc, Path out, DType outputType, long[] shape) throws IOException {
        NpyFile target = NpyFile.create(out, outputType, shape);
        try {
            long rowsPerWindow = Math.max(1, (64L << 20) / acc.rowBytes());
            long rowElements = acc.rowElements();
            for (long first = 0; first < acc.rows(); first += rowsPerWindow) {
                long rows = Math.min(rowsPerWindow, acc.rows() - first);
                try (RowWindow from = acc.window(first, rows); RowWindow to = target.window(first, rows)) {
                    for (long i = 0; i < rows * rowElements; i++) {
                        outputType.set(to.segment(), i, DType.F32.get(from.segment(), i));
                    }
                }
            }
            target.commit();
        } catch (IOException | RuntimeException e) {
            target.discard();
            throw e;
        }
    }

    static String human(long bytes) {
        if (bytes < 1024) return bytes + " B";
        String[] units = {"KiB", "MiB", "GiB", "TiB"};
        double value = bytes;
        int unit = -1;
        while (value >= 1024 && unit < units.length - 1) {
            value /= 1024;
            unit++;
        }
        return String.format(java.util.Locale.ROOT, "%.1f %s", value, units[unit]);
    }
}
