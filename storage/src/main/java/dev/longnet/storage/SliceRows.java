package dev.longnet.storage;

import java.lang.foreign.MemorySegment;

/**
 * A tensor's rows over a slice of a longer-lived mapping (a whole mapped file): windows are slices of it, so closing
 * them does nothing.
 */
final class SliceRows implements TensorRows {
    private final String name;
    private final DType dtype;
    private final long[] shape;
    private final MemorySegment bytes;
    private final long rowBytes;

    /** bytes holds exactly the tensor's elements, in C order; shape has at least one dimension. */
    SliceRows(String name, DType dtype, long[] shape, MemorySegment bytes) {
        this.name = name;
        this.dtype = dtype;
        this.shape = shape.clone();
        this.bytes = bytes;
        this.rowBytes = shape[0] == 0 ? 0 : bytes.byteSize() / shape[0];
    }

    @Override public DType dtype() { return dtype; }
    @Override public long[] shape() { return shape.clone(); }
    @Override public long rows() { return shape[0]; }
    @Override public long rowBytes() { return rowBytes; }
    @Override public boolean writable() { return false; }

    @Override
    public RowWindow window(long firstRow, long rowCount) {
        if (firstRow < 0 || rowCount < 0 || firstRow > rows() - rowCount) {
            throw new IndexOutOfBoundsException("tensor \"" + name + "\": rows [" + firstRow + ", "
                    + firstRow + " + " + rowCount + ") out of bounds for " + rows() + " rows");
        }
        return new MappedWindow(bytes.asSlice(firstRow * rowBytes, rowCount * rowBytes), firstRow, rowCount, null);
    }
}
