package dev.longnet.engine;

import dev.longnet.storage.DType;
import java.lang.foreign.MemorySegment;
import java.nio.ByteOrder;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;

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
    private static final VectorSpecies<Float> SPECIES = FloatVector.SPECIES_PREFERRED;

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
        long element = offset + row * rowStride;
        int c = 0;
        if (dtype == DType.F32) {
            for (int bound = SPECIES.loopBound(cols); c < bound; c += SPECIES.length()) {
                FloatVector.fromMemorySegment(SPECIES, data, (element + c) * 4, ByteOrder.LITTLE_ENDIAN)
                        .mul(scale).intoArray(dst, dstOffset + c);
            }
        }
        for (; c < cols; c++) dst[dstOffset + c] = dtype.get(data, element + c) * scale;
    }

    /** Stores src[srcOffset .. + cols] as row {@code row}, narrowing if the view's type is narrower. */
    public void writeRow(int row, float[] src, int srcOffset) {
        long element = offset + row * rowStride;
        int c = 0;
        if (dtype == DType.F32) {
            for (int bound = SPECIES.loopBound(cols); c < bound; c += SPECIES.length()) {
                FloatVector.fromArray(SPECIES, src, srcOffset + c)
                        .intoMemorySegment(data, (element + c) * 4, ByteOrder.LITTLE_ENDIAN);
            }
        }
        for (; c < cols; c++) dtype.set(data, element + c, src[srcOffset + c]);
    }
}
