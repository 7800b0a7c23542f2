package dev.longnet.storage;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.OpenOption;
import java.nio.file.Path;

import static java.nio.file.StandardOpenOption.CREATE;
import static java.nio.file.StandardOpenOption.READ;
import static java.nio.file.StandardOpenOption.TRUNCATE_EXISTING;
import static java.nio.file.StandardOpenOption.WRITE;

/**
 * A .npy file as rows, mapped a window at a time so that scanning a file far larger than memory keeps resident
 * memory bounded. New files are written under "target.partial" and renamed atomically by {@link #commit()}, so the
 * final name only ever holds a complete file; an uncommitted partial survives close() and can be resumed.
 * Windows may be opened and used from any thread; {@link #commit()} and {@link #close()} come after they are closed.
 */
public final class NpyFile implements TensorRows, AutoCloseable {

    private final Path path;
    /** The final name commit() renames to; null for files opened in place. */
    private final Path target;
    private final FileChannel channel;
    private final NpyHeader header;
    private final boolean writable;
    private final long rows;
    private final long rowBytes;
    private volatile boolean closed;

    private NpyFile(Path path, Path target, FileChannel channel, NpyHeader header, boolean writable)
            throws TensorFormatException {
        if (header.rank() == 0) {
            throw new TensorFormatException(path, "a 0-d (scalar) array has no rows; at least one dimension is needed");
        }
        this.path = path;
        this.target = target;
        this.channel = channel;
        this.header = header;
        this.writable = writable;
        long[] shape = header.shape();
        this.rows = shape[0];
        this.rowBytes = rowBytesOf(path, shape, header.dtype());
    }

    /** Bytes per row; only a file with zero rows can have rows too large to count, and it is refused. */
    private static long rowBytesOf(Path path, long[] shape, DType dtype) throws TensorFormatException {
        long bytes = Shapes.bytes(shape, 1, dtype.bytes());
        if (bytes < 0) {
            throw new TensorFormatException(path, "rows of shape " + NpyHeader.shapeText(shape)
                    + " would exceed 2^63-1 bytes each");
        }
        return bytes;
    }

    /** Opens an existing file read-only. */
    public static NpyFile open(Path file) throws IOException {
        return openExisting(file, null, false, READ);
    }

    /** Opens an existing file for reading and writing in place (no partial, no commit). */
    public static NpyFile openWritable(Path file) throws IOException {
        return openExisting(file, null, true, READ, WRITE);
    }

    /**
     * Creates target's partial ("target.partial", replacing any earlier one) holding a numpy header and zeroed data
     * of the given shape. The data is a hole in a sparse file: no disk is used until rows are written. The target
     * itself is untouched until {@link #commit()}.
     */
    public static NpyFile create(Path target, DType dtype, long... shape) throws IOException {
        if (shape.length == 0) throw new IllegalArgumentException("a file of rows needs at least one dimension");
        NpyHeader header = NpyHeader.of(dtype, shape);
        Path parent = target.toAbsolutePath().getParent();
        if (parent == null || !Files.isDirectory(parent)) {
            throw new NoSuchFileException(String.valueOf(parent), null,
                    "cannot create " + target + ": its directory does not exist");
        }
        Path partial = partialPath(target);
        FileChannel channel = FileChannel.open(partial, CREATE, TRUNCATE_EXISTING, READ, WRITE);
        try {
            Disk.writeFully(channel, ByteBuffer.wrap(header.encode()), 0);
            if (header.dataBytes() > 0) {
                // One byte at the very end sets the length; everything before it reads as zeros.
                Disk.writeFully(channel, ByteBuffer.allocate(1), header.dataOffset() + header.dataBytes() - 1);
            }
            return new NpyFile(partial, target, channel, header, true);
        } catch (IOException | RuntimeException e) {
            channel.close();
            Files.deleteIfExists(partial);
            throw e;
        }
    }

    /** Reopens the partial a {@link #create} left uncommitted, read-write, after checking its header. */
    public static NpyFile resume(Path target) throws IOException {
        return openExisting(partialPath(target), target, true, READ, WRITE);
    }

