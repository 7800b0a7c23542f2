package dev.longnet.cli;

import java.io.IOException;
import java.nio.file.FileVisitResult;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.SimpleFileVisitor;
import java.nio.file.attribute.BasicFileAttributes;
import java.util.List;

/**
 * Deletes a run's temporary files (and the demo's temporary directory) if the JVM is stopped mid-run (Ctrl-C): the
 * engine's own cleanup runs only when the run fails by an exception. Closing unregisters it once the run has
 * finished either way.
 */
final class PartialCleanup implements AutoCloseable {
    private final Thread hook;

    PartialCleanup(List<Path> files) {
        this(files, null);
    }

    /** {@code tree}, when not null, is deleted whole as well. */
    PartialCleanup(List<Path> files, Path tree) {
        hook = new Thread(() -> {
            try {
                for (Path file : files) Files.deleteIfExists(file);
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

    static void deleteTree(Path dir) throws IOException {
        if (!Files.exists(dir)) return;
        Files.walkFileTree(dir, new SimpleFileVisitor<>() {
            @Override
            public FileVisitResult visitFile(Path file, BasicFileAttributes attrs) throws IOException {
                Files.deleteIfExists(file);
                return FileVisitResult.CONTINUE;
            }

            @Override
            public FileVisitResult postVisitDirectory(Path d, IOException e) throws IOException {
                Files.deleteIfExists(d);
                return FileVisitResult.CONTINUE;
            }
        });
    }
}
