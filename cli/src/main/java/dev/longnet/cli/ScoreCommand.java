package dev.longnet.cli;

import dev.longnet.engine.job.Identity;
import dev.longnet.engine.job.Job;
import dev.longnet.storage.Disk;
import dev.longnet.storage.Json;
import dev.longnet.engine.model.LayerAttention;
import dev.longnet.engine.model.LongNetModel;
import dev.longnet.engine.model.ModelFile;
import dev.longnet.engine.model.ScoreRun;
import dev.longnet.storage.ProcSelf;
import dev.longnet.storage.TokenFile;
import dev.longnet.storage.TokenFormat;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/** longnet score: per-token negative log-likelihood of a token file under a model. */
@Command(name = "score", description = {
        "Scores a token file under a LongNet model: each token's next-token negative log-likelihood.",
        "Streamed chunk by chunk with memory bounded by the weights and the attention states, whatever the file's"
                + " length. Prints tokens, mean NLL, bits per token and tokens/s.",
        "Resumable: with --nll-out (or --state) the run snapshots every layer's stream; run the same command again"
                + " after a crash to continue (--restart starts over)."})
final class ScoreCommand extends BaseCommand {
    @Option(names = "--model", required = true, paramLabel = "MODEL", description = "The model (.safetensors with longnet_config; see convert for .pt checkpoints).")
    Path model;
    @Option(names = "--tokens", required = true, paramLabel = "FILE", description = "Token file: bytes, .u16, .i32, .npy or .lzt.")
    Path tokens;
    @Option(names = "--format", paramLabel = "FORMAT", description = "Token file format: bytes, u16, i32, npy, lzt (default: detected).")
    String format;
    @Option(names = "--nll-out", paramLabel = "FILE", description = ".npy of N-1 f32 NLLs in nats (written as NAME.partial, renamed at the end).")
    Path nllOut;
    @Option(names = "--hidden-out", paramLabel = "FILE", description = ".npy of (N, dim) f32 final hidden states.")
    Path hiddenOut;
    @Option(names = "--state", paramLabel = "DIR", description = "Snapshot directory (default: NLL-OUT.state when --nll-out is given).")
    Path state;
    @Option(names = "--snapshot-every", paramLabel = "N", defaultValue = "262144", converter = Sizes.LongConverter.class,
            description = "Tokens between snapshots (default 2^18).")
    long snapshotEvery;
    @Option(names = "--restart", description = "Ignore an earlier run's snapshot and start over.")
    boolean restart;
    @Option(names = "--limit", paramLabel = "N", converter = Sizes.LongConverter.class, description = "Score only the first N tokens.")
    Long limit;
    @Option(names = "--json", description = "The summary as one JSON object on stdout.")
    boolean json;
    @Mixin
    ThreadOptions threads;
    @Mixin
    ForceOption force;

    @Override
    boolean json() { return json; }

    @Override
    protected int execute() throws Exception {
        TokenFormat tokenFormat = parseFormat(format);
        if (snapshotEvery < 1) throw usage("--snapshot-every must be >= 1, got " + snapshotEvery);
        if (limit != null && limit < 2) throw usage("--limit must be >= 2, got " + limit);
        Path stateDir = state != null ? state : nllOut != null ? nllOut.resolveSibling(nllOut.getFileName() + ".state") : null;
        ScoreRun.Result r;
        try (Job job = Job.builder("longnet score").input(model).input(tokens).output(nllOut).output(hiddenOut)
                .state(stateDir).force(force.force).resumable(stateDir != null).start()) {
            LongNetModel m = ModelFile.load(model);
            note("model " + model + ": " + m.config() + ", " + String.format(Locale.ROOT, "%,d", m.config().parameterCount())
                    + " parameters");
            Identity identity = Identity.of("longnet-score 1").file("model", model).file("tokens", tokens)
                    .put("format", tokenFormat != null ? tokenFormat : TokenFormat.detect(tokens))
                    .put("limit", limit != null ? limit : Long.MAX_VALUE)
                    .put("outputs", (nllOut != null ? "nll" : "") + (hiddenOut != null ? " hidden" : ""));
            try (TokenFile file = TokenFile.open(tokens, tokenFormat);
                 ProgressDisplay progress = ProgressDisplay.start("score", Math.min(file.count(), limit != null ? limit : Long.MAX_VALUE), chatty())) {
                r = ScoreRun.run(m, file, new ScoreRun.Options(nllOut, hiddenOut, stateDir, snapshotEvery, restart,
                        limit != null ? limit : Long.MAX_VALUE, 0, LayerAttention.factory(threads.threads()), threads.threads()),
                        identity, progress::update);
            } catch (IOException | RuntimeException | Error e) {
                // Without a snapshot to resume from, the partial outputs are worth nothing: leave nothing.
                if (stateDir == null || !Files.exists(stateDir.resolve("CURRENT"))) {
                    for (Path out : new Path[]{nllOut, hiddenOut}) if (out != null) Files.deleteIfExists(Job.partial(out));
                }
                if (e instanceof IOException io) throw job.failure(io, nllOut != null ? Job.partial(nllOut) : stateDir);
                throw e;
            }
            job.completed();
        }
        if (r.resumedFrom() > 0) note("resumed at token " + r.resumedFrom());
        long peak = ProcSelf.peakRssBytes();
        if (json) {
            result(Json.object().put("tokens", r.tokens()).put("predictions", r.predictions()).put("meanNll", r.meanNll())
                    .put("bitsPerToken", r.bitsPerToken()).put("tokensPerSecond", r.tokensPerSecond())
                    .put("seconds", r.seconds()).put("resumedFrom", r.resumedFrom()).put("stateBytes", r.stateBytes())
                    .put("peakRssBytes", peak).toString());
        } else {
            result(String.format(Locale.ROOT, "%,d tokens, mean NLL %.4f nats, %.4f bits/token, %,.0f tokens/s "
                    + "(%.1f s), attention state %s, peak RSS %s", r.tokens(), r.meanNll(), r.bitsPerToken(),
                    r.tokensPerSecond(), r.seconds(), Disk.human(r.stateBytes()), Disk.human(peak)));
        }
        return 0;
    }

    static TokenFormat parseFormat(String format) {
        try {
            return format == null ? null : TokenFormat.parse(format);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("--format: " + e.getMessage());
        }
    }
}
