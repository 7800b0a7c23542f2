package dev.longnet.cli;

import dev.longnet.engine.Generator;
import dev.longnet.storage.Json;
import dev.longnet.storage.ProcSelf;
import dev.longnet.storage.DType;
import dev.longnet.storage.Disk;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/** longnet gen: seeded random q, k, v for trying and testing the engine at any N. */
@Command(name = "gen", description = {
        "Writes seeded random q, k, v .npy files of shape (N, heads, headDim).",
        "DIR/q.npy, k.npy and v.npy hold standard-normal values that depend only on the seed, not on threads or "
                + "window sizes. Files are written window by window, so any N fits in bounded memory, and each "
                + "appears under its name only when complete."})
final class GenCommand extends BaseCommand {
    @Option(names = "--n", required = true, paramLabel = "N", converter = Sizes.LongConverter.class,
            description = "Sequence length (tokens), e.g. 1048576, 2^20 or 1M.")
    long n;

    @Option(names = "--heads", required = true, paramLabel = "H", converter = Sizes.IntConverter.class,
            description = "Attention heads.")
    int heads;

    @Option(names = "--head-dim", required = true, paramLabel = "D", converter = Sizes.IntConverter.class,
            description = "Dimension of each head.")
    int headDim;

    @Option(names = "--dtype", paramLabel = "TYPE", defaultValue = "f32", converter = NpyTypeConverter.class,
            completionCandidates = NpyTypeConverter.Names.class, description = "f32 or f16 (default: f32).")
    DType dtype;

    @Option(names = "--seed", paramLabel = "S", defaultValue = "0", description = "Random seed (default: 0).")
    long seed;

    @Option(names = "--out", required = true, paramLabel = "DIR", description = "Directory for q.npy, k.npy, v.npy (created if missing).")
    Path dir;

    @Option(names = "--force", description = "Replace q.npy, k.npy, v.npy if they exist.")
    boolean force;

    @Mixin
    ThreadOptions threads;

    @Option(names = "--json", description = "Print the summary as one JSON object.")
    boolean json;

    /** Rows per window; only tests set it, to show that it does not change the bytes. */
    @Option(names = "--window-rows", hidden = true, converter = Sizes.LongConverter.class)
    long windowRows;

    @Override
    boolean json() { return json; }

    @Override
    protected int execute() throws Exception {
        if (n < 1) throw usage("--n must be >= 1, got " + n);
        if (heads < 1) throw usage("--heads must be >= 1, got " + heads);
        if (headDim < 1) throw usage("--head-dim must be >= 1, got " + headDim);
        int threadCount = threads.threads();
        long bytes;
        try {
            bytes = Generator.bytes(n, heads, headDim, dtype);               // before anything is created
        } catch (IllegalArgumentException e) {
            throw usage(e.getMessage());
        }
        if (Files.exists(dir) && !Files.isDirectory(dir)) throw new Failure(dir + ": exists and is not a directory");
        Files.createDirectories(dir);
        dev.longnet.engine.job.Job.Builder job = dev.longnet.engine.job.Job.builder("longnet gen").force(force);
        for (String name : Generator.NAMES) job.output(dir.resolve(name));
        long start = System.nanoTime();
        // One run per output; on Ctrl-C the partial files (worth nothing) are removed, and a line says so.
        try (dev.longnet.engine.job.Job _ = job.start();
             ProgressDisplay bar = ProgressDisplay.start("gen", n, chatty())) {
            Generator.write(dir, n, heads, headDim, dtype, seed, threadCount, windowRows, bar::update);
        }
        double seconds = (System.nanoTime() - start) / 1e9;
        long peak = ProcSelf.peakRssBytes();
        String type = dtype.label();
        if (json) {
            result(Json.object().put("tokens", n).put("seconds", seconds).put("tokensPerSecond", n / seconds)
                    .put("bytes", bytes).put("peakRssBytes", peak).put("dtype", type).put("seed", seed)
                    .put("files", Generator.NAMES.stream().map(f -> dir.resolve(f).toString()).toList()).toString());
        } else {
            result(String.format(Locale.ROOT, "gen: wrote q, k, v (%d, %d, %d) %s, seed %d, to %s: %s in %.2f s, %,.0f tokens/s, peak RSS %s",
                    n, heads, headDim, type, seed, dir, Disk.human(bytes), seconds, n / seconds, Disk.human(peak)));
        }
        return 0;
    }
}
