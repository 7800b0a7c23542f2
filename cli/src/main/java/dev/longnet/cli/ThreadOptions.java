package dev.longnet.cli;

import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;

/** --threads, shared by the commands that compute. */
public final class ThreadOptions {
    @Spec(Spec.Target.MIXEE)
    CommandSpec mixee;

    @Option(names = "--threads", paramLabel = "T", converter = Sizes.IntConverter.class,
            description = "Worker threads (default: all cores).")
    Integer threads;

    int threads() {
        if (threads == null) return Runtime.getRuntime().availableProcessors();
        if (threads < 1) throw new ParameterException(mixee.commandLine(), "--threads must be >= 1, got " + threads);
        return threads;
    }
}
