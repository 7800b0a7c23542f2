package dev.longnet.cli;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/**
 * Deletes temporary files (and the demo's temporary directory) if the JVM is stopped mid-command (Ctrl-C), for gen
 * and demo, whose partial files are worth nothing. (attend keeps its partial output and run directory: they are
 * what a later run resumes from.) Closing unregisters it once the command has finished either way.
 */
final class PartialCleanup implements AutoCloseable {
    private final Thread hook;

    PartialCleanup(List<Path> files) {
        this(files, null);
    }

    /** Directories among {@code files} are deleted whole; {@code tree}, when not null, is deleted whole as well. */
    PartialCleanup(List<Path> files, Path tree) {
        hook = new Thread(() -> {
            for (Path file : files) {
                try {
                    if (Files.isDirectory(file)) deleteTree(file);
                    else Files.deleteIfExists(file);
                } catch (IOException e) {
                    // best effort while the JVM goes down
                }
            }
            try {
                if (tree != null) deleteTree(tree);
            } catch (IOException e) {
                // best effort while the JVM goes down
            }
        }, "longnet-cleanup");
        Runtime.getRuntime().addShutdownHook(hook);
    }

    @Override
    public void close() {
        try {
            Runtime.getRuntime().removeShutdownHook(hook);
        } catch (IllegalStateException e) {
            // already shutting down: the hook runs
        }
    }

    static void deleteTree(Path dir) throws IOException { dev.longnet.storage.Disk.deleteTree(dir); }
}
