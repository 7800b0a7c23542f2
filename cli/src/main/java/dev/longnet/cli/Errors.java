package dev.longnet.cli;

import dev.longnet.engine.job.JobConflictException;
import dev.longnet.engine.job.OutputExistsException;
import dev.longnet.storage.NotEnoughSpaceException;
import dev.longnet.storage.TensorFormatException;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.UncheckedIOException;
import java.nio.file.AccessDeniedException;
import java.nio.file.DirectoryNotEmptyException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.FileSystemException;
import java.nio.file.NoSuchFileException;
import java.nio.file.NotDirectoryException;
import picocli.CommandLine;
import picocli.CommandLine.IExecutionExceptionHandler;
import picocli.CommandLine.IParameterExceptionHandler;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.ParseResult;

/**
 * Turns every error into one line on stderr, "longnet CMD: what went wrong", naming the file or flag: exit 2 for
 * bad usage (picocli's parse errors and invalid configurations), 1 for a failure of the work. --verbose adds the
 * stack trace.
 */
final class Errors implements IExecutionExceptionHandler, IParameterExceptionHandler {
    static final int FAILURE = 1;
    static final int USAGE = 2;

    @Override
    public int handleParseException(ParameterException e, String[] args) {
        CommandLine command = e.getCommandLine();
        PrintWriter err = command.getErr();
        err.println(prefix(command) + oneLine(e.getMessage()) + " (see '" + qualifiedName(command) + " --help')");
        err.flush();
        return USAGE;
    }

    @Override
    public int handleExecutionException(Exception e, CommandLine command, ParseResult parseResult) {
        PrintWriter err = command.getErr();
        err.println(prefix(command) + describe(e));
        if (verbose(parseResult)) e.printStackTrace(err);
        err.flush();
        return FAILURE;
    }

    /** What went wrong, in one line that names the file; for the exceptions the commands expect. */
    static String describe(Throwable e) {
        if (e instanceof UncheckedIOException && e.getCause() != null) return describe(e.getCause());
        String text = switch (e) {
            case NoSuchFileException n -> n.getReason() != null ? n.getReason() : n.getFile() + ": no such file or directory";
            case OutputExistsException x -> x.getFile() + ": output exists (use --force to replace it)";
            case FileAlreadyExistsException x -> x.getFile() + ": " + (x.getReason() != null ? x.getReason() : "already exists");
            case AccessDeniedException a -> a.getFile() + ": permission denied";
            case NotDirectoryException d -> d.getFile() + ": not a directory";
            case DirectoryNotEmptyException d -> d.getFile() + ": directory not empty";
            case FileSystemException f -> f.getMessage();
            case TensorFormatException t -> t.getMessage();
            case NotEnoughSpaceException n -> "disk full: " + n.getMessage();
            case IOException io -> io.getMessage() != null && io.getMessage().startsWith("disk full") ? io.getMessage()
                    : diskFull(io) ? "disk full: " + io.getMessage() : "I/O error: " + io.getMessage();
            case Failure f -> f.getMessage();
            case IllegalArgumentException r -> r.getMessage();
            case JobConflictException c -> c.getMessage() + (c.startOver() ? "; use --restart to start over" : "");
            case IllegalStateException r -> r.getMessage();
            case ArithmeticException r -> r.getMessage();
            default -> e.toString();
        };
        return oneLine(text != null ? text : e.getClass().getSimpleName());
    }

    /**
     * A write the OS refused for want of space. Java reports ENOSPC only as an IOException carrying strerror's
     * text, so that text is all there is to go by; the engine's own check before a run throws
     * {@link NotEnoughSpaceException}.
     */
    private static boolean diskFull(IOException e) {
        return e.getMessage() != null && e.getMessage().contains("No space left on device");
    }

    private static String oneLine(String text) {
        return text == null ? "" : text.replaceAll("\\s*\\R\\s*", "; ");
    }

    private static String prefix(CommandLine command) {
        return qualifiedName(command) + ": ";
    }

    private static String qualifiedName(CommandLine command) {
        return command.getCommandSpec().qualifiedName();
    }

    private static boolean verbose(ParseResult result) {
        for (ParseResult r = result; r != null; r = r.subcommand()) {
            if (r.hasMatchedOption("--verbose")) return true;
        }
        return false;
    }
}
