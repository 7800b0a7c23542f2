package dev.longnet.cluster;

import java.io.Serial;
import java.io.Serializable;

/**
 * Slice bytes one block received per level, by the block that sent them: {@code bytes[level][fromBlock]}.
 * Payload only (K and V rows); each fetch adds about 1 KiB on the wire (the request task, the reply framing).
 */
public record Traffic(int block, long[][] bytes) implements Serializable {
    @Serial
    private static final long serialVersionUID = 1L;

    public static Traffic empty(int block, int levels, int blocks) { return new Traffic(block, new long[levels][blocks]); }

    public long received(int level) {
        long sum = 0;
        for (long b : bytes[level]) sum += b;
        return sum;
    }

    void add(int level, int fromBlock, long count) { bytes[level][fromBlock] += count; }
}
