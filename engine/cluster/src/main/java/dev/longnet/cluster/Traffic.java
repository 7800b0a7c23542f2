package dev.longnet.cluster;

import java.io.Serial;
import java.io.Serializable;

/**
 * Slice bytes one block received per level, by the block that sent them: {@code bytes[level][fromBlock]}.
 * Payload only (K and V rows); each fetch adds Hazelcast's framing, a few hundred bytes.
 */
public record Traffic(int block, long[][] bytes, long fetches) implements Serializable {
    @Serial
    private static final long serialVersionUID = 1L;

    public static Traffic empty(int block, int levels, int blocks) { return new Traffic(block, new long[levels][blocks], 0); }

    public long received(int level) {
        long sum = 0;
        for (long b : bytes[level]) sum += b;
        return sum;
    }

    Traffic add(int level, int fromBlock, long count) {
        bytes[level][fromBlock] += count;
        return new Traffic(block, bytes, fetches + 1);
    }
}
