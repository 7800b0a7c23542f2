package dev.longnet.bench;

import dev.longnet.storage.Disk;
import dev.longnet.storage.Json;
import dev.longnet.cli.ConfigOptions;
import dev.longnet.cli.Sizes;
import dev.longnet.cli.ThreadOptions;
import dev.longnet.engine.AttentionConfig;
import dev.longnet.engine.Level;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.LocalDateTime;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/**
 * {@code longnet bench scale}: gen + attend for N = min, min·step, ... up to what the disk allows, each attend
 * in its own JVM, plus vanilla dense attention (one level w = N, r = 1) while it stays feasible; writes CSV, JSON,
 * an SVG chart and a markdown table.
 */
@Command(name = "scale", mixinStandardHelpOptions = true,
        description = {"Scaling harness: tokens/s, GFLOPS, fraction of peak, peak RSS and I/O against N,",
                "for dilated attention and for dense attention (w = N, r = 1) as far as it is feasible."})
final class ScaleCommand implements Callable<Integer> {
    @Option(names = "--min-n", paramLabel = "N", description = "First N (default 2^16).")
    String minN = "2^16";

    @Option(names = "--max-n", paramLabel = "N", description = "Last N, if the disk allows (default 2^28).")
    String maxN = "2^28";

    @Option(names = "--step", paramLabel = "FACTOR", description = "Factor between points (default 4).")
    int step = 4;

    @Option(names = "--heads", paramLabel = "H", description = "Heads (default 1).")
    int heads = 1;

    @Option(names = "--head-dim", paramLabel = "D", description = "Head dimension (default 16).")
    int headDim = 16;

    @Mixin
    ConfigOptions levels;                                // default: --preset bench

    @Option(names = "--dtype", paramLabel = "TYPE", description = "Input dtype, f32 or f16 (default f16: half the disk).")
    String dtype = "f16";

    @Mixin
    ThreadOptions threadOptions;

    @Option(names = "--dense-max-seconds", paramLabel = "SECONDS", description = "Stop the dense series when a point would take longer (default 120).")
    double denseMaxSeconds = 120;

    @Option(names = "--no-dense", description = "Skip the dense series.")
    boolean noDense;

    @Option(names = "--peak-gflops", paramLabel = "GFLOPS", description = "All-core FMA peak in GFLOPS; measured with JMH when not given.")
    Double peakGflops;

    @Option(names = {"--out", "--results"}, paramLabel = "DIR",
            description = "Results directory (default results/scale-DATE); --results is the old name.")
    Path results;

    @Option(names = "--work-dir", paramLabel = "DIR", description = "Where the generated files go (default RESULTS/data); emptied after each N.")
    Path workDir;

