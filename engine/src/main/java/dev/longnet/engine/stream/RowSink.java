package dev.longnet.engine.stream;

import java.io.IOException;
import java.lang.foreign.MemorySegment;

/** Receives a stream's output rows as soon as they are final, in order, each row once. */
@FunctionalInterface
public interface RowSink {
    /**
     * @param firstRow the sequence position of the first row
     * @param rows     {@code count} rows of heads·headDim f32 values, (row, head, dim) order, little-endian; valid
     *                 only during the call
     */
    void accept(long firstRow, MemorySegment rows, int count) throws IOException;

    /** Drops every row (a stream run for its state or its timing). */
    RowSink DISCARD = (firstRow, rows, count) -> { };
}
