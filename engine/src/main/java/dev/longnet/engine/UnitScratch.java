package dev.longnet.engine;

import dev.longnet.storage.Advice;
import dev.longnet.storage.DType;
import dev.longnet.storage.RowWindow;
import dev.longnet.storage.Shapes;
import dev.longnet.storage.TensorRows;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.Objects;

/**
 * The f32 out (or lse) rows of the unit in progress, in memory. When a file job's schedule has one pass that is
 * not split, each unit finishes its own rows, so they need no file: the operator merges into this scratch and the
 * run directory converts the finished rows into the output as the unit ends. One window at a time, each starting
 * from zeros, of at most {@code capacityRows} rows (the pass's window): memory is fixed by the plan, not by N.
 */
final class UnitScratch implements TensorRows, AutoCloseable {
    private final long[] shape;
    private final long rowBytes;
    private final long capacityRows;
    private final Arena arena = Arena.ofShared();       // the operator's workers write the window
    private MemorySegment memory;                       // allocated at the first window
    private boolean windowOpen;

    UnitScratch(long[] shape, long capacityRows) {
        this.shape = shape.clone();
        this.rowBytes = Shapes.bytes(shape, 1, DType.F32.bytes());
        this.capacityRows = Math.min(capacityRows, shape[0]);
    }

    @Override public DType dtype() { return DType.F32; }
    @Override public long[] shape() { return shape.clone(); }
    @Override public boolean writable() { return true; }

    @Override
    public RowWindow window(long firstRow, long rowCount) {
        Objects.checkFromIndexSize(firstRow, rowCount, shape[0]);
        if (rowCount > capacityRows) {
            throw new IllegalStateException("a window of " + rowCount + " rows exceeds the unit scratch of "
                    + capacityRows + " rows");
        }
        if (windowOpen) throw new IllegalStateException("the unit scratch holds one window at a time");
        if (memory == null) memory = arena.allocate(capacityRows * rowBytes, 64);
        MemorySegment rows = memory.asSlice(0, rowCount * rowBytes);
        rows.fill((byte) 0);
        windowOpen = true;
        return new RowWindow() {
            @Override public MemorySegment segment() { return rows; }
            @Override public long firstRow() { return firstRow; }
            @Override public long rowCount() { return rowCount; }
            @Override public void advise(Advice advice) { }
            @Override public void force() { }
            @Override public void close() { windowOpen = false; }
        };
    }

    @Override
    public void close() { arena.close(); }
}
