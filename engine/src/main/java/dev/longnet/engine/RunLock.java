package dev.longnet.engine;

import dev.longnet.storage.Disk;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.channels.OverlappingFileLockException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;

/**
 * One run per output: an exclusive lock on {@code OUT.run/lock}, held for the whole run and released by the OS
 * when the process dies, so a second run of the same output (or a resume while the first is alive) is refused.
 * The file names the holder's pid for the refusal message. A lock taken on a file that the finishing holder removed
 * in the meantime is worthless, so after locking the file's contents are read back through its name.
 */
final class RunLock implements AutoCloseable {
    private final Path file;
    private final FileChannel channel;
    private final FileLock lock;

    private RunLock(Path file, FileChannel channel, FileLock lock) {
        this.file = file;
        this.channel = channel;
        this.lock = lock;
    }

    /** Takes the lock of {@code files}' run, creating its directory; refuses when another process holds it. */
    static RunLock acquire(RunFiles files) throws IOException {
        Path file = files.lock();
        String token = ProcessHandle.current().pid() + " " + System.nanoTime() + "\n";
        for (int attempt = 0; attempt < 20; attempt++) {
            Files.createDirectories(files.directory());
            FileChannel channel;
            try {
                channel = FileChannel.open(file, StandardOpenOption.CREATE, StandardOpenOption.READ,
                        StandardOpenOption.WRITE);
            } catch (NoSuchFileException e) {
                continue;                                 // the directory was removed by the run finishing
            }
            FileLock lock;
            try {
                lock = channel.tryLock();
            } catch (OverlappingFileLockException e) {
                lock = null;                              // this process runs it already
            }
            if (lock == null) {
                String holder = holder(channel);
                channel.close();
                throw new RunConflictException(files.out() + " is being computed by another run (process " + holder
                        + ", lock " + file + "): one run per output; wait for it to finish, or stop it and run again"
                        + " to resume");
            }
            try {
                channel.truncate(0);
                Disk.writeFully(channel, ByteBuffer.wrap(token.getBytes(StandardCharsets.US_ASCII)), 0);
                if (token.equals(readQuietly(file))) return new RunLock(file, channel, lock);
            } catch (IOException | RuntimeException e) {
                lock.release();
                channel.close();
                throw e;
            }
            lock.release();
            channel.close();
        }
        throw new IOException(file + ": could not take the run's lock (its directory keeps disappearing)");
    }

    private static String holder(FileChannel channel) {
        try {
            ByteBuffer b = ByteBuffer.allocate(64);
            channel.read(b, 0);
            String text = new String(b.array(), 0, b.position(), StandardCharsets.US_ASCII).trim();
            int space = text.indexOf(' ');
            return space > 0 ? text.substring(0, space) : "unknown";
        } catch (IOException e) {
            return "unknown";
        }
    }

    private static String readQuietly(Path file) {
        try {
            return Files.readString(file, StandardCharsets.US_ASCII);
        } catch (IOException e) {
            return null;
        }
    }

    Path file() { return file; }

    /** Releases the lock; the file stays (a removed lock file is {@link RunFiles#deleteDirectory}'s job). */
    @Override
    public void close() {
        try {
            if (lock.isValid()) lock.release();
            channel.close();
        } catch (IOException e) {
            // closing the channel releases the lock whatever happens
        }
    }
}
