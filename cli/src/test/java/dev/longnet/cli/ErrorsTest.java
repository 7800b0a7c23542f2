package dev.longnet.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.longnet.engine.RunConflictException;
import dev.longnet.engine.job.JobConflictException;
import dev.longnet.engine.job.OutputExistsException;
import dev.longnet.storage.TensorFormatException;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.AccessDeniedException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;

/** The one-line messages for the failures that are hard to cause in a test (full disk, permissions). */
class ErrorsTest {
    @Test
    void eachFailureIsOneLineNamingTheFile() {
        assertEquals("a.npy: no such file or directory", Errors.describe(new NoSuchFileException("a.npy")));
        assertEquals("cannot create d/o.npy: its directory does not exist",
                Errors.describe(new NoSuchFileException("d", null, "cannot create d/o.npy: its directory does not exist")));
        assertEquals("o.npy: output exists (use --force to replace it)",
                Errors.describe(new FileAlreadyExistsException("o.npy", null, "output exists (use --force to replace it)")));
        assertEquals("o.npy: exists", Errors.describe(new FileAlreadyExistsException("o.npy", null, "exists")));
        assertEquals("o.npy: permission denied", Errors.describe(new AccessDeniedException("o.npy")));
        assertEquals("disk full: No space left on device", Errors.describe(new IOException("No space left on device")));
        assertEquals("disk full while writing o.partial (No space left on device); free space, then run the same"
                + " command to start again", Errors.describe(new IOException("disk full while writing o.partial (No space"
                + " left on device); free space, then run the same command to start again")));
        assertEquals("I/O error: Input/output error", Errors.describe(new UncheckedIOException(new IOException("Input/output error"))));
        assertEquals("x.npy: bad header", Errors.describe(new TensorFormatException(Path.of("x.npy"), "bad header")));
        assertEquals("first; second", Errors.describe(new IllegalArgumentException("first\nsecond")));
        assertEquals("java.lang.NullPointerException", Errors.describe(new NullPointerException()));
    }

    @Test
    void theCommandLineAddsItsFlagsToTheLibrarysConflicts() {
        // The engine names no flag; the command line says which of its flags resolves the conflict.
        assertEquals("o.npy: output exists (use --force to replace it)",
                Errors.describe(new OutputExistsException(Path.of("o.npy"))));
        assertEquals("cannot resume the run in o.npy.run: the configuration changed; use --restart to start over",
                Errors.describe(new RunConflictException("cannot resume the run in o.npy.run: the configuration changed",
                        true)));
        assertEquals("o.npy is being computed by another run", Errors.describe(
                new JobConflictException("o.npy is being computed by another run")));
    }
}
