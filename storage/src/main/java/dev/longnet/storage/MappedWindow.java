package dev.longnet.storage;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * A window over mapped file rows. With an arena of its own (one mapping per window) closing it unmaps the rows;
 * without one it is a slice of a longer-lived mapping and closing it does nothing.
 */
final class MappedWindow implements RowWindow {
    private final MemorySegment segment;
    private final long firstRow;
    private final long rowCount;
    private final Arena arena;
    private final AtomicBoolean closed = new AtomicBoolean();

    /** arena: the window's own arena, closed with it, or null when the mapping belongs to someone else. */
    MappedWindow(MemorySegment segment, long firstRow, long rowCount, Arena arena) {
        this.segment = segment;
        this.firstRow = firstRow;
        this.rowCount = rowCount;
        this.arena = arena;
    }

    @Override public MemorySegment segment() { return segment; }
    @Override public long firstRow() { return firstRow; }
    @Override public long rowCount() { return rowCount; }

    @Override
    public void advise(Advice advice) {
        Madvise.advise(segment, advice);
    }

    @Override
    public void force() {
        if (segment.isMapped() && !segment.isReadOnly() && segment.byteSize() > 0) segment.force();
    }

    /** Unmaps (when the window owns its mapping); closing twice is harmless. */
    @Override
    public void close() {
        if (arena != null && closed.compareAndSet(false, true)) arena.close();
    }
}
