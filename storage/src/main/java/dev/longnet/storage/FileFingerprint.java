package dev.longnet.storage;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;

/**
 * A cheap identity of a large file: SHA-256 of its header bytes, its size, and samples of its data (the first and
 * last MiB and 16 blocks of 64 KiB spread evenly between), so that a file regenerated, truncated or replaced is
 * told apart without reading it all. A change confined to unsampled bytes is not seen.
 */
public final class FileFingerprint {
    private static final int EDGE = 1 << 20;
    private static final int BLOCK = 64 << 10;
    private static final int BLOCKS = 16;

    private FileFingerprint() { }

    /** The fingerprint of {@code file}, whose data starts at {@code dataOffset}, as 64 hex digits. */
    public static String of(Path file, long dataOffset) throws IOException {
        return of(file, dataOffset, -1);
    }

    /**
     * The fingerprint of the first {@code length} bytes of {@code file} (shorter when the file is): what a resumed
     * reader of a file that may have grown since, such as a stream's input, compares.
     */
    public static String ofPrefix(Path file, long length) throws IOException {
        return of(file, 0, length);
    }

    private static String of(Path file, long dataOffset, long length) throws IOException {
        MessageDigest digest;
        try {
            digest = MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
        try (FileChannel channel = FileChannel.open(file, StandardOpenOption.READ)) {
            long size = length < 0 ? channel.size() : Math.min(length, channel.size());
            digest.update(ByteBuffer.allocate(8).putLong(size).flip());
            update(digest, channel, 0, Math.min(size, dataOffset));
            long data = Math.max(0, size - dataOffset);
            if (data <= 2L * EDGE + (long) BLOCKS * BLOCK) {
                update(digest, channel, dataOffset, data);
            } else {
                update(digest, channel, dataOffset, EDGE);
                long span = data - 2L * EDGE - BLOCK;
                for (int i = 0; i < BLOCKS; i++) update(digest, channel, dataOffset + EDGE + span * i / (BLOCKS - 1), BLOCK);
                update(digest, channel, size - EDGE, EDGE);
            }
        }
        return HexFormat.of().formatHex(digest.digest());
    }

    private static void update(MessageDigest digest, FileChannel channel, long position, long length) throws IOException {
        ByteBuffer buffer = ByteBuffer.allocate((int) Math.min(length, EDGE));
        long done = 0;
        while (done < length) {
            buffer.clear().limit((int) Math.min(buffer.capacity(), length - done));
            int read = channel.read(buffer, position + done);
            if (read < 0) break;
            buffer.flip();
            digest.update(buffer);
            done += read;
        }
    }
}
