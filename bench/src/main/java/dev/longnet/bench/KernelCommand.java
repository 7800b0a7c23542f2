package dev.longnet.bench;

import dev.longnet.engine.VectorAttentionKernel;
import java.util.Locale;
import java.util.concurrent.Callable;
import org.openjdk.jmh.results.RunResult;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code longnet bench kernel}: the attention tile benchmark as GFLOPS and as a fraction of the measured peak. */
@Command(name = "kernel", mixinStandardHelpOptions = true,
        description = "Runs the attention tile benchmark (JMH) and prints GFLOPS against the FMA peak measured first.")
final class KernelCommand implements Callable<Integer> {
    @Option(names = "--m", paramLabel = "M", split = ",", description = "Tile sizes (default 512,1024,2048).")
    String[] m = {"512", "1024", "2048"};

    @Option(names = "--d", paramLabel = "D", split = ",", description = "Head dimensions (default 64,128).")
    String[] d = {"64", "128"};

    @Option(names = "--shape", paramLabel = "SHAPE", split = ",", description = "Micro-kernel shapes: auto (as the engine picks for d), SINGLE "
            + "(6 rows x 1 vector), NARROW (6 x 2), WIDE (6 x 4) (default auto,NARROW,WIDE).")
    String[] shape = {"auto", "NARROW", "WIDE"};

    @Option(names = "--quiet", description = "Only the table.")
    boolean quiet;

    @Override
    public Integer call() throws Exception {
        double[] peak = Jmh.peak(true);
        System.out.printf(Locale.ROOT, "peak: %.1f GFLOPS one core, %.1f all cores%n", peak[0], peak[1]);
        System.out.println("benchmark      m     d  causal shape          ms/tile   GFLOPS  of peak");
        for (RunResult r : Jmh.run(KernelBenchmark.class.getName(), quiet, "m=" + String.join(",", m),
                "d=" + String.join(",", d), "shape=" + String.join(",", shape))) {
            var p = r.getParams();
            int tileM = Integer.parseInt(p.getParam("m"));
            int tileD = Integer.parseInt(p.getParam("d"));
            boolean causal = Boolean.parseBoolean(p.getParam("causal"));
            boolean all = p.getBenchmark().endsWith("AllCores");
            int threads = all ? p.getThreads() : 1;
            double ms = r.getPrimaryResult().getScore();
            double gflops = 4.0 * tileM * tileM * tileD / (causal ? 2 : 1) * threads / (ms * 1e6);
            String shown = p.getParam("shape").equals("auto")
                    ? "auto=" + VectorAttentionKernel.Shape.of(tileD).name() : p.getParam("shape");
            System.out.printf(Locale.ROOT, "%-12s %5d %5d  %-6s %-12s %9.3f %8.1f  %5.1f%%%n", all ? "all cores" : "one core",
                    tileM, tileD, causal, shown, ms, gflops, 100 * gflops / (all ? peak[1] : peak[0]));
        }
        return 0;
    }
}
