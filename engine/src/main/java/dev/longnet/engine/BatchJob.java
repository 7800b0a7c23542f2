package dev.longnet.engine;

import dev.longnet.engine.job.Identity;
import dev.longnet.engine.job.JobConflictException;
import dev.longnet.engine.job.JobLock;
import dev.longnet.storage.AtomicFile;
import dev.longnet.storage.Disk;
import dev.longnet.storage.NpyFile;
import dev.longnet.storage.RowWindow;
import dev.longnet.storage.TensorRows;
import java.io.IOException;
import java.io.Reader;
import java.io.StringWriter;
import java.lang.foreign.MemorySegment;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Properties;
import java.util.stream.Stream;

/**
 * A batch of B sequences, q, k and v of shape (B, N, H, d), each sequence padded to N rows: sequence b is its first
 * {@code lengths[b]} rows (all N without lengths). Each sequence runs alone, as {@link AttentionJob} runs a single
 * sequence, into {@code OUT.run/sequence-b.npy} with its own run directory, so its rows are bit for bit those of
 * the sequence run on its own; the output (B, N, H, d) is then assembled from them, padding rows zero, and
 * committed.
 *
 * <p>Resuming: {@code OUT.run/batch} records what the batch is a run of (configuration, kernel, output type,
 * lengths, the inputs' fingerprints). A later run of the same batch skips the finished sequences, resumes the
 * interrupted one from its journal and starts the others; a run of another batch is refused unless restarting.
 * The batch needs the disk of its output twice until it commits (the sequences' outputs, then the batch's).
 */
final class BatchJob {
    /** What the batch in a run directory is a run of. */
    static final String IDENTITY = "batch";
    private static final String FORMAT = "longnet-batch 1";
    private static final long COPY_BYTES = 64L << 20;

    private BatchJob() { }

    static AttentionResult run(AttentionConfig config, DilatedAttention.Options options, AttentionRequest request,
                               AttentionInputs inputs, NpyFile q, NpyFile k, NpyFile v, long start) throws IOException {
        long n = inputs.n();
        long[] lengths = lengths(request.lengths(), inputs.batch(), n, q.path().toString());
        int batch = lengths.length;
        TensorRows[][] items = new TensorRows[batch][];
        for (int b = 0; b < batch; b++) items[b] = new TensorRows[]{q.item(b, lengths[b]), k.item(b, lengths[b]), v.item(b, lengths[b])};
        if (request.checkFinite()) {
            for (int b = 0; b < batch; b++) {
                AttentionJob.requireFinite(config, inputs.sequence(lengths[b]), items[b],
                        AttentionJob.labels(q, k, v, ", sequence " + b));
            }
        }
        Map<String, String> files = RunIdentity.inputs(q, k, v);       // opens the inputs: before they are locked
        Path out = request.out();
        RunFiles runFiles = RunFiles.of(out);
        JobLock lock = RunFiles.lock(out);
        try {
            prepare(runFiles.directory(), identity(config, options, request, lengths, files), request.restart());
            AttentionJob.lockShared(q, k, v);
            Schedule[] schedules = new Schedule[batch];
            long remaining = 0;
            long scratch = 0;
            for (int b = 0; b < batch; b++) {
                schedules[b] = DilatedAttention.schedule(config, options.windowBudgetBytes(), items[b][0], items[b][1], items[b][2]);
                if (Files.isRegularFile(sequenceOut(runFiles, b))) continue;
                long sequenceOut = lengths[b] * inputs.heads() * inputs.headDim() * request.outputType().bytes();
                remaining += sequenceOut;
                scratch = Math.max(scratch, JobPlan.spaceNeeded(inputs.sequence(lengths[b]), request.outputType(), schedules[b]) - sequenceOut);
            }
            long outputBytes = inputs.batch() * n * inputs.heads() * inputs.headDim() * request.outputType().bytes();
            Disk.requireSpace(out, remaining + scratch + outputBytes,
                    "the batch (its sequences' outputs and scratch, then the batch's output)");

            Totals totals = new Totals();
            long all = Arrays.stream(lengths).sum();
            for (int b = 0; b < batch; b++) {
                Path sequenceOut = sequenceOut(runFiles, b);
                if (Files.isRegularFile(sequenceOut)) {
                    totals.skipped(schedules[b].unitCount(lengths[b]), lengths[b]);
                    continue;
                }
                long before = totals.tokens;
                DilatedAttention.Options shifted = options.withListener(p -> options.listener().onProgress(new Progress(
                        p.tilesDone(), before + p.tokensDone(), all, p.level(), p.pass(), p.unitsDone(), p.unitsTotal())));
                AttentionRequest one = new AttentionRequest(request.q(), request.k(), request.v(), sequenceOut,
                        request.outputType(), false, false, false, null);
                AttentionResult r = AttentionJob.sequence(config, shifted, one, inputs.sequence(lengths[b]), items[b],
                        RunIdentity.sequence(files, b, lengths[b]), () -> { }, System.nanoTime());
                totals.ran(r);
            }
            assemble(runFiles, out, request, inputs, lengths);
            clear(runFiles.directory());
            runFiles.deleteDirectory();
            lock.close();
            double seconds = (System.nanoTime() - start) / 1e9;
            double flops = 0;
            for (long length : lengths) flops += config.flops(length);
            return new AttentionResult(totals.tokens, inputs.heads(), inputs.headDim(), seconds, flops,
                    options.kernel().name(), request.outputType(), totals.units, totals.unitsResumed, totals.journalSeconds,
                    totals.tokensResumed);
        } catch (IOException | RuntimeException | Error e) {
            lock.close();
            throw e;
        }
    }

