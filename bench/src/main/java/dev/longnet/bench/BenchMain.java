package dev.longnet.bench;

import picocli.CommandLine;
import picocli.CommandLine.Command;

/** {@code longnet bench}: the machine's peak, the kernel benchmarks and the scaling harness. */
@Command(name = "longnet bench", mixinStandardHelpOptions = true,
        description = "Benchmarks whose numbers docs/BENCHMARKS.md reports.",
        subcommands = {PeakCommand.class, KernelCommand.class, LinearCommand.class, ScaleCommand.class,
                StreamBenchCommand.class, ChartCommand.class})
public final class BenchMain implements Runnable {
    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Override
    public void run() { spec.commandLine().usage(spec.commandLine().getErr()); }

    public static void main(String[] args) {
        System.exit(new CommandLine(new BenchMain()).setExecutionExceptionHandler((e, cmd, parsed) -> {
            cmd.getErr().println("longnet bench: " + e.getMessage());
            return 1;
        }).execute(args));
    }
}
