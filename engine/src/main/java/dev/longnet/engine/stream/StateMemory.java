package dev.longnet.engine.stream;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;

/**
 * The memory of one stream's state, sized once from the configuration: one block, in memory or mapped from a file
 * in the state directory (sparse, so untouched rows take no memory), handed out as aligned slices.
 */
final class StateMemory implements AutoCloseable {
    static final String FILE = "stream.state";
    private static final long ALIGN = 64;

    private final Arena arena = Arena.ofShared();
    private final MemorySegment block;
    private final Path file;
    private long used;

    private StateMemory(long bytes, Path directory) throws IOException {
        if (directory == null) {
            file = null;
            block = arena.allocate(Math.max(bytes, 1), ALIGN);
            return;
        }
        Files.createDirectories(directory);
        file = directory.resolve(FILE);
        try (FileChannel channel = FileChannel.open(file, StandardOpenOption.CREATE, StandardOpenOption.READ,
                StandardOpenOption.WRITE, StandardOpenOption.TRUNCATE_EXISTING)) {
            channel.truncate(0);
            block = channel.map(FileChannel.MapMode.READ_WRITE, 0, Math.max(bytes, 1), arena);
        } catch (IOException | RuntimeException e) {
            arena.close();
            throw e;
        }
    }

    /** {@code bytes} of state, in memory when {@code directory} is null, else in DIR/stream.state. */
    static StateMemory allocate(long bytes, Path directory) throws IOException {
        return new StateMemory(bytes, directory);
    }

    /** Rounds a slice size up to the alignment that {@link #take} keeps. */
    static long aligned(long bytes) { return (bytes + ALIGN - 1) / ALIGN * ALIGN; }

    /** The next {@code bytes} of the block (zero-filled on first use). */
    MemorySegment take(long bytes) {
        MemorySegment slice = block.asSlice(used, bytes);
        used += aligned(bytes);
        return slice;
    }

    @Override
    public void close() throws IOException {
        arena.close();
        if (file != null) Files.deleteIfExists(file);
    }
}
