package dev.longnet.cli;

import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.Path;
import picocli.CommandLine.Option;

/** --force for commands that write files: an existing output is refused unless it is given. */
public final class ForceOption {
    @Option(names = "--force", description = "Replace outputs that exist.")
    boolean force;

    /** Refuses the first of files (nulls skipped) that exists, unless --force. */
    void check(Path... files) throws FileAlreadyExistsException {
        if (force) return;
        for (Path file : files) {
            if (file != null && Files.exists(file)) {
                throw new FileAlreadyExistsException(file.toString(), null, "exists (use --force to replace it)");
            }
        }
    }
}
