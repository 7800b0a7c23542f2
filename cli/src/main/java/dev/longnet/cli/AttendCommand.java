package dev.longnet.cli;

import dev.longnet.storage.ProcSelf;
import dev.longnet.engine.AttentionConfig;
import dev.longnet.engine.AttentionJob;
import dev.longnet.engine.AttentionResult;
import dev.longnet.engine.AttentionInputs;
import dev.longnet.engine.AttentionRequest;
import dev.longnet.engine.DilatedAttention;
import dev.longnet.engine.RunConflictException;
import dev.longnet.engine.RunFiles;
import dev.longnet.storage.DType;
import java.nio.file.Path;
import java.util.List;
import java.util.function.UnaryOperator;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/** longnet attend: the engine on .npy files. */
@Command(name = "attend", description = {
        "Computes dilated attention of q, k, v into an output .npy.",
        "q, k and v have shape (N, heads, headDim), or (B, N, heads, headDim) for a batch of B sequences; heads and "
                + "headDim are read from q. The work is out of core: memory stays bounded whatever N is. The output "
                + "appears under its name only when complete.",
        "A batch's sequences each run alone (the same bits as a run of that sequence by itself); a padded batch gives "
                + "each sequence's length with --lengths or --key-padding-mask, and its padding rows are never read "
                + "and are zero in the output.",
        "A run that stops (crash, kill, full disk, Ctrl-C) keeps OUT.partial and its run directory OUT.run; the same "
                + "command resumes it, and the output is bit-identical to an uninterrupted run. Watch a run with "
                + "'longnet stat OUT.run'."})
final class AttendCommand extends BaseCommand {
    /** Changes the engine options before a run (identity from the command line; a kernel or budget from tests). */
    private final UnaryOperator<DilatedAttention.Options> engine;

    AttendCommand() { this(UnaryOperator.identity()); }

    AttendCommand(UnaryOperator<DilatedAttention.Options> engine) { this.engine = engine; }

    @Mixin
    InputOptions inputs;

    @Option(names = "--out", required = true, paramLabel = "OUT.npy", description = "The output, of q's shape.")
    Path out;

    @Option(names = "--lengths", split = ",", paramLabel = "L", converter = Sizes.LongConverter.class,
            description = "A padded batch: each sequence's length, one per sequence (its rows after that are padding).")
    long[] lengths;

    @Option(names = "--key-padding-mask", paramLabel = "MASK.npy", description = "A padded batch: PyTorch's "
            + "key_padding_mask as a (B, N) .npy of bool (true = padding), padding at the end of each sequence.")
    Path keyPaddingMask;

    @Mixin
    ConfigOptions config;

    @Mixin
    ThreadOptions threads;

    @Option(names = "--backend", paramLabel = "B", defaultValue = "auto", completionCandidates = BackendNames.class,
            description = "auto, cpu or cuda (default: auto, which picks CUDA when its libraries and a device are "
                    + "present and says why not otherwise).")
    Backend backend;

    @Option(names = "--out-dtype", paramLabel = "TYPE", converter = NpyTypeConverter.class,
            completionCandidates = NpyTypeConverter.Names.class, description = "f32 or f16 (default: q's dtype).")
    DType outDtype;

    @Option(names = "--window-budget", paramLabel = "BYTES", converter = Sizes.LongConverter.class,
            description = "Bytes of q, k, v, out and scratch rows mapped at once (default: 256M).")
    Long windowBudget;

    @Option(names = "--force", description = "Replace OUT if it exists.")
    boolean force;

    @Option(names = "--restart", description = "Start over even if OUT.run holds an interrupted run of OUT "
            + "(needed when the inputs or the configuration changed since it started).")
    boolean restart;

    @Option(names = "--check-finite", description = "Scan q, k and v for NaN and infinities first (one more read of "
            + "the inputs) and fail, naming the file, row and head, before computing anything.")
    boolean checkFinite;

    @Option(names = "--json", description = "Print the summary as one JSON object.")
    boolean json;

    @Option(names = "--cluster", paramLabel = "HOST[:PORT],...", description = "Run on the members of a cluster "
            + "('longnet member'); the paths are then resolved under each member's --data directory, and the "
            + "output is written there. Re-running the same command resumes an interrupted run.")
    String cluster;

    @Option(names = "--cluster-name", paramLabel = "NAME", defaultValue = dev.longnet.cluster.ClusterSettings.DEFAULT_NAME,
            description = "The cluster's name (default: ${DEFAULT-VALUE}).")
    String clusterName;

    @Override
    boolean json() { return json; }

    @Override
    protected int execute() throws Exception {
        config.validate();
        int threadCount = threads.threads();
        if (windowBudget != null && windowBudget < 1) throw usage("--window-budget must be positive, got " + windowBudget);
        if (out.toString().isEmpty()) throw usage("--out is empty: name the output file");
        if (cluster != null) return onCluster(threadCount);
        AttentionInputs shape = AttentionInputs.of(inputs.q);
        long[] sequenceLengths = sequenceLengths(shape);
        AttentionConfig attention = config.build(shape.heads(), shape.headDim());
        // Outputs are .npy, which holds f32 or f16; inputs of any other type give f32 outputs.
        DType outputType = outDtype != null ? outDtype : shape.dtype().npyDescr() != null ? shape.dtype() : DType.F32;
        try (Backend.Choice choice = backend.resolve()) {
            return run(choice, attention, outputType, shape, sequenceLengths, threadCount);
        }
    }

