package dev.longnet.engine;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.longnet.engine.Tiling.Piece;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;

/**
 * The one cut of a view's work into pieces: every (query, key) pair of the range exactly once (under the causal
 * mask only key <= query), in the canonical order (block by block, tile by tile, a diagonal before the rows past
 * it), no piece longer than a tile or a key block.
 */
class TilingTest {
    private static List<Piece> pieces(int m, int qFrom, int qTo, boolean causal, int keyBlockRows, int tileRows) {
        List<Piece> pieces = new ArrayList<>();
        Tiling.forEach(m, qFrom, qTo, causal, keyBlockRows, tileRows, pieces::add);
        return pieces;
    }

    @Test
    void theCanonicalOrderOfASmallCausalView() {
        // m = 10 in key blocks [0,4) [4,8) [8,10); queries [1,9) in tiles [1,4) [4,7) [7,9).
        assertEquals(List.of(
                new Piece(0, 0, 1, 4, 0, 4, true), new Piece(0, 1, 4, 7, 0, 4, false), new Piece(0, 2, 7, 9, 0, 4, false),
                new Piece(1, 1, 4, 7, 4, 8, true), new Piece(1, 2, 7, 8, 4, 8, true), new Piece(1, 2, 8, 9, 4, 8, false),
                new Piece(2, 2, 8, 9, 8, 10, true)),
                pieces(10, 1, 9, true, 4, 3));
    }

    @Test
    void theCanonicalOrderOfASmallView() {
        assertEquals(List.of(
                new Piece(0, 0, 1, 4, 0, 4, false), new Piece(0, 1, 4, 7, 0, 4, false), new Piece(0, 2, 7, 9, 0, 4, false),
                new Piece(1, 0, 1, 4, 4, 8, false), new Piece(1, 1, 4, 7, 4, 8, false), new Piece(1, 2, 7, 9, 4, 8, false),
                new Piece(2, 0, 1, 4, 8, 10, false), new Piece(2, 1, 4, 7, 8, 10, false), new Piece(2, 2, 7, 9, 8, 10, false)),
                pieces(10, 1, 9, false, 4, 3));
    }

    @Test
    void aViewThatFitsAKeyBlockIsOnePiecePerTileOverTheWholeView() {
        for (boolean causal : new boolean[]{false, true}) {
            assertEquals(List.of(new Piece(0, 0, 0, 100, 0, 100, causal)), pieces(100, 0, 100, causal, 100, 2048));
            assertEquals(List.of(new Piece(0, 0, 3, 50, 0, 100, causal), new Piece(0, 1, 50, 97, 0, 100, causal),
                    new Piece(0, 2, 97, 99, 0, 100, causal)), pieces(100, 3, 99, causal, 1000, 47));
            assertTrue(pieces(100, 3, 99, causal, 100, 10).stream().allMatch(p -> p.wholeView(100)));
            assertEquals(1, Tiling.blocks(100, 100));
            assertEquals(1, Tiling.blocks(0, 100));
        }
    }

    @Test
    void aViewOfWholeKeyBlocksEndsWithAFullBlock() {
        assertEquals(3, Tiling.blocks(12, 4));
        List<Piece> pieces = pieces(12, 0, 12, false, 4, 100);
        assertEquals(List.of(new Piece(0, 0, 0, 12, 0, 4, false), new Piece(1, 0, 0, 12, 4, 8, false),
                new Piece(2, 0, 0, 12, 8, 12, false)), pieces);
        assertCovers(12, 0, 12, true, 4, 5);
    }

    @Test
    void emptyRangesAndBlocksPastTheKeysGiveNoPiece() {
        for (boolean causal : new boolean[]{false, true}) {
            assertEquals(List.of(), pieces(10, 5, 5, causal, 4, 3));
            assertEquals(List.of(), pieces(10, 7, 2, causal, 4, 3));
            assertEquals(List.of(), pieces(0, 0, 0, causal, 4, 3));
            List<Piece> none = new ArrayList<>();
            Tiling.forBlock(10, 0, 10, causal, 4, 3, 3, none::add);
            Tiling.forBlock(10, 0, 10, causal, 4, 3, -1, none::add);
            assertEquals(List.of(), none);
        }
        List<Piece> before = new ArrayList<>();
        Tiling.forBlock(10, 0, 4, true, 4, 3, 1, before::add);    // causal: queries before the block see none of it
        assertEquals(List.of(), before);
    }

