package dev.longnet.cluster;

import dev.longnet.storage.DType;
import dev.longnet.storage.RowWindow;
import dev.longnet.storage.TensorRows;
import java.io.IOException;

/** Rows [first, first + rows) of a tensor as a tensor of its own: what a member's local levels run on. */
record BlockRows(TensorRows whole, long first, long count) implements TensorRows {
    BlockRows {
        if (first < 0 || count < 0 || first > whole.rows() - count) {
            throw new IndexOutOfBoundsException("rows [" + first + ", " + (first + count) + ") of " + whole.rows());
        }
    }

    @Override public DType dtype() { return whole.dtype(); }

    @Override
    public long[] shape() {
        long[] s = whole.shape();
        s[0] = count;
        return s;
    }

    @Override public long rows() { return count; }

    @Override
    public RowWindow window(long firstRow, long rowCount) throws IOException {
        if (firstRow < 0 || rowCount < 0 || firstRow > count - rowCount) {
            throw new IndexOutOfBoundsException("rows [" + firstRow + ", " + (firstRow + rowCount) + ") of a block of " + count);
        }
        RowWindow w = whole.window(first + firstRow, rowCount);
        return new RowWindow() {
            @Override public java.lang.foreign.MemorySegment segment() { return w.segment(); }
            @Override public long firstRow() { return firstRow; }
            @Override public long rowCount() { return rowCount; }
            @Override public void advise(dev.longnet.storage.Advice advice) { w.advise(advice); }
            @Override public void force() { w.force(); }
            @Override public void close() { w.close(); }
        };
    }

    @Override public boolean writable() { return whole.writable(); }
}