    /** Where {@link #create} writes before the commit: the target's name plus ".partial", beside it. */
    public static Path partialPath(Path target) {
        return AtomicFile.partial(target);
    }

    private static NpyFile openExisting(Path file, Path target, boolean writable, OpenOption... options)
            throws IOException {
        Disk.requireRegularFile(file);
        FileChannel channel = FileChannel.open(file, options);
        try {
            return new NpyFile(file, target, channel, NpyHeader.read(file, channel), writable);
        } catch (IOException | RuntimeException e) {
            channel.close();
            throw e;
        }
    }

    /**
     * Takes a shared lock on the whole file for as long as it is open, so that a process that locks files before
     * writing them waits; a lock already held by this process is enough. Advisory: it does not stop a process
     * that does not lock (inputs must not be modified during a run; {@link #window} refuses a file that shrank).
     */
    public void lockShared() throws IOException {
        try {
            if (channel.tryLock(0, Long.MAX_VALUE, true) == null) {
                throw new IOException(path + ": locked for writing by another process; wait until it is done");
            }
        } catch (java.nio.channels.OverlappingFileLockException e) {
            // this process holds a lock on the file already (q, k and v may be the same file)
        }
    }

    /**
     * Maps rows [firstRow, firstRow + rowCount) and nothing else; closing the window unmaps them. The mapping has a
     * shared arena, so the window may be read and written from any thread.
     */
    @Override
    public RowWindow window(long firstRow, long rowCount) throws IOException {
        if (firstRow < 0 || rowCount < 0 || firstRow > rows - rowCount) {
            throw new IndexOutOfBoundsException(path + ": rows [" + firstRow + ", " + firstRow + " + " + rowCount
                    + ") out of bounds for " + rows + " rows");
        }
        return map(firstRow * rowBytes, rowCount * rowBytes, firstRow, rowCount);
    }

    /**
     * Item {@code index} of the first dimension as a tensor of its own, cut to its first {@code rows} rows: for a
     * file of shape (B, N, ...), the (rows, ...) tensor at [index, :rows] (a sequence of a padded batch). Its windows
     * map those rows of this file and nothing else; they are writable when this file is. Valid while this file is
     * open.
     */
    public TensorRows item(long index, long rows) throws TensorFormatException {
        long[] shape = header.shape();
        if (shape.length < 2) {
            throw new TensorFormatException(path, "shape " + NpyHeader.shapeText(shape) + " has no items of rows");
        }
        if (index < 0 || index >= shape[0] || rows < 0 || rows > shape[1]) {
            throw new IndexOutOfBoundsException(path + ": item " + index + " with " + rows + " rows is out of bounds"
                    + " for shape " + NpyHeader.shapeText(shape));
        }
        long[] itemShape = java.util.Arrays.copyOfRange(shape, 1, shape.length);
        itemShape[0] = rows;
        long itemRowBytes = shape[1] == 0 ? 0 : rowBytes / shape[1];
        long base = index * rowBytes;
        NpyFile file = this;
        return new TensorRows() {
            @Override public DType dtype() { return file.dtype(); }
            @Override public long[] shape() { return itemShape.clone(); }
            @Override public long rowBytes() { return itemRowBytes; }
            @Override public boolean writable() { return file.writable; }

            @Override
            public RowWindow window(long firstRow, long rowCount) throws IOException {
                if (firstRow < 0 || rowCount < 0 || firstRow > rows - rowCount) {
                    throw new IndexOutOfBoundsException(path + ": item " + index + ", rows [" + firstRow + ", "
                            + firstRow + " + " + rowCount + ") out of bounds for " + rows + " rows");
                }
                return map(base + firstRow * itemRowBytes, rowCount * itemRowBytes, firstRow, rowCount);
            }

            @Override
            public String toString() { return path + "[" + index + ", :" + rows + "]"; }
        };
    }

