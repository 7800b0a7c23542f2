package dev.longnet.storage;

import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import static java.nio.file.StandardOpenOption.CREATE;
import static java.nio.file.StandardOpenOption.TRUNCATE_EXISTING;
import static java.nio.file.StandardOpenOption.WRITE;

/**
 * Writes a safetensors file: the 8-byte header length, the JSON header (padded with spaces to a multiple of 8, as
 * the reference implementation does) and the tensors' data back to back in the order they were added. The file is
 * written as NAME.partial, forced and renamed: it appears under its name only when complete.
 */
public final class SafetensorsWriter {
    /** A tensor to write: float values to store as dtype, or (values null) bytes already in dtype, copied as they are. */
    private record Entry(String name, DType dtype, long[] shape, float[] values, MemorySegment bytes) {
        long byteSize() { return values != null ? (long) values.length * dtype.bytes() : bytes.byteSize(); }
    }

    private final Map<String, String> metadata = new LinkedHashMap<>();
    private final List<Entry> tensors = new ArrayList<>();

    /** Adds a "__metadata__" string. */
    public SafetensorsWriter metadata(String key, String value) {
        metadata.put(key, value);
        return this;
    }

    /** Adds a tensor of the given shape, stored as dtype (rounded to nearest-even for the narrow types). */
    public SafetensorsWriter tensor(String name, DType dtype, long[] shape, float[] values) {
        long count = Arrays.stream(shape).reduce(1, Math::multiplyExact);
        if (count != values.length) {
            throw new IllegalArgumentException("tensor \"" + name + "\" has " + values.length + " values for shape "
                    + Arrays.toString(shape));
        }
        checkName(name);
        tensors.add(new Entry(name, dtype, shape.clone(), values, null));
        return this;
    }

    /**
     * Adds a tensor whose elements are already stored as dtype (little-endian, C order) in bytes: they are copied
     * unchanged when the file is written, so bytes (a slice of a mapped file, say) must stay valid until then.
     */
    public SafetensorsWriter tensor(String name, DType dtype, long[] shape, MemorySegment bytes) {
        long size = Shapes.bytes(shape, 0, dtype.bytes());
        if (size != bytes.byteSize()) {
            throw new IllegalArgumentException("tensor \"" + name + "\" has " + bytes.byteSize() + " bytes for shape "
                    + Arrays.toString(shape) + " of " + dtype);
        }
        checkName(name);
        tensors.add(new Entry(name, dtype, shape.clone(), null, bytes));
        return this;
    }

    private void checkName(String name) {
        if (name.equals("__metadata__") || tensors.stream().anyMatch(t -> t.name.equals(name))) {
            throw new IllegalArgumentException("duplicate or reserved tensor name \"" + name + "\"");
        }
    }

    /** Writes the file atomically. */
    public void write(Path target) throws IOException {
        Path parent = target.toAbsolutePath().getParent();
        if (parent == null || !Files.isDirectory(parent)) {
            throw new NoSuchFileException(String.valueOf(parent), null, "cannot create " + target + ": its directory does not exist");
        }
        byte[] header = header();
        AtomicFile.write(target, channel -> {
            ByteBuffer length = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putLong(0, header.length);
            writeFully(channel, length);
            writeFully(channel, ByteBuffer.wrap(header));
            ByteBuffer buffer = ByteBuffer.allocate(1 << 16);
            MemorySegment bytes = MemorySegment.ofBuffer(buffer);
            for (Entry t : tensors) {
                if (t.bytes != null) {
                    for (long from = 0; from < t.bytes.byteSize(); from += buffer.capacity()) {
                        int n = (int) Math.min(buffer.capacity(), t.bytes.byteSize() - from);
                        MemorySegment.copy(t.bytes, from, bytes, 0, n);
                        writeFully(channel, buffer.clear().limit(n));
                    }
                    continue;
                }
                int perBuffer = buffer.capacity() / t.dtype.bytes();
                for (int from = 0; from < t.values.length; from += perBuffer) {
                    int n = Math.min(perBuffer, t.values.length - from);
                    Convert.write(t.dtype, bytes, 0, t.values, from, n);
                    writeFully(channel, buffer.clear().limit(n * t.dtype.bytes()));
                }
            }
        });
    }

    private byte[] header() {
        Json.Obj json = Json.object();
        if (!metadata.isEmpty()) {
            Json.Obj meta = Json.object();
            metadata.forEach(meta::put);
            json.put("__metadata__", meta);
        }
        long offset = 0;
        for (Entry t : tensors) {
            long bytes = t.byteSize();
            json.put(t.name, Json.object().put("dtype", t.dtype.safetensorsName()).put("shape", t.shape)
                    .put("data_offsets", new long[]{offset, offset + bytes}));
            offset += bytes;
        }
        byte[] text = json.toString().getBytes(StandardCharsets.UTF_8);
        int padded = (text.length + 7) / 8 * 8;
        byte[] out = Arrays.copyOf(text, padded);
        Arrays.fill(out, text.length, padded, (byte) ' ');
        return out;
    }

    private static void writeFully(FileChannel channel, ByteBuffer bytes) throws IOException {
        while (bytes.hasRemaining()) channel.write(bytes);
    }
}
