package dev.longnet.cli;

import dev.longnet.engine.Verifier;
import dev.longnet.storage.Json;
import dev.longnet.engine.AttentionConfig;
import dev.longnet.engine.AttentionJob;
import dev.longnet.engine.AttentionInputs;
import dev.longnet.storage.NpyFile;
import java.nio.file.Path;
import java.util.Locale;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/** longnet verify: an output checked against the reference definition on sampled rows. */
@Command(name = "verify", description = {
        "Checks sampled rows of an attention output against the reference definition.",
        "Recomputes the first and last position and random ones (all heads of each) in double and compares: exit 1 "
                + "when the max abs error exceeds the tolerance. Without level flags it checks against the run's own"
                + " configuration, which attend records beside its output (OUT.json); flags other than the run's are"
                + " refused, naming the run's."})
final class VerifyCommand extends BaseCommand {
    @Mixin
    InputOptions inputs;

    @Option(names = "--out", required = true, paramLabel = "OUT.npy", description = "The output to check.")
    Path out;

    @Mixin
    ConfigOptions config;

    @Option(names = "--rows", paramLabel = "K", defaultValue = "64", converter = Sizes.IntConverter.class,
            description = "Positions to check (default: ${DEFAULT-VALUE}); all heads of each.")
    int rows;

    @Option(names = "--tolerance", paramLabel = "T",
            description = "Largest acceptable abs error (default: 1e-4 for an f32 output, 2e-3 for f16).")
    Double tolerance;

    @Option(names = "--seed", paramLabel = "S", defaultValue = "0", description = "Seed of the sampled positions (default: 0).")
    long seed;

    @Option(names = "--json", description = "Print the result as one JSON object.")
    boolean json;

    @Override
    boolean json() { return json; }

    @Override
    protected int execute() throws Exception {
        java.util.Optional<AttentionConfig> recorded = RunRecord.read(out);
        boolean given = config.levelsGiven();
        if (given || recorded.isEmpty()) config.validate();
        if (rows < 1) throw usage("--rows must be >= 1, got " + rows);
        if (tolerance != null && !(tolerance >= 0)) throw usage("--tolerance must be >= 0, got " + tolerance);
        AttentionInputs shape = AttentionInputs.of(inputs.q);
        if (shape.batched()) {
            throw usage("verify checks a single sequence (N, heads, headDim); " + inputs.q + " is a batch (B, N, heads,"
                    + " headDim), each of whose sequences attend computes as it computes that sequence alone");
        }
        // Without level flags, the run's own configuration (recorded beside OUT by attend); with them, they must
        // be the run's, or the comparison would only say FAILED.
        AttentionConfig attention = given || recorded.isEmpty() ? config.build(shape.heads(), shape.headDim()) : recorded.get();
        if (recorded.isPresent() && (!recorded.get().equals(attention) || config.causal && !attention.causal())) {
            throw new Failure(out + " was computed with other levels or options than these (the run's: "
                    + recorded.get().toText() + "; " + RunRecord.of(out).getFileName() + "): give the run's flags, or no"
                    + " level flags to check against the run's own");
        }
        try (NpyFile q = NpyFile.open(inputs.q); NpyFile k = NpyFile.open(inputs.k); NpyFile v = NpyFile.open(inputs.v);
             NpyFile o = NpyFile.open(out)) {
            AttentionJob.check(attention, q, k, v);
            double limit = tolerance != null ? tolerance : Verifier.defaultTolerance(o.dtype());
            long[] positions = Verifier.sample(q.rows(), rows, seed);
            long start = System.nanoTime();
            Verifier.Result r = Verifier.verify(attention, q, k, v, o, positions);
            double seconds = (System.nanoTime() - start) / 1e9;
            boolean ok = r.within(limit);
            if (json) {
                result(Json.object().put("ok", ok).put("positions", r.positions()).put("heads", r.heads())
                        .put("maxAbsError", r.maxAbsError()).put("tolerance", limit)
                        .put("worstPosition", r.worstPosition()).put("worstHead", r.worstHead())
                        .put("seconds", seconds).put("config", attention).toString());
            } else {
                result(String.format(Locale.ROOT, "verify: %s: %d positions x %d heads, max abs error %.3g (tolerance %.3g): %s",
                        out, r.positions(), r.heads(), r.maxAbsError(), limit, ok ? "OK" : "FAILED"));
            }
            if (!ok) {
                err().println(String.format(Locale.ROOT, "%s: %s: max abs error %.3g at position %d head %d exceeds the tolerance %.3g",
                        spec.qualifiedName(), out, r.maxAbsError(), r.worstPosition(), r.worstHead(), limit));
                err().flush();
                return Errors.FAILURE;
            }
            return 0;
        }
    }
}
