package dev.longnet.cluster;

import dev.longnet.engine.AttentionConfig;
import dev.longnet.engine.Level;
import dev.longnet.engine.PaddedLayout;
import dev.longnet.engine.Semantics;
import java.io.Serial;
import java.io.Serializable;

/**
 * The sequence cut into {@code blocks} contiguous blocks of {@code blockRows} rows (the last one shorter), one per
 * member when the job starts. Block boundaries are multiples of the smallest segment, so the levels whose segment
 * divides the block are computed inside a block, exactly as on one machine; the others span blocks.
 */
public record BlockPlan(long n, long blockRows, int blocks) implements Serializable {
    @Serial
    private static final long serialVersionUID = 1L;

    public BlockPlan {
        if (n < 1 || blockRows < 1 || blocks < 1 || (blocks - 1) * blockRows >= n) {
            throw new IllegalArgumentException("bad block plan: n=" + n + " blockRows=" + blockRows + " blocks=" + blocks);
        }
    }

    /**
     * The plan for n rows over at most {@code members} blocks: blocks of ceil(n / members) rows rounded up to a
     * multiple of the smallest segment (so fewer blocks than members when n is small).
     */
    public static BlockPlan of(AttentionConfig config, long n, int members) {
        if (members < 1) throw new IllegalArgumentException("at least one member is needed");
        long smallest = config.levels().stream().mapToLong(l -> l.effectiveSegment(n)).min().orElseThrow();
        long share = (n + members - 1) / members;
        long rows = (share + smallest - 1) / smallest * smallest;
        return new BlockPlan(n, rows, Math.toIntExact((n + rows - 1) / rows));
    }

    public long first(int block) { return block * blockRows; }

    public long end(int block) { return Math.min(n, (block + 1) * blockRows); }

    public int blockOf(long row) { return Math.toIntExact(row / blockRows); }

    /** True when every segment of the level lies inside one block: under exact semantics, the level is computed locally. */
    public boolean local(Level level) {
        return blocks == 1 || blockRows % level.effectiveSegment(n) == 0;
    }

    /**
     * True when the level of {@code config} is computed locally: the single-machine engine on a block's rows gives
     * what it gives on the whole sequence. Under torchscale semantics ({@link PaddedLayout}) a level of several
     * blocks must moreover not shift (its outputs would move to later rows, across blocks), and, not causal, the
     * last block must hold a whole segment: on a shorter block the engine would pad its partial segment to fewer
     * rows than the whole sequence's segment length, and so count fewer zero keys.
     */
    public boolean local(AttentionConfig config, Level level) {
        if (!local(level)) return false;
        if (blocks == 1 || config.semantics() != Semantics.TORCHSCALE) return true;
        long w = level.effectiveSegment(n);
        return !PaddedLayout.of(level, n).shifted() && (config.causal() || n - first(blocks - 1) >= w);
    }

    @Override
    public String toString() { return blocks + " blocks of " + blockRows + " rows over " + n; }
}
