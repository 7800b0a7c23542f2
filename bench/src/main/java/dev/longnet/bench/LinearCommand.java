package dev.longnet.bench;

import java.util.Locale;
import java.util.concurrent.Callable;
import org.openjdk.jmh.results.RunResult;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code longnet bench linear}: the model's linear layers as GFLOPS and as a fraction of the one-core peak. */
@Command(name = "linear", mixinStandardHelpOptions = true,
        description = "Runs the linear-layer benchmark (JMH, one core) and prints GFLOPS against the FMA peak measured first.")
final class LinearCommand implements Callable<Integer> {
    @Option(names = "--shape", paramLabel = "INxOUT", split = ",", description = "in x out shapes (default: the bench models').")
    String[] shapes = {"128x128", "128x512", "512x128", "128x256", "256x256", "256x1024", "1024x256"};

    @Option(names = "--rows", paramLabel = "ROWS", split = ",", description = "Rows per call (default 256, a model chunk; 1 is a decoding step).")
    String[] rows = {"256"};

    @Option(names = "--quiet", description = "Only the table.")
    boolean quiet;

    @Override
    public Integer call() throws Exception {
        double[] peak = Jmh.peak(true);
        System.out.printf(Locale.ROOT, "peak: %.1f GFLOPS one core%n", peak[0]);
        System.out.println("   in    out  rows    µs/call   GFLOPS  of peak");
        for (RunResult r : Jmh.run(LinearBenchmark.class.getName(), quiet, "shape=" + String.join(",", shapes),
                "rows=" + String.join(",", rows))) {
            String[] s = r.getParams().getParam("shape").split("x");
            int in = Integer.parseInt(s[0]), out = Integer.parseInt(s[1]);
            int n = Integer.parseInt(r.getParams().getParam("rows"));
            double us = r.getPrimaryResult().getScore();
            double gflops = 2.0 * in * out * n / (us * 1e3);
            System.out.printf(Locale.ROOT, "%5d %6d %5d %10.2f %8.1f  %5.1f%%%n", in, out, n, us, gflops, 100 * gflops / peak[0]);
        }
        return 0;
    }
}
