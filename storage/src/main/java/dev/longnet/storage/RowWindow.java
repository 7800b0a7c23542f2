package dev.longnet.storage;

import java.lang.foreign.MemorySegment;

/** A window of consecutive rows of a {@link TensorRows}; closing it unmaps the rows (for files). */
public interface RowWindow extends AutoCloseable {
    /** The rows' bytes: row firstRow() starts at offset 0. */
    MemorySegment segment();

    long firstRow();

    long rowCount();

    /** A hint on how the window will be read; best effort, never fails. */
    void advise(Advice advice);

    /** Writes the window's dirty pages to the storage device (a no-op in memory). */
    void force();

    @Override
    void close();
}
