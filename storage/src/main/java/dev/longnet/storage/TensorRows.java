package dev.longnet.storage;

import java.io.IOException;

/**
 * A tensor seen as rows along its first dimension, each row the C-order block of all later dimensions.
 * Mapped files and in-memory segments both serve windows of rows, so the engine walks either the same way.
 */
public interface TensorRows {
    DType dtype();

    /** A copy of the shape; shape[0] is the row count. */
    long[] shape();

    default long rows() { return shape()[0]; }

    /** Elements in one row: the product of shape[1..] (implementations refuse shapes whose rows overflow). */
    default long rowElements() { return Shapes.bytes(shape(), 1, 1); }

    default long rowBytes() { return Shapes.bytes(shape(), 1, dtype().bytes()); }

    /**
     * Rows [firstRow, firstRow + rowCount) as one segment. For files this maps just those rows and unmaps them
     * when the window is closed, so a scan keeps resident memory bounded. Windows may be used from any thread.
     */
    RowWindow window(long firstRow, long rowCount) throws IOException;

    /** True when windows may be written to. */
    boolean writable();
}
