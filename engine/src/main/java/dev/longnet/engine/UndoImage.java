package dev.longnet.engine;

import dev.longnet.storage.Disk;
import dev.longnet.storage.RowWindow;
import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.nio.channels.FileChannel;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;

/**
 * The before-image of the later-pass unit in progress ({@code OUT.run/undo}): its out rows then its lse rows,
 * saved and forced before the unit writes, so that an interrupted unit can be put back and redone.
 */
final class UndoImage implements AutoCloseable {
    private final Path file;
    private FileChannel channel;

    UndoImage(Path file) {
        this.file = file;
    }

    /** Saves the rows (forced) and returns their CRC32C, for the BEGIN record. */
    long save(RowWindow out, RowWindow lse) throws IOException {
        if (channel == null) {
            channel = FileChannel.open(file, StandardOpenOption.CREATE, StandardOpenOption.READ, StandardOpenOption.WRITE);
        }
        MemorySegment o = out.segment();
        MemorySegment l = lse.segment();
        channel.truncate(0);
        Disk.writeFully(channel, o, 0);
        Disk.writeFully(channel, l, o.byteSize());
        channel.force(false);
        return Disk.crc32c(o, l);
    }

    /** Puts the saved rows back into {@code unit}'s rows (forced) if they are whole and match {@code checksum}. */
    void restore(Schedule.Unit unit, RowWindow out, RowWindow lse, long checksum) throws IOException {
        MemorySegment o = out.segment();
        MemorySegment l = lse.segment();
        try (FileChannel saved = FileChannel.open(file, StandardOpenOption.READ)) {
            if (saved.size() != o.byteSize() + l.byteSize()) throw damaged(unit);
            Disk.readFully(saved, o, 0, file);
            Disk.readFully(saved, l, o.byteSize(), file);
        } catch (NoSuchFileException e) {
            throw damaged(unit);
        }
        if (Disk.crc32c(o, l) != checksum) throw damaged(unit);
        out.force();
        lse.force();
    }

    private RunConflictException damaged(Schedule.Unit unit) {
        return new RunConflictException(file.getParent() + ": the saved rows of the interrupted " + unit + " are"
                + " missing or damaged, so it cannot be redone", true);
    }

    @Override
    public void close() throws IOException {
        if (channel != null) channel.close();
    }
}