    /**
     * Maps {@code size} bytes of data from {@code offset} as the window of rows [firstRow, firstRow + rowCount);
     * closing the window unmaps them. The mapping has a shared arena, so the window may be read and written from
     * any thread.
     */
    private RowWindow map(long offset, long size, long firstRow, long rowCount) throws IOException {
        ensureOpen();
        if (size == 0) {
            MemorySegment empty = writable ? MemorySegment.NULL : MemorySegment.NULL.asReadOnly();
            return new MappedWindow(empty, firstRow, rowCount, null);
        }
        long end = header.dataOffset() + offset + size;
        long length = channel.size();
        if (length < end) {
            // Mapping past the end would map pages whose first touch kills the JVM (SIGBUS).
            throw new IOException(path + ": the file shrank to " + length + " bytes while in use (rows up to "
                    + (firstRow + rowCount) + " need " + end + "); files must not be modified while longnet uses them");
        }
        FileChannel.MapMode mode = writable ? FileChannel.MapMode.READ_WRITE : FileChannel.MapMode.READ_ONLY;
        Arena arena = Arena.ofShared();
        try {
            MemorySegment rowsSegment = channel.map(mode, header.dataOffset() + offset, size, arena);
            return new MappedWindow(rowsSegment, firstRow, rowCount, arena);
        } catch (IOException | RuntimeException e) {
            arena.close();
            throw e;
        }
    }

    /**
     * Makes the partial durable and renames it to the target in one atomic step, replacing any file there; then
     * closes this file. Windows still open keep working on the (renamed) file; close them before committing so that
     * no write lands after the flush.
     */
    public void commit() throws IOException {
        requirePartial("commit");
        ensureOpen();
        channel.force(true);
        close();
        AtomicFile.rename(path, target);
    }

    /**
     * Copies every row into a new file of type {@code type} at {@code target} (converting each element, a 64 MiB
     * window at a time) and commits it.
     */
    public void convertTo(Path target, DType type) throws IOException {
        NpyFile to = create(target, type, shape());
        try {
            long rowsPerWindow = Math.max(1, (64L << 20) / Math.max(1, rowBytes));
            long rowElements = rowElements();
            float[] buffer = new float[16 * 1024];
            for (long first = 0; first < rows; first += rowsPerWindow) {
                long count = Math.min(rowsPerWindow, rows - first);
                try (RowWindow a = window(first, count); RowWindow b = to.window(first, count)) {
                    Convert.copy(dtype(), a.segment(), 0, type, b.segment(), 0, count * rowElements, buffer);
                }
            }
            to.commit();
        } catch (IOException | RuntimeException e) {
            to.discard();
            throw e;
        }
    }

    /** Closes this file and deletes its partial; the target is untouched. */
    public void discard() throws IOException {
        requirePartial("discard");
        close();
        Files.deleteIfExists(path);
    }

    /** Closes the file; an uncommitted partial stays on disk for {@link #resume}. Closing twice is harmless. */
    @Override
    public void close() throws IOException {
        closed = true;
        channel.close();
    }

    private void requirePartial(String action) {
        if (target == null) {
            throw new IllegalStateException("cannot " + action + " " + path + ": it was not created or resumed");
        }
    }

    private void ensureOpen() {
        if (closed) throw new IllegalStateException(path + " is closed");
    }

    /** The file on disk now: the partial until commit() for created or resumed files. */
    public Path path() { return path; }

    /** The name commit() gives the file; for files opened in place, their own path. */
    public Path target() { return target != null ? target : path; }

    public NpyHeader header() { return header; }

    @Override public DType dtype() { return header.dtype(); }
    @Override public long[] shape() { return header.shape(); }
    @Override public long rows() { return rows; }
    @Override public long rowBytes() { return rowBytes; }
    @Override public boolean writable() { return writable; }

    /** Bytes of data (all rows), excluding the header. */
    public long dataBytes() { return header.dataBytes(); }

    @Override
    public String toString() {
        return "NpyFile[" + path + " " + header.dtype().npyDescr() + " " + NpyHeader.shapeText(header.shape()) + "]";
    }
}
