package dev.longnet.engine;

import java.util.function.Consumer;

/**
 * How the attention work of one dilated view is cut into kernel calls: the one home of that decision, which the
 * batch engine ({@link DilatedAttention}), the stream and the cluster all follow, so that their bits agree.
 *
 * <p>A view of m rows attends queries [qFrom, qTo) to its keys. The keys are cut into key blocks of
 * {@code keyBlockRows} view rows (one block when m fits), attended in block order, each merging into the output by
 * log-sum-exp: that order is what makes the bits equal everywhere. Against each block the queries are cut into
 * query tiles of at most {@code tileRows} rows, from qFrom on, and each tile gives at most two pieces: without a
 * mask, the whole tile against the block; under the causal mask, the tile's rows inside the block (the block's
 * causal diagonal) and then its rows past the block (which see all of it), while rows before the block see none of
 * it. A query row's arithmetic does not depend on where the query tiles are cut, only on its key blocks and their
 * order.
 *
 * <p>Pieces come in the canonical order: block by block, tile by tile within a block, the diagonal before the rows
 * past it. No piece is empty.
 */
public final class Tiling {
    /**
     * Query rows per tile. Every tile packs its keys once, so a tile should span a whole view where it can: the
     * benchmark levels' views (m = 2048) are then packed once. Views longer than this are cut, which keeps work
     * for every thread when there are few views.
     */
    public static final int TILE_ROWS = 2048;

    /**
     * Keys of a view per block: a view longer than this is attended block by block (each block's keys against
     * every query, merged by log-sum-exp in block order), so that no kernel call sees more than a block of keys and
     * the batch engine can drop each block's key and value pages once it is done, keeping resident memory within
     * the window budget plus one block whatever the segment length. Fixed, not derived from the budget, so that the
     * bits do not depend on it.
     */
    public static final int KEY_BLOCK_ROWS = 1 << 16;

    private Tiling() { }

    /**
     * One kernel call's worth of a view: queries [qFrom, qTo) against keys [kFrom, kTo), in key block {@code block}
     * and query tile {@code tile} (tile t holds the queries from qFrom + t·tileRows of the range that was cut). Under {@code causal}, query i sees keys
     * [kFrom, i] only, and qFrom >= kFrom: the caller slices queries and keys alike at kFrom, so that the kernel's
     * view indexes agree. A piece whose keys are the whole view ({@link #wholeView}) needs no slicing.
     */
    public record Piece(int block, int tile, int qFrom, int qTo, int kFrom, int kTo, boolean causal) {
        /** Whether the piece's keys are all {@code m} rows of its view. */
        public boolean wholeView(int m) { return kFrom == 0 && kTo == m; }
    }

    /** The key blocks of a view of {@code m} rows: 1 when m fits one block (or is 0). */
    public static int blocks(long m, int keyBlockRows) {
        requirePositive(keyBlockRows, "key block rows");
        return (int) Math.max(1, Math.ceilDiv(m, keyBlockRows));
    }

    /**
     * Hands every piece of queries [qFrom, qTo) of a view of {@code m} rows to {@code sink}, in the canonical order.
     * {@code tileRows} is at most the queries of a piece ({@link Integer#MAX_VALUE}: the queries are not cut).
     */
    public static void forEach(int m, int qFrom, int qTo, boolean causal, int keyBlockRows, int tileRows,
                               Consumer<Piece> sink) {
        int blocks = blocks(m, keyBlockRows);
        for (int block = 0; block < blocks; block++) forBlock(m, qFrom, qTo, causal, keyBlockRows, tileRows, block, sink);
    }

    /**
     * Hands the pieces of queries [qFrom, qTo) of a view of {@code m} rows against key block {@code block} to
     * {@code sink}, in the canonical order (nothing for a block past the view's keys). An empty query range gives no
     * piece; otherwise 0 <= qFrom and qTo <= m.
     */
    public static void forBlock(int m, int qFrom, int qTo, boolean causal, int keyBlockRows, int tileRows, int block,
                                Consumer<Piece> sink) {
        requirePositive(keyBlockRows, "key block rows");
        requirePositive(tileRows, "tile rows");
        if (qFrom >= qTo) return;
        if (qFrom < 0 || qTo > m) {
            throw new IllegalArgumentException("queries [" + qFrom + ", " + qTo + ") outside a view of " + m + " rows");
        }
        long start = (long) block * keyBlockRows;
        if (block < 0 || start >= m) return;
        int k0 = (int) start;
        int k1 = (int) Math.min(m, start + keyBlockRows);
        if (causal && k0 >= qTo) return;                              // every query precedes the block
        int tile = 0;
        for (int a = qFrom, b; a < qTo; a = b, tile++) {
            b = (int) Math.min(qTo, (long) a + tileRows);
            if (!causal) {
                sink.accept(new Piece(block, tile, a, b, k0, k1, false));
                continue;
            }
            int diagonalFrom = Math.max(a, k0);
            int diagonalTo = Math.min(b, k1);
            if (diagonalFrom < diagonalTo) sink.accept(new Piece(block, tile, diagonalFrom, diagonalTo, k0, k1, true));
            int after = Math.max(a, k1);
            if (after < b) sink.accept(new Piece(block, tile, after, b, k0, k1, false));
        }
    }

    private static void requirePositive(int value, String what) {
        if (value < 1) throw new IllegalArgumentException(what + " must be >= 1, got " + value);
    }
}
