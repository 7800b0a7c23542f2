package dev.longnet.bench;

import java.util.Locale;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code longnet bench peak}: the Vector API FMA peak, per core and on all cores (JMH). */
@Command(name = "peak", mixinStandardHelpOptions = true,
        description = "Measures the fp32 FMA peak through the Vector API (JMH), per core and on all cores.")
final class PeakCommand implements Callable<Integer> {
    @Option(names = "--quiet", description = "Only the result line.")
    boolean quiet;

    @Override
    public Integer call() throws Exception {
        double[] peak = Jmh.peak(quiet);
        System.out.printf(Locale.ROOT, "peak fp32 FMA: %.1f GFLOPS on one core, %.1f GFLOPS on %d cores%n",
                peak[0], peak[1], Runtime.getRuntime().availableProcessors());
        return 0;
    }
}
