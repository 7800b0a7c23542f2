package dev.longnet.cli;

import picocli.CommandLine.Option;

/** --quiet and --verbose, shared by every command. */
public final class CommonOptions {
    @Option(names = "--quiet", order = 100, description = "No progress bar and no notes on stderr; results and errors still print.")
    boolean quiet;

    @Option(names = "--verbose", order = 101, description = "Stack traces with errors.")
    boolean verbose;
}
