package dev.longnet.cli;

import dev.longnet.engine.AttentionConfig;
import dev.longnet.engine.AttentionJob;
import dev.longnet.engine.DilatedAttention;
import dev.longnet.storage.DType;
import dev.longnet.storage.NpyFile;
import java.io.IOException;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/** longnet attend: the engine on .npy files. */
@Command(name = "attend", description = {
        "Computes dilated attention of q, k, v into an output .npy.",
        "q, k and v have shape (N, heads, headDim); heads and headDim are read from q. The work is out of core: "
                + "memory stays bounded whatever N is. The output appears under its name only when complete."})
final class AttendCommand extends BaseCommand {
    @Mixin
    InputOptions inputs;

    @Option(names = "--out", required = true, paramLabel = "OUT.npy", description = "The output, shape (N, heads, headDim).")
    Path out;

    @Mixin
    ConfigOptions config;

    @Mixin
    ThreadOptions threads;

    @Option(names = "--backend", paramLabel = "B", defaultValue = "auto", completionCandidates = BackendNames.class,
            description = "auto, cpu or cuda (default: auto, which picks the CPU engine in this build).")
    Backend backend;

    @Option(names = "--out-dtype", paramLabel = "TYPE", converter = NpyTypeConverter.class,
            completionCandidates = NpyTypeConverter.Names.class, description = "f32 or f16 (default: q's dtype).")
    DType outDtype;

    @Option(names = "--window-budget", paramLabel = "BYTES", converter = Sizes.LongConverter.class,
            description = "Bytes of q, k, v, out and scratch rows mapped at once (default: 256M).")
    Long windowBudget;

    @Option(names = "--force", description = "Replace OUT if it exists.")
    boolean force;

    @Option(names = "--json", description = "Print the summary as one JSON object.")
    boolean json;

    @Override
    boolean json() { return json; }

    @Override
    protected int execute() throws Exception {
        config.validate();
        int threadCount = threads.threads();
        if (windowBudget != null && windowBudget < 1) throw usage("--window-budget must be positive, got " + windowBudget);
        String backendName = backend.resolve();
        Shape shape = Shape.of(inputs.q);
        AttentionConfig attention = config.build(shape.heads(), shape.headDim());
        DType outputType = outDtype != null ? outDtype : shape.dtype();
        DilatedAttention.Options options = DilatedAttention.Options.defaults().withThreads(threadCount);
        if (windowBudget != null) options = options.withBudget(windowBudget);
        note("backend: " + backendName + (backend == Backend.AUTO ? " (auto)" : "") + ", kernel "
                + options.kernel().name() + ", " + threadCount + " threads; " + attention);
        AttentionJob.Result result;
        try (PartialCleanup _ = new PartialCleanup(temporaryFiles(out));
             ProgressDisplay bar = ProgressDisplay.start("attend", shape.n(), chatty())) {
            result = AttentionJob.run(attention, options.withListener(p -> bar.update(p.tokensDone())),
                    inputs.q, inputs.k, inputs.v, out, outputType, force);
        }
        long peak = ProcStatus.peakRssBytes();
        result(json ? Summary.json(result, attention, backendName, threadCount, peak).toString()
                : "attend: " + Summary.human(result, backendName, threadCount, peak));
        return 0;
    }

    /** The names AttentionJob writes before the output is complete (accumulator, lse scratch, conversion target). */
    static List<Path> temporaryFiles(Path out) {
        String name = out.getFileName().toString();
        return List.of(NpyFile.partialPath(out), NpyFile.partialPath(out.resolveSibling(name + ".acc")),
                NpyFile.partialPath(out.resolveSibling(name + ".lse")));
    }

    /** q's shape read from its header: (N, heads, headDim). */
    record Shape(long n, int heads, int headDim, DType dtype) {
        static Shape of(Path q) throws IOException {
            try (NpyFile file = NpyFile.open(q)) {
                long[] s = file.shape();
                if (s.length != 3) {
                    throw new Failure(q + ": expected shape (N, heads, headDim), got " + Arrays.toString(s));
                }
                if (s[1] > Integer.MAX_VALUE || s[2] > Integer.MAX_VALUE) {
                    throw new Failure(q + ": shape " + Arrays.toString(s) + " has too many heads or too large a head dimension");
                }
                // Outputs are .npy, which holds f32 or f16; anything else is written as f32.
                DType dtype = file.dtype().npyDescr() != null ? file.dtype() : DType.F32;
                return new Shape(s[0], (int) s[1], (int) s[2], dtype);
            }
        }
    }

    public static final class BackendNames extends java.util.ArrayList<String> {
        public BackendNames() { super(List.of("auto", "cpu", "cuda")); }
    }
}
