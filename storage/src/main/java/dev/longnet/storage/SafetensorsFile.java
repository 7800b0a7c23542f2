package dev.longnet.storage;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Map;
import java.util.NoSuchElementException;
import java.util.Set;

import static java.nio.file.StandardOpenOption.READ;

/**
 * A read-only safetensors file: an 8-byte little-endian header length, a JSON header naming each tensor's dtype,
 * shape and byte range, then the data. The whole file is mapped once; tensors' windows are slices of that mapping,
 * valid until this file is closed.
 */
public final class SafetensorsFile implements TensorFile {
    /** Headers larger than this are refused before they are read (the reference implementation uses 100 MB). */
    public static final long MAX_HEADER_BYTES = 100L << 20;
    private static final int LENGTH_FIELD_BYTES = 8;

    private final Path path;
    private final SafetensorsHeader header;
    private final Arena arena;
    private final MemorySegment data;

    private SafetensorsFile(Path path, SafetensorsHeader header, Arena arena, MemorySegment data) {
        this.path = path;
        this.header = header;
        this.arena = arena;
        this.data = data;
    }

    /** A tensor's entry in the header; begin and end are byte offsets into the data section. */
    public record TensorInfo(String name, DType dtype, long[] shape, long begin, long end) implements TensorFile.Info {
        public TensorInfo {
            shape = shape.clone();
        }

        /** A copy of the shape; empty for a scalar. */
        @Override
        public long[] shape() { return shape.clone(); }

        @Override
        public long byteSize() { return end - begin; }

        @Override
        public boolean equals(Object o) {
            return o instanceof TensorInfo t && name.equals(t.name) && dtype == t.dtype
                    && Arrays.equals(shape, t.shape) && begin == t.begin && end == t.end;
        }

        @Override
        public int hashCode() { return name.hashCode() * 31 + Arrays.hashCode(shape); }

        @Override
        public String toString() {
            return "TensorInfo[" + name + " " + dtype + " " + Arrays.toString(shape) + " [" + begin + ", " + end + ")]";
        }
    }

    /** Opens and validates file, and maps it read-only. */
    public static SafetensorsFile open(Path file) throws IOException {
        Disk.requireRegularFile(file);
        try (FileChannel channel = FileChannel.open(file, READ)) {
            long fileSize = channel.size();
            if (fileSize < LENGTH_FIELD_BYTES) {
                throw new TensorFormatException(file, "truncated: " + fileSize
                        + " bytes is too short for a safetensors header (an 8-byte length comes first)");
            }
            ByteBuffer lengthField = Disk.readAtMost(channel, 0, LENGTH_FIELD_BYTES);
            if (lengthField.remaining() < LENGTH_FIELD_BYTES) throw shrank(file);
            long headerLength = lengthField.order(ByteOrder.LITTLE_ENDIAN).getLong(0);
            if (headerLength < 0 || headerLength > MAX_HEADER_BYTES) {
                throw new TensorFormatException(file, "header length " + Long.toUnsignedString(headerLength)
                        + " exceeds the limit of " + MAX_HEADER_BYTES + " bytes");
            }
            long available = fileSize - LENGTH_FIELD_BYTES;
            if (headerLength > available) {
                throw new TensorFormatException(file, "truncated: header length " + headerLength + " exceeds the "
                        + available + " bytes after the length field");
            }
            ByteBuffer json = Disk.readAtMost(channel, LENGTH_FIELD_BYTES, (int) headerLength);
            if (json.remaining() < headerLength) throw shrank(file);
            long dataOffset = LENGTH_FIELD_BYTES + headerLength;
            SafetensorsHeader header = SafetensorsHeader.parse(file, json.array(), fileSize - dataOffset);
            Arena arena = Arena.ofShared();
            try {
                MemorySegment mapping = channel.map(FileChannel.MapMode.READ_ONLY, 0, fileSize, arena);
                return new SafetensorsFile(file, header, arena, mapping.asSlice(dataOffset));
            } catch (IOException | RuntimeException e) {
                arena.close();
                throw e;
            }
        }
    }

    /** Reads up to length bytes at position; fewer remain in the result only if the file ended first. */
    private static TensorFormatException shrank(Path file) {
        return new TensorFormatException(file, "truncated: the file ended while its header was read");
    }

    @Override
    public Path path() { return path; }

    @Override
    public String format() { return "safetensors"; }

    /** Tensor names in header order (without "__metadata__"). */
    @Override
    public Set<String> names() { return header.tensors().keySet(); }

    /** The "__metadata__" strings; empty when the file has none. */
    @Override
    public Map<String, String> metadata() { return header.metadata(); }

    @Override
    public TensorInfo info(String name) {
        TensorInfo info = header.tensors().get(name);
        if (info == null) throw new NoSuchElementException(path + " has no tensor \"" + name + "\"");
        return info;
    }

    /** The named tensor as read-only rows; a scalar (0-d) tensor has no rows and is refused. */
    @Override
    public TensorRows tensor(String name) {
        TensorInfo info = info(name);
        if (info.shape.length == 0) {
            throw new IllegalArgumentException(path + ": tensor \"" + name + "\" is a scalar and has no rows");
        }
        return new SliceRows(name, info.dtype(), info.shape, data.asSlice(info.begin(), info.byteSize()));
    }

    @Override
    public MemorySegment bytes(String name) {
        TensorInfo info = info(name);
        return data.asSlice(info.begin(), info.byteSize());
    }

    /** Unmaps the file: windows of its tensors must no longer be used. */
    @Override
    public void close() {
        arena.close();
    }
}
