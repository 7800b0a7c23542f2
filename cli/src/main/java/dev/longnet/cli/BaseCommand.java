package dev.longnet.cli;

import java.io.PrintWriter;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;

/** What every subcommand shares: --help/--version, --quiet/--verbose, its streams, and errors as one line. */
@Command(mixinStandardHelpOptions = true, versionProvider = Main.Version.class, sortOptions = false,
        showDefaultValues = false)
abstract class BaseCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Mixin
    CommonOptions common;

    @Override
    public final Integer call() throws Exception {
        try {
            return execute();
        } catch (InternalError e) {
            throw new Failure(describeInternal(e), e);
        } catch (OutOfMemoryError e) {
            throw new Failure("out of Java heap (raise it with LONGNET_JAVA_OPTS=-Xmx4g): " + e.getMessage(), e);
        }
    }

    /**
     * One line for an error that is not an exception: the JVM reports a fault in a mapped file (the disk filled up,
     * or the file was truncated under us) as an InternalError.
     */
    static String describeInternal(Throwable e) {
        if (e instanceof InternalError) {
            return "I/O error on a mapped file (disk full, or a file truncated while in use): " + e.getMessage();
        }
        if (e instanceof OutOfMemoryError) {
            return "out of Java heap (raise it with LONGNET_JAVA_OPTS=-Xmx4g): " + e.getMessage();
        }
        return e.toString();
    }

    /** Runs the command; the exit code on success (0), or 1 for a failure already reported. */
    protected abstract int execute() throws Exception;

    /** True when stdout must hold exactly one JSON object. */
    boolean json() { return false; }

    /** Notes and progress are for a person: off under --quiet and --json. */
    boolean chatty() { return !common.quiet && !json(); }

    PrintWriter out() { return spec.commandLine().getOut(); }

    PrintWriter err() { return spec.commandLine().getErr(); }

    /** A line for the person watching, on stderr. */
    void note(String line) {
        if (!chatty()) return;
        err().println(line);
        err().flush();
    }

    /** The single result line (or JSON object) on stdout. */
    void result(String line) {
        out().println(line);
        out().flush();
    }

    /** A usage error (exit 2) naming the flag. */
    ParameterException usage(String message) {
        return new ParameterException(spec.commandLine(), message);
    }
}
