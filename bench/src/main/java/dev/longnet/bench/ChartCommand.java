package dev.longnet.bench;

import dev.longnet.storage.Json;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/**
 * {@code longnet bench chart}: µs/token and peak RSS against N, on linear axes from zero (so that flatness reads at a
 * glance), from the JSON summaries of {@code bench stream --json} and {@code attend --json} runs, one per line.
 */
@Command(name = "chart", mixinStandardHelpOptions = true,
        description = {"Draws µs/token and peak RSS against N from JSON lines of bench stream / attend --json runs",
                "(other lines are skipped); series: stream or batch, causal or bidirectional. Prints a markdown table."})
final class ChartCommand implements Callable<Integer> {
    static final Chart.Axis MICROS_PER_TOKEN = new Chart.Axis("µs/token", ScalePoint::microsPerToken, false);
    static final Chart.Axis PEAK_RSS = new Chart.Axis("peak RSS (MiB)", p -> p.peakRssBytes() / 1048576.0, false);

    @Parameters(paramLabel = "FILE", arity = "1..*", description = "Files of JSON lines.")
    List<Path> files;

    @Option(names = "--out", required = true, paramLabel = "SVG", description = "The chart to write.")
    Path out;

    @Option(names = "--peak-gflops", paramLabel = "GFLOPS", description = "The session's FMA peak, for the runs whose summary has no fraction of"
            + " peak (attend's); without it their fraction shows as a dash.")
    Double peakGflops;

    @Option(names = "--title", paramLabel = "TEXT", description = "The chart's title.")
    String title = "longnet-java: time per token and peak RSS against N";

    @Override
    public Integer call() throws IOException {
        List<ScalePoint> points = new ArrayList<>();
        for (Path file : files) {
            for (String line : Files.readAllLines(file)) {
                if (line.startsWith("{")) points.add(point((Map<?, ?>) Json.parse(line), peakGflops));
            }
        }
        if (points.isEmpty()) throw new IOException("no JSON summary in " + files);
        points.sort(Comparator.comparing(ScalePoint::series).thenComparingLong(ScalePoint::n));
        Files.writeString(out, Chart.svg(title, points, MICROS_PER_TOKEN, PEAK_RSS));
        System.out.println("| series | N | seconds | tokens/s | µs/token | GFLOPS | of peak | peak RSS | read / written |");
        System.out.println("|---|---|---|---|---|---|---|---|---|");
        points.forEach(p -> System.out.println(p.row()));
        return 0;
    }

    /** One run's summary: a stream's (it has streamSeconds) or a batch run's; {@code peak} may be null. */
    static ScalePoint point(Map<?, ?> run, Double peak) {
        boolean stream = run.containsKey("streamSeconds");
        Object config = run.get("config");
        boolean causal = config instanceof Map<?, ?> c ? Boolean.TRUE.equals(c.get("causal"))
                : String.valueOf(config).contains("causal=true");
        String series = (stream ? "stream" : "batch") + (causal ? " causal" : " bidirectional");
        double gflops = number(run, "gflops").doubleValue();
        double fraction = run.get("fractionOfPeak") instanceof Number f ? f.doubleValue()
                : peak != null ? gflops / peak : Double.NaN;
        return new ScalePoint(series, number(run, "tokens").longValue(),
                number(run, stream ? "streamSeconds" : "seconds").doubleValue(), number(run, "tokensPerSecond").doubleValue(),
                gflops, fraction,
                number(run, "peakRssBytes").longValue(),
                run.get("storageReadBytes") instanceof Number r ? r.longValue() : 0,
                run.get("storageWriteBytes") instanceof Number w ? w.longValue() : 0);
    }

    private static Number number(Map<?, ?> run, String key) {
        if (!(run.get(key) instanceof Number n)) throw new IllegalArgumentException("a run summary without " + key + ": " + run);
        return n;
    }
}