    @Override
    public Integer call() throws Exception {
        long min = Sizes.parse(minN), max = Sizes.parse(maxN);
        if (results == null) {
            results = Path.of("results", "scale-" + LocalDateTime.now().format(DateTimeFormatter.ofPattern("yyyyMMdd-HHmmss")));
        }
        if (workDir == null) workDir = results.resolve("data");
        Files.createDirectories(workDir);
        AttentionConfig config = levels.build(heads, headDim, "bench");
        List<String> levelArgs = ConfigOptions.args(config);
        int threads = threadOptions.threads();

        long bytesPerToken = (long) heads * headDim * (3L * ("f32".equals(dtype) ? 4 : 2) + 4) + heads * 4L;
        long free = Files.getFileStore(workDir).getUsableSpace();
        long feasible = min;
        while (feasible * step <= max && feasible * step * bytesPerToken < free * 0.9) feasible *= step;
        if (feasible * bytesPerToken >= free * 0.9) throw new IOException("not even N=" + min + " fits the free disk in " + workDir);
        System.out.printf(Locale.ROOT, "scale: %s; %s free in %s: going up to N=2^%d (asked 2^%d)%n", config,
                Disk.human(free), workDir, log2(feasible), log2(max));

        double peak = peakGflops != null ? peakGflops : Jmh.peak(true)[1];
        System.out.printf(Locale.ROOT, "scale: all-core FMA peak %.1f GFLOPS%n", peak);
        List<ScalePoint> points = new ArrayList<>();
        boolean dense = !noDense;
        for (long n = min; n <= feasible; n *= step) {
            Path dir = workDir.resolve("n" + n);
            List<String> files = List.of("--q", dir.resolve("q.npy").toString(), "--k", dir.resolve("k.npy").toString(),
                    "--v", dir.resolve("v.npy").toString(), "--out", dir.resolve("out.npy").toString(),
                    "--out-dtype", "f32", "--threads", Integer.toString(threads), "--force");
            ChildRun.longnet(List.of("gen", "--n", Long.toString(n), "--heads", Integer.toString(heads), "--head-dim",
                    Integer.toString(headDim), "--dtype", dtype, "--seed", "1", "--out", dir.toString(), "--force"));
            points.add(point("dilated", n, peak, concat(List.of("attend"), files, levelArgs)));
            report(points.getLast());
            if (dense) {
                // Dense runs at about a quarter of the peak here; small points are too short to measure it from.
                double predicted = 4.0 * n * n * headDim * heads / (peak / 4 * 1e9);
                if (predicted > denseMaxSeconds) {
                    System.out.printf(Locale.ROOT, "scale: dense stops before N=2^%d (predicted %.0f s > %.0f s)%n",
                            log2(n), predicted, denseMaxSeconds);
                    dense = false;
                } else {
                    List<String> denseLevels = List.of("--segments", Long.toString(n), "--dilations", "1");
                    points.add(point("dense", n, peak, concat(List.of("attend"), files, denseLevels,
                            config.causal() ? List.of("--causal") : List.of())));
                    report(points.getLast());
                }
            }
            deleteTree(dir);
        }
        write(points, config, peak, threads);
        return 0;
    }

    private static ScalePoint point(String series, long n, double peak, List<String> args) throws Exception {
        Map<String, Double> r = ChildRun.longnet(args);
        double gflops = r.get("gflops");
        return new ScalePoint(series, n, r.get("seconds"), r.get("tokensPerSecond"), gflops, gflops / peak,
                r.get("peakRssBytes").longValue(), r.get("storageReadBytes").longValue(),
                r.get("storageWriteBytes").longValue());
    }

    private static void report(ScalePoint p) {
        System.out.printf(Locale.ROOT, "scale: %-7s N=2^%-2d %8.1f s %,12.0f tokens/s %7.1f GFLOPS (%4.1f%% of peak) peak RSS %s%n",
                p.series(), log2(p.n()), p.seconds(), p.tokensPerSecond(), p.gflops(), 100 * p.fractionOfPeak(),
                Disk.human(p.peakRssBytes()));
    }

    private void write(List<ScalePoint> points, AttentionConfig config, double peak, int threads) throws IOException {
        Files.writeString(results.resolve("scale.csv"),
                ScalePoint.CSV_HEADER + "\n" + points.stream().map(ScalePoint::csv).collect(Collectors.joining("\n")) + "\n");
        Files.writeString(results.resolve("scale.json"), Json.object().put("config", config)
                .put("peakGflops", peak).put("threads", threads)
                .put("points", points.stream().map(ScalePoint::json).toList()) + "\n");
        String title = String.format(Locale.ROOT, "longnet-java scaling: H=%d d=%d %s%s, %d threads", heads, headDim,
                config.levels().stream().map(Level::toString).collect(Collectors.joining(" ")),
                config.causal() ? " causal" : "", threads);
        Files.writeString(results.resolve("scale.svg"), Chart.svg(title, points));
        Files.writeString(results.resolve("scale.md"), "| series | N | seconds | tokens/s | µs/token | GFLOPS | of peak | peak RSS | read / written |\n"
                + "|---|---|---|---|---|---|---|---|---|\n"
                + points.stream().map(ScalePoint::row).collect(Collectors.joining("\n")) + "\n");
        System.out.println("scale: wrote " + results.resolve("scale.csv") + ", scale.json, scale.svg, scale.md");
    }

    @SafeVarargs
    private static List<String> concat(List<String>... parts) {
        return Stream.of(parts).flatMap(List::stream).toList();
    }

    private static int log2(long n) { return 63 - Long.numberOfLeadingZeros(n); }

    private static void deleteTree(Path dir) throws IOException { dev.longnet.storage.Disk.deleteTree(dir); }
}
