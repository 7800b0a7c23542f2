package dev.longnet.engine.stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

/** A call too long for one thread is cut into pieces of equal work: equal rows, or under the causal mask equal keys seen. */
class SpreadCutTest {
    private static StreamCore.Call call(int from, int to, boolean causal) {
        return new StreamCore.Call(null, null, null, null, null, from, to, causal, 0, 0, 0, 1, 0);
    }

    /** Keys seen by view rows [a, b) of a causal call: row x sees x + 1. */
    private static long work(long a, long b) { return (b * (b + 1) - a * (a + 1)) / 2; }

    @Test
    void causalPiecesSeeEqualKeys() {
        for (int[] shape : new int[][]{{0, 2048, 2}, {0, 256, 2}, {300, 2048, 3}, {0, 1000, 4}}) {
            StreamCore.Call c = call(shape[0], shape[1], true);
            int parts = shape[2];
            assertEquals(shape[0], StreamCore.cut(c, 0, parts));
            assertEquals(shape[1], StreamCore.cut(c, parts, parts));
            long total = work(shape[0], shape[1]);
            for (int i = 0; i < parts; i++) {
                long piece = work(StreamCore.cut(c, i, parts), StreamCore.cut(c, i + 1, parts));
                assertTrue(Math.abs(piece - (double) total / parts) < 0.01 * total, "piece " + i + " of " + parts + " in "
                        + shape[0] + ".." + shape[1] + ": " + piece + " of " + total);
            }
        }
        assertEquals(1448, StreamCore.cut(call(0, 2048, true), 1, 2), "not the middle: the later rows see more keys");
    }

    @Test
    void unmaskedPiecesHaveEqualRows() {
        assertEquals(1024, StreamCore.cut(call(0, 2048, false), 1, 2));
        assertEquals(700, StreamCore.cut(call(100, 1000, false), 2, 3));
    }
}
