package dev.longnet.storage;

import java.lang.foreign.MemorySegment;

/** A tensor held in a caller's segment (heap or native); windows are slices of it. */
public final class MemoryRows implements TensorRows {
    private final MemorySegment data;
    private final DType dtype;
    private final long[] shape;

    private MemoryRows(MemorySegment data, DType dtype, long[] shape) {
        this.data = data;
        this.dtype = dtype;
        this.shape = shape.clone();
    }

    /** Wraps data as a C-order little-endian tensor of the given shape; its size must match exactly. */
    public static MemoryRows of(MemorySegment data, DType dtype, long... shape) {
        if (shape.length == 0) throw new IllegalArgumentException("a tensor needs at least one dimension");
        long expected = Shapes.bytes(shape, 0, dtype.bytes());
        if (expected < 0) {
            throw new IllegalArgumentException("shape " + java.util.Arrays.toString(shape) + " has a negative dimension"
                    + " or more than 2^63-1 bytes");
        }
        if (data.byteSize() != expected) {
            throw new IllegalArgumentException("segment of " + data.byteSize() + " bytes does not hold shape "
                    + java.util.Arrays.toString(shape) + " of " + dtype + " (" + expected + " bytes)");
        }
        return new MemoryRows(data, dtype, shape);
    }

    @Override public DType dtype() { return dtype; }
    @Override public long[] shape() { return shape.clone(); }
    @Override public boolean writable() { return !data.isReadOnly(); }

    @Override
    public RowWindow window(long firstRow, long rowCount) {
        java.util.Objects.checkFromIndexSize(firstRow, rowCount, rows());
        MemorySegment slice = data.asSlice(firstRow * rowBytes(), rowCount * rowBytes());
        return new RowWindow() {
            @Override public MemorySegment segment() { return slice; }
            @Override public long firstRow() { return firstRow; }
            @Override public long rowCount() { return rowCount; }
            @Override public void advise(Advice advice) { }
            @Override public void force() { }
            @Override public void close() { }
        };
    }
}
