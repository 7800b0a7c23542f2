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

    /** Most threads per core: more only costs memory and switches (and 2^29 of them never start). */
    static final int MAX_PER_CORE = 4;

    public int threads() {
        int cores = Runtime.getRuntime().availableProcessors();
        if (threads == null) return cores;
        if (threads < 1) throw new ParameterException(mixee.commandLine(), "--threads must be >= 1, got " + threads);
        if (threads > MAX_PER_CORE * cores) {
            throw new ParameterException(mixee.commandLine(), "--threads " + threads + " is more than " + MAX_PER_CORE
                    + " per core (this machine has " + cores + " cores: at most " + MAX_PER_CORE * cores + ")");
        }
        return threads;
    }
}