    /** What the sequences did, summed. */
    private static final class Totals {
        long tokens;
        long units;
        long unitsResumed;
        long tokensResumed;
        double journalSeconds;

        void skipped(long sequenceUnits, long length) {
            tokens += length;
            units += sequenceUnits;
            unitsResumed += sequenceUnits;
            tokensResumed += length;
        }

        void ran(AttentionResult r) {
            tokens += r.tokens();
            units += r.unitsTotal();
            unitsResumed += r.unitsResumed();
            tokensResumed += r.tokensResumed();
            journalSeconds += r.journalSeconds();
        }
    }

    /** The lengths, checked: one per sequence, each 1 to N; without lengths, N for every sequence. */
    static long[] lengths(long[] lengths, long batch, long n, String q) {
        if (batch > Integer.MAX_VALUE - 8) throw new IllegalArgumentException(q + ": a batch of " + batch + " sequences is too large");
        if (lengths == null) {
            long[] all = new long[(int) batch];
            Arrays.fill(all, n);
            return all;
        }
        if (lengths.length != batch) {
            throw new IllegalArgumentException(lengths.length + " sequence lengths for a batch of " + batch + " sequences ("
                    + q + ")");
        }
        for (int b = 0; b < lengths.length; b++) {
            if (lengths[b] < 1 || lengths[b] > n) {
                throw new IllegalArgumentException("sequence " + b + " has length " + lengths[b] + ", outside 1.." + n
                        + " (the batch's rows per sequence, " + q + ")");
            }
        }
        return lengths.clone();
    }

    private static Path sequenceOut(RunFiles files, int b) { return sequenceOut(files.directory(), b); }

    /** Where sequence b's output is kept until the batch commits, in the batch's run directory. */
    static Path sequenceOut(Path runDirectory, int b) { return runDirectory.resolve("sequence-" + b + ".npy"); }

    private static Identity identity(AttentionConfig config, DilatedAttention.Options options, AttentionRequest request,
                                     long[] lengths, Map<String, String> files) {
        Identity identity = Identity.of(FORMAT).put("config", config.toText()).put("kernel", options.kernel().name())
                .put("budget", options.windowBudgetBytes()).put("output", request.outputType().name())
                .put("lengths", Arrays.toString(lengths));
        files.forEach(identity::put);
        return identity;
    }

