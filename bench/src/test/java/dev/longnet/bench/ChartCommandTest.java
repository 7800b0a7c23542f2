package dev.longnet.bench;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/** bench chart reads the runs' JSON lines, names the series and draws one line per series and panel. */
class ChartCommandTest {
    @TempDir
    Path dir;

    @Test
    void streamAndBatchRunsBecomeSeries() throws Exception {
        Path runs = dir.resolve("runs.txt");
        Files.write(runs, List.of(
                "# 2026-12-02 start --n 2^20 --causal",
                "{\"tokens\":1048576,\"seconds\":9.0,\"streamSeconds\":8.0,\"tokensPerSecond\":131072.0,\"gflops\":16.2,"
                        + "\"fractionOfPeak\":0.063,\"peakRssBytes\":437256192,\"config\":\"segments=2048 causal=true\"}",
                "{\"tokens\":4194304,\"seconds\":30.0,\"streamSeconds\":20.0,\"tokensPerSecond\":209715.2,\"gflops\":30.0,"
                        + "\"fractionOfPeak\":0.1,\"peakRssBytes\":440000000,\"config\":\"segments=2048 causal=true\"}",
                "{\"tokens\":4194304,\"seconds\":24.1,\"tokensPerSecond\":174037.5,\"gflops\":42.0,\"peakRssBytes\":691011584,"
                        + "\"storageReadBytes\":0,\"storageWriteBytes\":286261248,\"config\":{\"causal\":false}}"));
        Path svg = dir.resolve("chart.svg");
        int exit = new CommandLine(new BenchMain()).execute("chart", "--out", svg.toString(), runs.toString());
        assertEquals(0, exit);
        String chart = Files.readString(svg);
        assertEquals(4, Pattern.compile("<polyline").matcher(chart).results().count(), "two series in two panels");
        assertTrue(chart.contains(">stream causal<") && chart.contains(">batch bidirectional<"), chart);
        assertTrue(chart.contains("µs/token") && !chart.contains("log scale"), "linear axes from zero");

        java.util.Map<?, ?> batchRun = (java.util.Map<?, ?>) dev.longnet.storage.Json.parse(Files.readAllLines(runs).get(3));
        ScalePoint batch = ChartCommand.point(batchRun, null);
        assertEquals("batch bidirectional", batch.series());
        assertTrue(batch.row().contains("| — |"), batch.row());
        assertEquals(0.42, ChartCommand.point(batchRun, 100.0).fractionOfPeak(), 1e-12);
        assertEquals(1e6 / 174037.5, batch.microsPerToken(), 1e-9);
        assertEquals(286261248, batch.storageWriteBytes());
    }

    @Test
    void linearAxesStepInOnesTwosAndFives() {
        assertEquals(1, Chart.roundStep(0.7), 1e-12);
        assertEquals(2, Chart.roundStep(1.3), 1e-12);
        assertEquals(5, Chart.roundStep(2.6), 1e-12);
        assertEquals(100, Chart.roundStep(88), 1e-12);
        assertEquals(100, Chart.roundStep(100), 1e-12);
    }
}