    /** The lengths of a padded batch's sequences, from --lengths or --key-padding-mask (null: unpadded). */
    private long[] sequenceLengths(AttentionInputs shape) throws java.io.IOException {
        if (lengths == null && keyPaddingMask == null) return null;
        if (lengths != null && keyPaddingMask != null) throw usage("give --lengths or --key-padding-mask, not both");
        if (!shape.batched()) {
            throw usage((lengths != null ? "--lengths" : "--key-padding-mask") + " is for a batch: q (" + inputs.q
                    + ") has shape (N, heads, headDim), not (B, N, heads, headDim)");
        }
        return lengths != null ? lengths : dev.longnet.engine.KeyPaddingMask.lengths(keyPaddingMask, shape.batch(), shape.n());
    }

    private int run(Backend.Choice choice, AttentionConfig attention, DType outputType, AttentionInputs shape,
                    long[] sequenceLengths, int threadCount) throws Exception {
        String backendName = choice.name();
        DilatedAttention.Options options = DilatedAttention.Options.defaults().withThreads(threadCount)
                .withKernel(choice.kernel());
        if (windowBudget != null) options = options.withBudget(windowBudget);
        note("backend: " + backendName + (backend == Backend.AUTO ? " (auto: " + choice.reason() + ")" : "")
                + ", kernel " + options.kernel().name() + ", " + threadCount + " threads; " + attention);
        options = engine.apply(options);
        if (!restart && RunFiles.resumable(out)) note("attend: resuming the run in " + RunFiles.directory(out));
        AttentionRequest request = AttentionRequest.of(inputs.q, inputs.k, inputs.v, out)
                .withOutputType(outputType).withOverwrite(force).withRestart(restart).withCheckFinite(checkFinite)
                .withLengths(sequenceLengths);
        long tokens = !shape.batched() ? shape.n() : sequenceLengths == null ? shape.batch() * shape.n()
                : java.util.Arrays.stream(sequenceLengths).sum();
        AttentionResult result;
        // No cleanup on Ctrl-C: OUT.partial and OUT.run are what a later run resumes from; say so.
        try (dev.longnet.engine.job.Job.InterruptLine _ = dev.longnet.engine.job.Job.onInterrupt(() -> "longnet attend:"
                + " interrupted; " + (RunFiles.resumable(out) ? "the partial run is kept in " + RunFiles.directory(out)
                + ": run the same command to resume (--restart starts over)" : "nothing was written under " + out));
             ProgressDisplay bar = ProgressDisplay.start("attend", tokens, chatty())) {
            result = AttentionJob.run(attention, options.withListener(p -> bar.update(p.tokensDone())), request);
        } catch (RunConflictException | java.nio.file.FileAlreadyExistsException e) {
            throw e;
        } catch (Exception | InternalError e) {
            throw kept(e);
        }
        RunRecord.write(out, attention);
        long peak = ProcSelf.peakRssBytes();
        if (result.resumed()) {
            note(String.format(java.util.Locale.ROOT, "attend: resumed: %d of %d units were done by an earlier run;"
                    + " the speed counts this run's work, %,d of the %,d tokens' worth", result.unitsResumed(),
                    result.unitsTotal(), result.tokensComputed(), result.tokens()));
        }
        result(json ? Summary.json(result, attention, backendName, threadCount, peak).toString()
                : "attend: " + Summary.human(result, backendName, threadCount, peak));
        return 0;
    }

    /** The job on the members of a cluster (ClusterAttend), with its summary and communication per member and level. */
    private int onCluster(int threadCount) {
        if (lengths != null || keyPaddingMask != null) throw usage("--lengths and --key-padding-mask are not supported with --cluster");
        if (outDtype == DType.F16) throw usage("--out-dtype f16 is not supported with --cluster (the output is f32)");
        if (force || restart || checkFinite || backend == Backend.CUDA) {
            throw usage("--force, --restart, --check-finite and --backend cuda are not supported with --cluster");
        }
        ClusterAttend.Outcome outcome = ClusterAttend.run(this::note, clusterName, cluster, inputs.q, inputs.k, inputs.v,
                out, config, threadCount, windowBudget != null ? windowBudget : 256L << 20, chatty());
        result(json ? outcome.json().toString() : "attend: " + outcome.line());
        return 0;
    }

    /**
     * The failure as one line, saying that the run can be resumed when its run directory holds a journal (the
     * failure came after the run started, or an earlier run is waiting). Bad inputs are reported as they are.
     */
    private Exception kept(Throwable e) {
        boolean badInput = e instanceof IllegalArgumentException || e instanceof java.nio.file.NoSuchFileException
                || e instanceof dev.longnet.storage.TensorFormatException;
        if (badInput || !RunFiles.resumable(out)) {
            if (e instanceof Exception x) return x;
            return new Failure(BaseCommand.describeInternal(e), e);
        }
        String what = e instanceof Exception x ? Errors.describe(x) : BaseCommand.describeInternal(e);
        return new Failure(what + "; the partial run is kept in " + RunFiles.directory(out) + ": run the same command"
                + " again to resume (after freeing space, if the disk is full), or add --restart to start over", e);
    }

    /** The names a run writes before the output is complete: OUT.partial and the run directory OUT.run. */
    static List<Path> temporaryFiles(Path out) {
        return RunFiles.temporaryFiles(out);
    }

    public static final class BackendNames extends java.util.ArrayList<String> {
        public BackendNames() { super(List.of("auto", "cpu", "cuda")); }
    }
}
