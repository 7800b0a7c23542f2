package dev.longnet.storage;

import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.FileStore;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.Locale;
import java.util.zip.CRC32C;

/** What every writer of large files needs: byte counts for people, the free-space check, whole reads and writes. */
public final class Disk {
    /** Bytes per buffer handed to a channel or a checksum: a ByteBuffer holds at most 2^31-1. */
    private static final long SLICE = 1L << 30;

    private Disk() { }

    /** Bytes in binary units, one decimal: "412.3 MiB"; "n/a" for a negative count. */
    public static String human(long bytes) {
        if (bytes < 0) return "n/a";
        if (bytes < 1024) return bytes + " B";
        String[] units = {"KiB", "MiB", "GiB", "TiB", "PiB", "EiB"};
        double value = bytes;
        int unit = -1;
        while (value >= 1024 && unit < units.length - 1) {
            value /= 1024;
            unit++;
        }
        return String.format(Locale.ROOT, "%.1f %s", value, units[unit]);
    }

    /**
     * Checks, before anything is written, that {@code file}'s directory exists, is on a writable file system and
     * has {@code needed} bytes free; {@code what} names what needs them.
     *
     * @throws NotEnoughSpaceException when the disk is too full
     */
    public static void requireSpace(Path file, long needed, String what) throws IOException {
        Path parent = file.toAbsolutePath().getParent();
        if (parent == null || !Files.isDirectory(parent)) {
            throw new NoSuchFileException(String.valueOf(parent), null,
                    "cannot create " + file + ": its directory does not exist");
        }
        FileStore store = Files.getFileStore(parent);
        if (store.isReadOnly()) {
            throw new java.nio.file.FileSystemException(parent.toString(), null,
                    "is on a read-only file system (cannot write " + file.getFileName() + ")");
        }
        if (!Files.isWritable(parent)) throw new java.nio.file.AccessDeniedException(parent.toString());
        long free = store.getUsableSpace();
        if (free < needed) throw new NotEnoughSpaceException(parent, needed, free, what);
    }

    /**
     * Refuses what is not a regular file before opening it: a directory, and a FIFO or a device (opening or reading
     * one can block forever).
     */
    public static void requireRegularFile(Path file) throws IOException {
        if (Files.isRegularFile(file)) return;
        if (Files.isDirectory(file)) throw new TensorFormatException(file, "is a directory, not a tensor file");
        if (!Files.exists(file)) throw new NoSuchFileException(file.toString());
        throw new TensorFormatException(file, "is not a regular file (a pipe, a socket or a device); tensors are read"
                + " from regular files only");
    }

    /** Writes all of {@code s} at {@code position}. */
    public static void writeFully(FileChannel channel, MemorySegment s, long position) throws IOException {
        for (long at = 0; at < s.byteSize(); at += SLICE) writeFully(channel, slice(s, at), position + at);
    }

    /** Writes all of {@code b} at {@code position}. */
    public static void writeFully(FileChannel channel, ByteBuffer b, long position) throws IOException {
        int start = b.position();
        while (b.hasRemaining()) channel.write(b, position + b.position() - start);
    }

    /** Fills {@code s} from {@code position}; a file that ends first is an error naming {@code file}. */
    public static void readFully(FileChannel channel, MemorySegment s, long position, Path file) throws IOException {
        for (long at = 0; at < s.byteSize(); at += SLICE) {
            ByteBuffer b = slice(s, at);
            while (b.hasRemaining()) {
                if (channel.read(b, position + at + b.position()) < 0) {
                    throw new java.io.EOFException(file + ": ends at byte " + (position + at + b.position())
                            + ", before the " + s.byteSize() + " bytes expected from byte " + position);
                }
            }
        }
    }

    /** Up to {@code length} bytes from {@code position}, fewer where the file ends (the caller says what is missing). */
    public static ByteBuffer readAtMost(FileChannel channel, long position, int length) throws IOException {
        ByteBuffer buffer = ByteBuffer.allocate(length);
        while (buffer.hasRemaining()) {
            if (channel.read(buffer, position + buffer.position()) < 0) break;
        }
        return buffer.flip();
    }

    /** CRC32C of the bytes of the given segments, in order. */
    public static long crc32c(MemorySegment... segments) {
        CRC32C crc = new CRC32C();
        for (MemorySegment s : segments) {
            for (long at = 0; at < s.byteSize(); at += SLICE) crc.update(slice(s, at));
        }
        return crc.getValue();
    }

    /**
     * Removes {@code dir} and everything under it; nothing when it does not exist. Links are removed, never
     * followed (a link inside the tree to a file elsewhere leaves that file alone).
     */
    public static void deleteTree(Path dir) throws IOException {
        if (!Files.exists(dir, java.nio.file.LinkOption.NOFOLLOW_LINKS)) return;
        Files.walkFileTree(dir, new java.nio.file.SimpleFileVisitor<>() {
            @Override
            public java.nio.file.FileVisitResult visitFile(Path file, java.nio.file.attribute.BasicFileAttributes attrs)
                    throws IOException {
                Files.deleteIfExists(file);
                return java.nio.file.FileVisitResult.CONTINUE;
            }

            @Override
            public java.nio.file.FileVisitResult postVisitDirectory(Path d, IOException e) throws IOException {
                if (e != null) throw e;
                Files.deleteIfExists(d);
                return java.nio.file.FileVisitResult.CONTINUE;
            }
        });
    }

    private static ByteBuffer slice(MemorySegment s, long at) {
        return s.asSlice(at, Math.min(SLICE, s.byteSize() - at)).asByteBuffer();
    }
}
