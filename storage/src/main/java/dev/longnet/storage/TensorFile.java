package dev.longnet.storage;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.Set;

/**
 * A file of named tensors, mapped read-only: a safetensors file or a PyTorch checkpoint (torch.save's zip format).
 * Tensors' rows are slices of the file's mapping, valid until the file is closed.
 */
public interface TensorFile extends AutoCloseable {
    /** What a file says of one tensor. */
    interface Info {
        String name();

        DType dtype();

        /** A copy of the shape; empty for a scalar. */
        long[] shape();

        /** Bytes of the tensor's elements. */
        long byteSize();
    }

    /**
     * Opens file by its first bytes: a zip ("PK\3\4") is read as a PyTorch checkpoint, anything else as safetensors.
     * A checkpoint in torch's legacy (pre-1.6) format, or any other bare pickle, is refused.
     */
    static TensorFile open(Path file) throws IOException {
        Disk.requireRegularFile(file);
        byte[] start;
        try (InputStream in = Files.newInputStream(file)) {
            start = in.readNBytes(TorchCheckpoint.LEGACY_MAGIC.length);
        }
        if (TorchCheckpoint.isZip(start)) return TorchCheckpoint.open(file);
        if (TorchCheckpoint.isLegacy(start)) throw TorchCheckpoint.legacy(file);
        // a pickle (PROTO 2..5) where safetensors would have its JSON header's '{' at byte 8
        if (start.length > 8 && (start[0] & 0xFF) == 0x80 && start[1] >= 2 && start[1] <= 5 && start[8] != '{') {
            throw new TensorFormatException(file, "a bare pickle, not a torch.save checkpoint (a zip archive): "
                    + "save it with torch.save (torch>=1.6)");
        }
        return SafetensorsFile.open(file);
    }

    Path path();

    /** The format's name, as shown to users: "safetensors" or "torch". */
    String format();

    /** Tensor names in the file's order. */
    Set<String> names();

    /** The named tensor's entry; a name not in {@link #names()} is a {@link java.util.NoSuchElementException}. */
    Info info(String name);

    /**
     * The named tensor as read-only rows (C order); a scalar (0-d) tensor has no rows and is refused
     * (IllegalArgumentException), as is a tensor the file stores in a layout that is not row-major contiguous
     * (TensorFormatException).
     */
    TensorRows tensor(String name) throws IOException;

    /**
     * The named tensor's elements (C order, little-endian), scalars included: a read-only slice of the file's
     * mapping. A layout that is not row-major contiguous is refused (TensorFormatException).
     */
    java.lang.foreign.MemorySegment bytes(String name) throws IOException;

    /** String metadata (safetensors' "__metadata__"); empty when the file has none. */
    default Map<String, String> metadata() { return Map.of(); }

    /** Unmaps the file: rows and windows of its tensors must no longer be used. */
    @Override
    void close();
}
