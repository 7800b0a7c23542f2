package dev.longnet.cluster;

import java.io.IOException;

/** Where a member gets another block's slice of a spanning segment ({@link DilatedSlice}): a peer, or its own files. */
public interface SliceSource {
    /** The slice of block {@code block} for segment {@code segment} of level {@code level}. */
    byte[] fetch(int level, long segment, int block) throws IOException;
}
