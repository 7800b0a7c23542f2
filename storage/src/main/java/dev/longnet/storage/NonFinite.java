package dev.longnet.storage;

import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;

/**
 * Finds the first NaN or infinity in a tensor, and its largest magnitude, a window of rows at a time (bounded memory
 * whatever its size).
 */
public final class NonFinite {
    private static final ValueLayout.OfInt INT = ValueLayout.JAVA_INT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfShort SHORT = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final long WINDOW_BYTES = 64L << 20;

    /** The first non-finite element: its row, its index within the row, and its value. */
    public record Found(long row, long element, float value) {
        public String describe() {
            return Float.isNaN(value) ? "NaN" : value > 0 ? "+Inf" : "-Inf";
        }
    }

    /**
     * What a scan found: the first non-finite element (null when all are finite) and the largest magnitude of the
     * finite elements before it (of all of them when all are finite).
     */
    public record Scan(Found first, float maxAbs) { }

    private NonFinite() { }

    /** The first NaN or ±Inf of t in row-major order, or null when every element is finite. */
    public static Found first(TensorRows t) throws IOException {
        return scan(t).first();
    }

    /** Scans t in row-major order, stopping at the first NaN or ±Inf. */
    public static Scan scan(TensorRows t) throws IOException {
        long rowBytes = t.rowBytes();
        long rowElements = t.rowElements();
        if (rowBytes == 0) return new Scan(null, 0f);
        long rowsPerWindow = Math.max(1, WINDOW_BYTES / rowBytes);
        DType dtype = t.dtype();
        int maxBits = 0;
        long[] result = new long[2];
        for (long first = 0; first < t.rows(); first += rowsPerWindow) {
            long rows = Math.min(rowsPerWindow, t.rows() - first);
            try (RowWindow window = t.window(first, rows)) {
                window.advise(Advice.SEQUENTIAL);
                scan(window.segment(), dtype, rows * rowElements, result);
                maxBits = Math.max(maxBits, (int) result[1]);
                long at = result[0];
                if (at >= 0) {
                    return new Scan(new Found(first + at / rowElements, at % rowElements, dtype.get(window.segment(), at)),
                            magnitude(dtype, maxBits));
                }
            }
        }
        return new Scan(null, magnitude(dtype, maxBits));
    }

    /**
     * Puts the index of the first element whose exponent bits are all ones (NaN or infinity), or -1, in result[0],
     * and the largest magnitude's bits before it in result[1] (bit patterns of non-negative floats order as their
     * values).
     */
    private static void scan(MemorySegment s, DType dtype, long elements, long[] result) {
        int max = 0;
        long found = -1;
        switch (dtype) {
            case F32 -> {
                for (long i = 0; i < elements; i++) {
                    int bits = s.getAtIndex(INT, i) & 0x7FFF_FFFF;
                    if (bits >= 0x7F80_0000) { found = i; break; }
                    max = Math.max(max, bits);
                }
            }
            case F16 -> {
                for (long i = 0; i < elements; i++) {
                    int bits = s.getAtIndex(SHORT, i) & 0x7FFF;
                    if (bits >= 0x7C00) { found = i; break; }
                    max = Math.max(max, bits);
                }
            }
            case BF16 -> {
                for (long i = 0; i < elements; i++) {
                    int bits = s.getAtIndex(SHORT, i) & 0x7FFF;
                    if (bits >= 0x7F80) { found = i; break; }
                    max = Math.max(max, bits);
                }
            }
        }
        result[0] = found;
        result[1] = max;
    }

    private static float magnitude(DType dtype, int bits) {
        return switch (dtype) {
            case F32 -> Float.intBitsToFloat(bits);
            case F16 -> Float.float16ToFloat((short) bits);
            case BF16 -> Float.intBitsToFloat(bits << 16);
        };
    }
}
