package dev.longnet.cli;

import dev.longnet.engine.Verifier;
import dev.longnet.engine.Generator;
import dev.longnet.storage.Json;
import dev.longnet.storage.ProcSelf;
import dev.longnet.engine.AttentionConfig;
import dev.longnet.engine.AttentionJob;
import dev.longnet.engine.AttentionResult;
import dev.longnet.engine.AttentionRequest;
import dev.longnet.engine.DilatedAttention;
import dev.longnet.storage.DType;
import dev.longnet.storage.NpyFile;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/** longnet demo: gen, attend and verify on a default problem, in one command. */
@Command(name = "demo", description = {
        "Generates, attends and verifies a default problem; prints the throughput.",
        "The problem: N tokens, 4 heads of dimension 32, f32, in a temporary directory; attention with the "
                + "\"bench\" preset (segments 2048,4096,8192,16384, dilations 1,2,4,8, non-causal); 16 sampled "
                + "positions verified against the reference. The files are deleted at the end unless --keep."})
final class DemoCommand extends BaseCommand {
    static final int HEADS = 4;
    static final int HEAD_DIM = 32;
    static final String PRESET = "bench";
    static final int VERIFY_ROWS = 16;

    @Option(names = "--n", paramLabel = "N", defaultValue = "2^20", converter = Sizes.LongConverter.class,
            description = "Sequence length (default: ${DEFAULT-VALUE}).")
    long n;

    @Option(names = {"--out", "--keep"}, paramLabel = "DIR",
            description = "Work in DIR instead of a temporary directory and keep q, k, v and out.npy there (replacing"
                    + " them); --keep is the old name.")
    Path keep;

    @Option(names = "--seed", paramLabel = "S", defaultValue = "0", description = "Seed of q, k, v (default: 0).")
    long seed;

    @Mixin
    ThreadOptions threads;

    @Option(names = "--json", description = "Print the summary as one JSON object.")
    boolean json;

    @Override
    boolean json() { return json; }

    @Override
    protected int execute() throws Exception {
        if (n < 1) throw usage("--n must be >= 1, got " + n);
        int threadCount = threads.threads();
        AttentionConfig config = AttentionConfig.preset(PRESET).heads(HEADS).headDim(HEAD_DIM).build();
        Path dir;
        if (keep != null) {
            if (Files.exists(keep) && !Files.isDirectory(keep)) throw new Failure(keep + ": exists and is not a directory");
            dir = Files.createDirectories(keep);
        } else {
            dir = Files.createTempDirectory("longnet-demo-");
        }
        Path q = dir.resolve("q.npy");
        Path k = dir.resolve("k.npy");
        Path v = dir.resolve("v.npy");
        Path out = dir.resolve("out.npy");
        List<Path> partials = new ArrayList<>(AttendCommand.temporaryFiles(out));
        for (Path p : List.of(q, k, v)) partials.add(NpyFile.partialPath(p));
        try (PartialCleanup _ = new PartialCleanup(partials, keep == null ? dir : null);
             Backend.Choice choice = Backend.AUTO.resolve()) {
            String backend = choice.name();
            note(String.format(Locale.ROOT, "demo: N=%d, f32, preset %s: %s; %d threads; in %s",
                    n, PRESET, config, threadCount, dir));
            long genStart = System.nanoTime();
            try (ProgressDisplay bar = ProgressDisplay.start("gen", n, chatty())) {
                Generator.write(dir, n, HEADS, HEAD_DIM, DType.F32, seed, threadCount, 0, bar::update);
            }
            double genSeconds = (System.nanoTime() - genStart) / 1e9;
            DilatedAttention.Options options = DilatedAttention.Options.defaults().withThreads(threadCount)
                    .withKernel(choice.kernel());
            AttentionResult result;
            try (ProgressDisplay bar = ProgressDisplay.start("attend", n, chatty())) {
                // Fresh inputs every time: never resume an earlier demo's run.
                result = AttentionJob.run(config, options.withListener(p -> bar.update(p.tokensDone())),
                        AttentionRequest.of(q, k, v, out).withOverwrite(true).withRestart(true));
            }
            double tolerance = Verifier.defaultTolerance(DType.F32);
            Verifier.Result check;
            try (NpyFile qf = NpyFile.open(q); NpyFile kf = NpyFile.open(k); NpyFile vf = NpyFile.open(v);
                 NpyFile of = NpyFile.open(out)) {
                check = Verifier.verify(config, qf, kf, vf, of, Verifier.sample(n, VERIFY_ROWS, seed));
            }
            long peak = ProcSelf.peakRssBytes();
            boolean ok = check.within(tolerance);
            if (json) {
                result(Summary.json(result, config, backend, threadCount, peak)
                        .put("genSeconds", genSeconds)
                        .put("verify", Json.object().put("ok", ok).put("positions", check.positions())
                                .put("maxAbsError", check.maxAbsError()).put("tolerance", tolerance))
                        .put("dir", keep != null ? dir.toString() : null).toString());
            } else {
                result(String.format(Locale.ROOT, "demo: %s; verified %d positions x %d heads, max abs error %.2g (%s)",
                        Summary.human(result, backend, threadCount, peak), check.positions(), check.heads(),
                        check.maxAbsError(), ok ? "ok" : "FAILED"));
            }
            if (!ok) {
                err().println(String.format(Locale.ROOT, "%s: the output differs from the reference: max abs error %.3g at position %d head %d exceeds %.3g",
                        spec.qualifiedName(), check.maxAbsError(), check.worstPosition(), check.worstHead(), tolerance));
                err().flush();
                return Errors.FAILURE;
            }
            if (keep != null) note("demo: kept q.npy, k.npy, v.npy and out.npy in " + dir);
            return 0;
        } finally {
            if (keep == null) PartialCleanup.deleteTree(dir);
        }
    }
}