    /**
     * Starts the batch's run directory, or checks that the batch it holds is this one: a run of another job is
     * refused unless {@code restart}, which clears it (all but the lock).
     */
    private static void prepare(Path dir, Identity identity, boolean restart) throws IOException {
        Path file = dir.resolve(IDENTITY);
        if (restart) {
            clear(dir);
        } else if (Files.isRegularFile(file)) {
            try {
                identity.requireSame(dir, read(file), "");
            } catch (JobConflictException e) {
                throw new RunConflictException(e.getMessage(), true);        // attend's callers catch its own type
            }
            return;
        } else if (holdsWork(dir)) {
            throw new RunConflictException("cannot resume " + dir + " as a batch: it holds the run of a single"
                    + " sequence", true);
        }
        Properties p = new Properties();
        p.putAll(identity.fields());
        StringWriter text = new StringWriter();
        p.store(text, "what this batch is a run of");
        AtomicFile.write(file, ch -> Disk.writeFully(ch, java.nio.ByteBuffer.wrap(text.toString().getBytes(StandardCharsets.ISO_8859_1)), 0));
    }

    /** The identity recorded in a batch's run directory ({@link #IDENTITY}). */
    static Map<String, String> read(Path file) throws IOException {
        Properties p = new Properties();
        try (Reader r = Files.newBufferedReader(file, StandardCharsets.ISO_8859_1)) {
            p.load(r);
        }
        Map<String, String> fields = new LinkedHashMap<>();
        for (String name : p.stringPropertyNames()) fields.put(name, p.getProperty(name));
        return fields;
    }

    /** True when {@code dir} holds anything but its lock. */
    private static boolean holdsWork(Path dir) throws IOException {
        if (!Files.isDirectory(dir)) return false;
        try (Stream<Path> entries = Files.list(dir)) {
            return entries.anyMatch(p -> !p.getFileName().toString().equals(RunFiles.LOCK));
        }
    }

    /** Removes everything in a batch's run directory but its lock. */
    private static void clear(Path dir) throws IOException {
        if (!Files.isDirectory(dir)) return;
        try (Stream<Path> entries = Files.list(dir)) {
            for (Path p : entries.toList()) {
                if (!p.getFileName().toString().equals(RunFiles.LOCK)) Disk.deleteTree(p);
            }
        }
    }

    /** Refuses a single sequence's run of an output whose run directory holds a batch, unless restarting (clears it). */
    static void requireNoBatchRun(AttentionRequest request) throws IOException {
        Path dir = RunFiles.directory(request.out());
        if (!Files.isRegularFile(dir.resolve(IDENTITY))) return;
        if (!request.restart()) {
            throw new RunConflictException("cannot resume the run in " + dir + ": it holds the run of a batch, and q is a"
                    + " single sequence", true);
        }
        try (JobLock lock = RunFiles.lock(request.out())) {
            clear(dir);
        }
    }

    /** Writes the batch's output from its sequences' outputs (padding rows zero) and commits it. */
    private static void assemble(RunFiles files, Path out, AttentionRequest request, AttentionInputs inputs,
                                 long[] lengths) throws IOException {
        NpyFile batch = NpyFile.create(out, request.outputType(), inputs.batch(), inputs.n(), inputs.heads(), inputs.headDim());
        try {
            for (int b = 0; b < lengths.length; b++) {
                try (NpyFile sequence = NpyFile.open(sequenceOut(files, b))) {
                    TensorRows target = batch.item(b, lengths[b]);
                    long rowsPerCopy = Math.max(1, COPY_BYTES / sequence.rowBytes());
                    for (long first = 0; first < lengths[b]; first += rowsPerCopy) {
                        long rows = Math.min(rowsPerCopy, lengths[b] - first);
                        try (RowWindow from = sequence.window(first, rows); RowWindow to = target.window(first, rows)) {
                            MemorySegment.copy(from.segment(), 0, to.segment(), 0, from.segment().byteSize());
                        }
                    }
                }
            }
            batch.commit();
        } catch (IOException | RuntimeException e) {
            batch.discard();
            throw e;
        }
    }
}
