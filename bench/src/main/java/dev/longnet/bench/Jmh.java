package dev.longnet.bench;

import dev.longnet.storage.ChildJvm;
import java.util.Collection;
import org.openjdk.jmh.results.RunResult;
import org.openjdk.jmh.runner.Runner;
import org.openjdk.jmh.runner.RunnerException;
import org.openjdk.jmh.runner.options.ChainedOptionsBuilder;
import org.openjdk.jmh.runner.options.OptionsBuilder;
import org.openjdk.jmh.runner.options.VerboseMode;

/** Runs JMH benchmarks from the harness with the project's JVM flags (this JVM's, from the launcher) in the forks. */
final class Jmh {
    private Jmh() { }

    static Collection<RunResult> run(String include, boolean quiet, String... params) throws RunnerException {
        ChainedOptionsBuilder options = new OptionsBuilder().include(include).jvmArgsAppend(ChildJvm.flags().toArray(String[]::new))
                .verbosity(quiet ? VerboseMode.SILENT : VerboseMode.NORMAL);
        for (String p : params) {
            String[] kv = p.split("=", 2);
            options.param(kv[0], kv[1].split(","));
        }
        return new Runner(options.build()).run();
    }

    /** The fp32 FMA peak in GFLOPS: [one core, all cores]. */
    static double[] peak(boolean quiet) throws RunnerException {
        double one = 0, all = 0;
        for (RunResult r : run(PeakFmaBenchmark.class.getName(), quiet)) {
            double gflops = r.getPrimaryResult().getScore();                 // flops per ns = GFLOP/s
            if (r.getParams().getBenchmark().endsWith("oneCore")) one = gflops;
            else all = gflops;
        }
        return new double[]{one, all};
    }
}
