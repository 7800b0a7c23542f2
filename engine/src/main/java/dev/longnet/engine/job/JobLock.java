package dev.longnet.engine.job;

import dev.longnet.storage.Disk;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.BasicFileAttributes;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

/**
 * One run per output or state: an exclusive lock on a lock file ({@code OUT.run/lock} for attend, {@code OUT.lock}
 * beside another command's output, {@code STATE/lock} in a state directory), held for the whole run and released
 * by the OS when the process dies, so a second run of the same output or state (or a resume while the first is
 * alive) is refused. The file names the holder's pid for the refusal message.
 *
 * <p>Two traps of POSIX record locks are avoided: closing any descriptor of the file releases every lock the
 * process holds on it, so this process never opens the lock file a second time while it holds it (a second run
 * inside the same JVM is refused from a table of held locks); and a lock taken on a file that the finishing
 * holder removed meanwhile is worthless, so after locking, the name must still lead to the file that was opened
 * (compared by file key, which a stat reads without opening the file).
 */
public final class JobLock implements AutoCloseable {
    private static final Set<Path> HELD = ConcurrentHashMap.newKeySet();

    private final Path file;
    private final Path guarded;
    private final FileChannel channel;
    private final FileLock lock;
    private boolean closed;

    private JobLock(Path file, Path guarded, FileChannel channel, FileLock lock) {
        this.file = file;
        this.guarded = guarded;
        this.channel = channel;
        this.lock = lock;
    }

    /**
     * Takes the lock in {@code lockFile} (creating its directory and the file) for the file or directory
     * {@code guarded} that the message names; refuses with a {@link JobConflictException} when another run, in this
     * process or another, holds it.
     */
    public static JobLock acquire(Path lockFile, Path guarded) throws IOException {
        Path file = lockFile.toAbsolutePath().normalize();
        if (!HELD.add(file)) throw held(guarded, ProcessHandle.current().pid() + "", file);
        try {
            JobLock lock = tryAcquire(guarded, file);
            if (lock != null) return lock;
        } catch (IOException | RuntimeException e) {
            HELD.remove(file);
            throw e;
        }
        HELD.remove(file);
        throw new IOException(file + ": could not take the run's lock (its directory keeps disappearing)");
    }

    private static JobLock tryAcquire(Path guarded, Path file) throws IOException {
        byte[] pid = (ProcessHandle.current().pid() + "\n").getBytes(StandardCharsets.US_ASCII);
        for (int attempt = 0; attempt < 20; attempt++) {
            Object key;
            FileChannel channel;
            try {
                Files.createDirectories(file.getParent());
                try {
                    Files.createFile(file);
                } catch (FileAlreadyExistsException e) {
                    // an earlier run's, or a live run's: the lock says which
                }
                key = fileKey(file);
                channel = FileChannel.open(file, StandardOpenOption.READ, StandardOpenOption.WRITE);
            } catch (NoSuchFileException e) {
                continue;                                 // removed by the run that held it, as it finished
            }
            FileLock lock = channel.tryLock();
            if (lock == null) {
                String holder = holder(channel);
                channel.close();
                throw held(guarded, holder, file);
            }
            Object now = fileKey(file);
            if (key != null && key.equals(now)) {
                try {
                    channel.truncate(0);
                    Disk.writeFully(channel, ByteBuffer.wrap(pid), 0);
                    return new JobLock(file, guarded, channel, lock);
                } catch (IOException | RuntimeException e) {
                    channel.close();
                    throw e;
                }
            }
            channel.close();                              // the name leads elsewhere now: take the new file's lock
        }
        return null;
    }

    private static JobConflictException held(Path guarded, String holder, Path file) {
        return new JobConflictException(guarded + " is being computed by another run (process " + holder
                + ", lock " + file + "): one run per output; wait for it to finish, or stop it and run again to"
                + " resume");
    }

    private static Object fileKey(Path file) throws IOException {
        try {
            return Files.readAttributes(file, BasicFileAttributes.class).fileKey();
        } catch (NoSuchFileException e) {
            return null;
        }
    }

    private static String holder(FileChannel channel) {
        try {
            ByteBuffer b = ByteBuffer.allocate(32);
            channel.read(b, 0);
            String text = new String(b.array(), 0, b.position(), StandardCharsets.US_ASCII).trim();
            return text.isEmpty() ? "unknown" : text;
        } catch (IOException e) {
            return "unknown";
        }
    }

    /**
     * The pid of the live process that holds the lock in {@code lockFile}, or empty when none does (no such file,
     * or a lock file left by a run that ended). For watchers such as {@code stat}: it takes and at once releases a
     * shared lock on the file when it is free, so a run starting at that instant could be refused once.
     */
    public static java.util.OptionalLong holder(Path lockFile) throws IOException {
        Path file = lockFile.toAbsolutePath().normalize();
        if (HELD.contains(file)) return java.util.OptionalLong.of(ProcessHandle.current().pid());
        try (FileChannel channel = FileChannel.open(file, StandardOpenOption.READ)) {
            FileLock probe = channel.tryLock(0, Long.MAX_VALUE, true);
            if (probe != null) {
                probe.release();
                return java.util.OptionalLong.empty();
            }
            String pid = holder(channel);
            try {
                return java.util.OptionalLong.of(Long.parseLong(pid));
            } catch (NumberFormatException e) {
                return java.util.OptionalLong.of(-1);   // held, by a process that has not written its pid yet
            }
        } catch (NoSuchFileException e) {
            return java.util.OptionalLong.empty();
        }
    }

    /** The lock file. */
    public Path file() { return file; }

    /** What the lock guards: the output or the state directory. */
    public Path guarded() { return guarded; }

    /**
     * Removes the lock file, then releases the lock: for a run that finished (a run that starts meanwhile finds
     * the name leading to a new file, and takes that one's lock).
     */
    public void deleteAndClose() {
        try {
            Files.deleteIfExists(file);
        } catch (IOException e) {
            // a lock file left behind is harmless: the next run takes its lock
        }
        close();
    }

    /** Releases the lock; the file stays. */
    @Override
    public void close() {
        if (closed) return;
        closed = true;
        try {
            channel.close();                              // releases the lock
        } catch (IOException e) {
            // the descriptor is gone either way, and with it the lock
        } finally {
            HELD.remove(file);
        }
    }
}
