package dev.longnet.storage;

import static java.nio.file.StandardCopyOption.ATOMIC_MOVE;
import static java.nio.file.StandardCopyOption.REPLACE_EXISTING;
import static java.nio.file.StandardOpenOption.CREATE;
import static java.nio.file.StandardOpenOption.READ;
import static java.nio.file.StandardOpenOption.TRUNCATE_EXISTING;
import static java.nio.file.StandardOpenOption.WRITE;

import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * The one way a file appears under its name only when complete: it is written as {@code NAME.partial} beside it,
 * forced, renamed over the name in one atomic step, and the directory is forced so that the rename survives a
 * power cut. Every writer of the project goes through here ({@link #write}, or {@link #commit} for a partial
 * written and resumed in place).
 */
public final class AtomicFile {
    /** What is appended to a name while its file is incomplete. */
    public static final String PARTIAL_SUFFIX = ".partial";

    private AtomicFile() { }

    /** Writes the body of a file into an open channel (positioned at 0, empty). */
    @FunctionalInterface
    public interface Body {
        void write(FileChannel channel) throws IOException;
    }

    /** Where {@code target} is written before it is complete: its name plus ".partial", beside it. */
    public static Path partial(Path target) {
        return target.resolveSibling(target.getFileName() + PARTIAL_SUFFIX);
    }

    /**
     * Writes {@code target} atomically: {@code body} fills {@code target.partial} (created or truncated), which is
     * forced and renamed over {@code target}. On failure the partial is removed and {@code target} is untouched.
     */
    public static void write(Path target, Body body) throws IOException {
        Path partial = partial(target);
        try (FileChannel channel = FileChannel.open(partial, CREATE, TRUNCATE_EXISTING, WRITE)) {
            body.write(channel);
            channel.force(true);
        } catch (IOException | RuntimeException | Error e) {
            deleteQuietly(partial);
            throw e;
        }
        rename(partial, target);
    }

    /** Forces {@code partial} (written elsewhere, now closed or about to be) and renames it over {@code target}. */
    public static void commit(Path partial, Path target) throws IOException {
        try (FileChannel channel = FileChannel.open(partial, READ, WRITE)) {
            channel.force(true);
        }
        rename(partial, target);
    }

    /** Renames a forced {@code partial} over {@code target} atomically and forces the directory. */
    public static void rename(Path partial, Path target) throws IOException {
        Files.move(partial, target, ATOMIC_MOVE, REPLACE_EXISTING);
        syncDirectory(target.toAbsolutePath().getParent());
    }

    /** Forces a directory's entries (a rename in it); best effort where the file system cannot. */
    public static void syncDirectory(Path dir) {
        if (dir == null) return;
        try (FileChannel d = FileChannel.open(dir, READ)) {
            d.force(true);
        } catch (IOException | RuntimeException e) {
            // the rename has happened; only its durability across a power cut is weaker here
        }
    }

    private static void deleteQuietly(Path file) {
        try {
            Files.deleteIfExists(file);
        } catch (IOException e) {
            // the original failure is what matters
        }
    }
}