    @Test
    void anUnboundedTileDoesNotOverflow() {
        assertEquals(List.of(new Piece(0, 0, 5, 2_000_000_000, 0, 2_000_000_000, false)),
                pieces(2_000_000_000, 5, 2_000_000_000, false, Integer.MAX_VALUE, Integer.MAX_VALUE));
        assertCovers(300, 7, 300, true, 64, Integer.MAX_VALUE);
    }

    @Test
    void badArgumentsAreRefused() {
        assertThrows(IllegalArgumentException.class, () -> pieces(10, 0, 11, false, 4, 3));
        assertThrows(IllegalArgumentException.class, () -> pieces(10, -1, 5, false, 4, 3));
        assertThrows(IllegalArgumentException.class, () -> pieces(10, 0, 5, false, 0, 3));
        assertThrows(IllegalArgumentException.class, () -> pieces(10, 0, 5, false, 4, 0));
    }

    @Test
    void randomViewsAreCoveredExactlyOnceInTheCanonicalOrder() {
        Random random = new Random(21);
        for (int trial = 0; trial < 2000; trial++) {
            int m = random.nextInt(200);
            int qFrom = m == 0 ? 0 : random.nextInt(m + 1);
            int qTo = qFrom + (m == qFrom ? 0 : random.nextInt(m - qFrom + 1));
            int keyBlockRows = 1 + random.nextInt(trial % 3 == 0 ? 250 : 40);
            int tileRows = 1 + random.nextInt(trial % 5 == 0 ? 250 : 30);
            assertCovers(m, qFrom, qTo, random.nextBoolean(), keyBlockRows, tileRows);
        }
    }

    /** Every pair exactly once, the canonical order, and the bounds of every piece. */
    private static void assertCovers(int m, int qFrom, int qTo, boolean causal, int keyBlockRows, int tileRows) {
        String what = "m=" + m + " q=[" + qFrom + "," + qTo + ") causal=" + causal + " kb=" + keyBlockRows + " tile="
                + tileRows;
        List<Piece> pieces = pieces(m, qFrom, qTo, causal, keyBlockRows, tileRows);
        int[][] seen = new int[m][m];
        Piece previous = null;
        for (Piece p : pieces) {
            assertTrue(p.qFrom() < p.qTo() && p.kFrom() < p.kTo(), what + ": empty " + p);
            assertTrue(p.qFrom() >= qFrom && p.qTo() <= qTo, what + ": outside the queries " + p);
            assertEquals((long) p.block() * keyBlockRows, p.kFrom(), what + ": " + p);
            assertEquals(Math.min(m, (long) p.kFrom() + keyBlockRows), p.kTo(), what + ": " + p);
            long tileFrom = qFrom + (long) p.tile() * tileRows;
            assertTrue(p.qFrom() >= tileFrom && p.qTo() <= Math.min(qTo, tileFrom + tileRows), what + ": tile " + p);
            if (p.causal()) assertTrue(causal && p.qFrom() >= p.kFrom() && p.qTo() <= p.kTo(), what + ": diagonal " + p);
            else if (causal) assertTrue(p.qFrom() >= p.kTo(), what + ": past the block " + p);
            if (previous != null) {
                boolean ordered = previous.block() < p.block()
                        || previous.block() == p.block() && (previous.tile() < p.tile()
                        || previous.tile() == p.tile() && previous.causal() && !p.causal());
                assertTrue(ordered, what + ": " + previous + " before " + p);
            }
            previous = p;
            for (int i = p.qFrom(); i < p.qTo(); i++) {
                int keyEnd = p.causal() ? i + 1 : p.kTo();
                for (int j = p.kFrom(); j < keyEnd; j++) seen[i][j]++;
            }
        }
        for (int i = 0; i < m; i++) {
            for (int j = 0; j < m; j++) {
                int expected = i >= qFrom && i < qTo && (!causal || j <= i) ? 1 : 0;
                assertEquals(expected, seen[i][j], what + ": query " + i + ", key " + j);
            }
        }
    }
}
