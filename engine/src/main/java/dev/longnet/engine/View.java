package dev.longnet.engine;

import dev.longnet.storage.Convert;
import dev.longnet.storage.DType;
import java.lang.foreign.MemorySegment;

/**
 * A dilated view as a strided matrix: {@code rows} rows of {@code cols} elements, row i starting at element
 * {@code offset + i·rowStride} of {@code data}. For level (w, r), segment s and head h with phase o in an (N, H, d)
 * tensor: offset = ((s·w + o)·H + h)·d and rowStride = r·H·d, relative to the start of the mapped window.
 */
public record View(MemorySegment data, DType dtype, long offset, long rowStride, int rows, int cols) {
    public View {
        if (rows < 0 || cols < 1) throw new IllegalArgumentException("bad view shape " + rows + "x" + cols);
        if (rows > 0) {
            long lastElement = offset + (rows - 1L) * rowStride + cols;
            if (offset < 0 || lastElement * dtype.bytes() > data.byteSize()) {
                throw new IndexOutOfBoundsException("view of " + rows + "x" + cols + " at " + offset + " stride "
                        + rowStride + " exceeds a segment of " + data.byteSize() + " bytes");
            }
        }
    }

    public float get(int row, int col) { return dtype.get(data, offset + row * rowStride + col); }

    public void set(int row, int col, float value) { dtype.set(data, offset + row * rowStride + col, value); }

    /** Copies row {@code row} times {@code scale} into dst[dstOffset ..], widening narrow types. */
    public void readRow(int row, float[] dst, int dstOffset, float scale) {
        Convert.read(dtype, data, offset + row * rowStride, dst, dstOffset, cols, scale);
    }

    /** Stores src[srcOffset .. + cols] as row {@code row}, narrowing if the view's type is narrower. */
    public void writeRow(int row, float[] src, int srcOffset) {
        Convert.write(dtype, data, offset + row * rowStride, src, srcOffset, cols);
    }
}
