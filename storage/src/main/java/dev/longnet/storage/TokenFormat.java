package dev.longnet.storage;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Locale;

/** How a file holds token ids. */
public enum TokenFormat {
    /** Raw bytes, a token per byte (byte-level text, vocabulary 256). */
    BYTES(1),
    /** Raw little-endian uint16 ids. */
    U16(2),
    /** Raw little-endian int32 ids. */
    I32(4),
    /** A numpy .npy array of integers (u1, u2, i2, i4, u4 or i8), flattened in C order. */
    NPY(0),
    /** The lz4-compressed chunked container ({@link LztFile}). */
    LZT(0);

    private final int width;

    TokenFormat(int width) { this.width = width; }

    /** Bytes per id of the raw formats; 0 for the others. */
    public int width() { return width; }

    /** Parses "bytes", "u16", "i32", "npy" or "lzt" (case-insensitive). */
    public static TokenFormat parse(String text) {
        for (TokenFormat f : values()) if (f.name().equalsIgnoreCase(text)) return f;
        throw new IllegalArgumentException("unknown token format '" + text + "' (expected bytes, u16, i32, npy or lzt)");
    }

    /**
     * The format of a file from its magic bytes, then its extension (.u16, .i32); anything else is bytes. A file
     * named .lzt or .npy without its format's magic is refused rather than read as bytes.
     */
    public static TokenFormat detect(Path file) throws IOException {
        byte[] start;
        try (InputStream in = Files.newInputStream(file)) {
            start = in.readNBytes(8);
        }
        if (start.length >= 6 && Arrays.equals(Arrays.copyOf(start, 6), NpyHeader.MAGIC)) return NPY;
        if (Arrays.equals(start, LztFile.MAGIC)) return LZT;
        String name = file.getFileName().toString().toLowerCase(Locale.ROOT);
        if (name.endsWith(".lzt") || name.endsWith(".npy")) {
            String kind = name.substring(name.length() - 4);
            throw new TensorFormatException(file, "is named " + kind + " but does not start with the " + kind
                    + " magic bytes (damaged, or another format): name its format to read it as something else");
        }
        if (name.endsWith(".u16")) return U16;
        if (name.endsWith(".i32")) return I32;
        return BYTES;
    }
}
