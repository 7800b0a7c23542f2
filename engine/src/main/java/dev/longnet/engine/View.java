package dev.longnet.engine;

import dev.longnet.storage.Convert;
import dev.longnet.storage.DType;
import java.lang.foreign.MemorySegment;

/**
 * A dilated view as a strided matrix: {@code rows} rows of {@code cols} elements, row i starting at element
 * {@code offset + i·rowStride} of {@code data}. For level (w, r), segment s and head h with phase o in an (N, H, d)
 * tensor: offset = ((s·w + o)·H + h)·d and rowStride = r·H·d, relative to the start of the mapped window.
 *
 * <p>Rows before {@code firstRow} are not held (a stream keeps the queries of the rows it was just given, not those
 * of the view's earlier rows): only rows [firstRow, rows) may be read or written, and {@code offset} may then be
 * negative as long as row {@code firstRow} starts inside {@code data}.
 */
public record View(MemorySegment data, DType dtype, long offset, long rowStride, int rows, int cols, int firstRow) {
    public View {
        if (rows < 0 || cols < 1 || firstRow < 0 || firstRow > rows) {
            throw new IllegalArgumentException("bad view shape " + rows + "x" + cols + " from row " + firstRow);
        }
        if (rows > firstRow) {
            long firstElement = offset + firstRow * rowStride;
            long lastElement = offset + (rows - 1L) * rowStride + cols;
            if (firstElement < 0 || lastElement * dtype.bytes() > data.byteSize()) {
                throw new IndexOutOfBoundsException("view of " + rows + "x" + cols + " at " + offset + " stride "
                        + rowStride + " exceeds a segment of " + data.byteSize() + " bytes");
            }
        }
    }

    /** A view holding all of its rows. */
    public View(MemorySegment data, DType dtype, long offset, long rowStride, int rows, int cols) {
        this(data, dtype, offset, rowStride, rows, cols, 0);
    }

    /** Rows [from, to) of this view as a view of its own: its row 0 is this view's row {@code from}. */
    public View window(int from, int to) {
        return new View(data, dtype, offset + from * rowStride, rowStride, to - from, cols, Math.max(0, firstRow - from));
    }

    /** A view whose rows [firstRow, rows) start at element {@code firstElement} of {@code data}. */
    public static View from(MemorySegment data, DType dtype, long firstElement, long rowStride, int firstRow, int rows,
                            int cols) {
        return new View(data, dtype, firstElement - firstRow * rowStride, rowStride, rows, cols, firstRow);
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
