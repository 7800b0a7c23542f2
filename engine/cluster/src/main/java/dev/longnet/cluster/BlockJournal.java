package dev.longnet.cluster;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import static java.nio.file.StandardOpenOption.APPEND;
import static java.nio.file.StandardOpenOption.CREATE;
import static java.nio.file.StandardOpenOption.READ;
import static java.nio.file.StandardOpenOption.TRUNCATE_EXISTING;
import static java.nio.file.StandardOpenOption.WRITE;

/**
 * The journal of one block's stages ({@code OUT.cluster/block-I.journal}): "start" before the first write, "begin K"
 * once stage K's before-image is saved, "done K" once its rows are durable, each line forced. Stages run in order,
 * so a re-run skips the done prefix and repairs the rows of the stage that was cut: zeros before the first stage
 * finished, the before-image ({@code block-I.undo}: the block's out rows, then its lse rows) after.
 */
final class BlockJournal {
    private final Path file;
    private final Path undo;
    private final boolean started;
    private final int lastDone;
    private final int begun;

    private BlockJournal(Path file, Path undo, boolean started, int lastDone, int begun) {
        this.file = file;
        this.undo = undo;
        this.started = started;
        this.lastDone = lastDone;
        this.begun = begun;
    }

    static BlockJournal open(Path dir, int block) throws IOException {
        Path file = dir.resolve("block-" + block + ".journal");
        boolean started = false;
        int done = -1;
        int begun = -1;
        if (Files.exists(file)) {
            List<String> lines = Files.readAllLines(file, StandardCharsets.US_ASCII);
            for (String line : lines) {
                if (line.equals("start")) started = true;
                else if (line.startsWith("done ")) done = Integer.parseInt(line.substring(5));
                else if (line.startsWith("begin ")) begun = Integer.parseInt(line.substring(6));
            }
        }
        return new BlockJournal(file, dir.resolve("block-" + block + ".undo"), started, done, begun);
    }

    /** Stages done, a prefix: stage {@code lastDone() + 1} is the next to run. */
    int lastDone() { return lastDone; }

    boolean started() { return started; }

    /** True when the next stage saved its before-image and may have written: restore it before redoing the stage. */
    boolean mustRestore() { return lastDone >= 0 && begun == lastDone + 1; }

    /** True when the first stage may have written part of the block: zero it before redoing. */
    boolean mustZero() { return started && lastDone < 0; }

    void start() throws IOException { append("start"); }

    void begin(int stage) throws IOException { append("begin " + stage); }

    void done(int stage) throws IOException { append("done " + stage); }

    Path undo() { return undo; }

    private void append(String line) throws IOException {
        try (FileChannel channel = FileChannel.open(file, CREATE, WRITE, APPEND)) {
            ByteBuffer bytes = ByteBuffer.wrap((line + "\n").getBytes(StandardCharsets.US_ASCII));
            while (bytes.hasRemaining()) channel.write(bytes);
            channel.force(false);
        }
    }

    /** Copies {@code length} bytes at {@code position} of each file, in order, into the undo file, and forces it. */
    void save(Region... regions) throws IOException {
        try (FileChannel to = FileChannel.open(undo, CREATE, WRITE, TRUNCATE_EXISTING)) {
            long at = 0;
            for (Region region : regions) {
                try (FileChannel from = FileChannel.open(region.file(), READ)) {
                    at += copy(from, region.position(), to, at, region.length());
                }
            }
            to.force(false);
        }
    }

    /** Writes the undo file back over the regions. */
    void restore(Region... regions) throws IOException {
        try (FileChannel from = FileChannel.open(undo, READ)) {
            long at = 0;
            for (Region region : regions) {
                try (FileChannel to = FileChannel.open(region.file(), WRITE)) {
                    at += copy(from, at, to, region.position(), region.length());
                    to.force(false);
                }
            }
        }
    }

    /** Zeroes the regions. */
    static void zero(Region... regions) throws IOException {
        ByteBuffer zeros = ByteBuffer.allocate(1 << 20);
        for (Region region : regions) {
            try (FileChannel to = FileChannel.open(region.file(), WRITE)) {
                for (long done = 0; done < region.length(); ) {
                    zeros.clear().limit((int) Math.min(zeros.capacity(), region.length() - done));
                    done += to.write(zeros, region.position() + done);
                }
                to.force(false);
            }
        }
    }

    private static long copy(FileChannel from, long fromPosition, FileChannel to, long toPosition, long length)
            throws IOException {
        ByteBuffer buffer = ByteBuffer.allocate((int) Math.min(Math.max(length, 1), 1 << 20));
        for (long done = 0; done < length; ) {
            buffer.clear().limit((int) Math.min(buffer.capacity(), length - done));
            int read = from.read(buffer, fromPosition + done);
            if (read < 0) throw new IOException(from + ": short read");
            buffer.flip();
            while (buffer.hasRemaining()) done += to.write(buffer, toPosition + done);
        }
        return length;
    }

    /** Bytes [position, position + length) of a file. */
    record Region(Path file, long position, long length) { }
}
