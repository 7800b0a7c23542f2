package dev.longnet.cluster;

import dev.longnet.storage.RunJournal;
import dev.longnet.storage.TensorFormatException;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;

import static java.nio.file.StandardOpenOption.CREATE;
import static java.nio.file.StandardOpenOption.READ;
import static java.nio.file.StandardOpenOption.TRUNCATE_EXISTING;
import static java.nio.file.StandardOpenOption.WRITE;

/**
 * The journal of one block's stages ({@code OUT.cluster/block-I.journal}), on the project's CRC'd run journal
 * ({@link RunJournal}, as attend's): BEGIN of stage 0 ("start") before the first write, BEGIN of stage K once its
 * before-image is saved (carrying the image's CRC32C), DONE of stage K once its rows are durable, each record
 * forced. Stages run in order, so a re-run skips the done prefix and repairs the rows of the stage that was cut:
 * zeros before the first stage finished, the before-image ({@code block-I.undo}: the block's out rows, then its lse
 * rows, checked against its CRC) after. A record torn at the end reads as the end of the journal; damage in the
 * middle is refused.
 */
final class BlockJournal {
    private final Path file;
    private final Path undo;
    private final int block;
    private final boolean started;
    private final int lastDone;
    private final int begun;
    private final long undoChecksum;
    private long savedChecksum;

    private BlockJournal(Path file, Path undo, int block, boolean started, int lastDone, int begun, long undoChecksum) {
        this.file = file;
        this.undo = undo;
        this.block = block;
        this.started = started;
        this.lastDone = lastDone;
        this.begun = begun;
        this.undoChecksum = undoChecksum;
    }

    static BlockJournal open(Path dir, int block) throws IOException {
        Path file = dir.resolve("block-" + block + ".journal");
        boolean started = false;
        int done = -1;
        int begun = -1;
        long checksum = 0;
        if (Files.exists(file)) {
            try (RunJournal journal = RunJournal.open(file)) {
                for (RunJournal.Entry e : journal.records()) {
                    switch (e.kind()) {
                        case BEGIN -> {
                            if (e.pass() == 0) {
                                started = true;
                            } else {
                                begun = e.pass();
                                checksum = e.checksum();
                            }
                        }
                        case DONE -> done = e.pass();
                        default -> { }
                    }
                }
            } catch (TensorFormatException e) {
                throw new IllegalStateException(file + ": the block's journal is damaged (" + e.getMessage() + "); remove "
                        + dir + " and the output's .partial to start over");
            }
        }
        return new BlockJournal(file, dir.resolve("block-" + block + ".undo"), block, started, done, begun, checksum);
    }

    /** Stages done, a prefix: stage {@code lastDone() + 1} is the next to run. */
    int lastDone() { return lastDone; }

    boolean started() { return started; }

    /** True when the next stage saved its before-image and may have written: restore it before redoing the stage. */
    boolean mustRestore() { return lastDone >= 0 && begun == lastDone + 1; }

    /** True when the first stage may have written part of the block: zero it before redoing. */
    boolean mustZero() { return started && lastDone < 0; }

    void start() throws IOException { append(RunJournal.Kind.BEGIN, 0, 0); }

    /** Stage {@code stage} (from 1) is about to write; its before-image was just {@link #save saved}. */
    void begin(int stage) throws IOException { append(RunJournal.Kind.BEGIN, stage, savedChecksum); }

    void done(int stage) throws IOException { append(RunJournal.Kind.DONE, stage, 0); }

    Path undo() { return undo; }

    private void append(RunJournal.Kind kind, int stage, long checksum) throws IOException {
        RunJournal journal = Files.exists(file) ? RunJournal.open(file)
                : RunJournal.create(file, Map.of("format", "longnet-cluster-block 1", "block", Integer.toString(block)));
        try (journal) {
            journal.append(RunJournal.Entry.unit(kind, stage, 0, block, 0, 0, 0, checksum));
            journal.force();
        }
    }

    /**
     * Copies {@code length} bytes at {@code position} of each file, in order, into the undo file, and forces it;
     * its CRC32C goes into the next {@link #begin}.
     */
    void save(Region... regions) throws IOException {
        try (FileChannel to = FileChannel.open(undo, CREATE, READ, WRITE, TRUNCATE_EXISTING)) {
            long at = 0;
            for (Region region : regions) {
                try (FileChannel from = FileChannel.open(region.file(), READ)) {
                    at += copy(from, region.position(), to, at, region.length());
                }
            }
            to.force(false);
            savedChecksum = crc(to, at);
        }
    }

    /** Writes the undo file back over the regions, after checking it against the CRC its BEGIN record carries. */
    void restore(Region... regions) throws IOException {
        try (FileChannel from = FileChannel.open(undo, READ)) {
            long total = 0;
            for (Region region : regions) total += region.length();
            if (from.size() != total || crc(from, total) != undoChecksum) {
                throw new IllegalStateException(undo + ": the before-image of the block's stage " + begun + " is damaged"
                        + " (its CRC differs from the journal's); remove " + file.getParent() + " and the output's"
                        + " .partial to start over");
            }
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

    private static long crc(FileChannel channel, long length) throws IOException {
        java.util.zip.CRC32C crc = new java.util.zip.CRC32C();
        ByteBuffer buffer = ByteBuffer.allocate(1 << 20);
        for (long at = 0; at < length; ) {
            buffer.clear().limit((int) Math.min(buffer.capacity(), length - at));
            int read = channel.read(buffer, at);
            if (read < 0) break;
            buffer.flip();
            crc.update(buffer);
            at += read;
        }
        return crc.getValue();
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
