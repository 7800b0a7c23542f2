package dev.longnet.cluster;

import dev.longnet.engine.AttentionConfig;
import dev.longnet.engine.Level;
import dev.longnet.storage.RowWindow;
import dev.longnet.storage.TensorRows;
import java.io.IOException;
import java.lang.foreign.MemorySegment;

/**
 * What a block holds of one segment's dilated views: for level (w, r), segment s and head h with phase o, the
 * view rows j (positions s·w + o + j·r) that fall inside the block's rows. A slice is what crosses the network:
 * for each head in order, its K rows then its V rows, in the files' dtype, 1/r of the block's part of the segment.
 */
public final class DilatedSlice {
    private DilatedSlice() { }

    /** View rows [from, to) of the segment at {@code segStart} with {@code segRows} rows whose positions lie in [lo, hi). */
    public static int[] range(long segStart, long segRows, int r, int o, long lo, long hi) {
        int m = Level.viewRows(segRows, r, o);
        long base = segStart + o;
        int from = (int) Math.clamp(ceilDiv(lo - base, r), 0, m);
        int to = (int) Math.clamp(ceilDiv(hi - base, r), 0, m);
        return new int[]{from, Math.max(from, to)};
    }

    private static long ceilDiv(long a, long b) { return Math.floorDiv(a + b - 1, b); }

    /** Bytes of the slice of block [lo, hi) for segment s of the level. */
    public static long bytes(AttentionConfig config, long n, Level level, long s, long lo, long hi, int kBytes, int vBytes) {
        long w = level.effectiveSegment(n);
        long segStart = s * w;
        long segRows = Math.min(w, n - segStart);
        long rows = 0;
        for (int h = 0; h < config.heads(); h++) {
            int[] j = range(segStart, segRows, level.dilation(), config.offset(level, h), lo, hi);
            rows += j[1] - j[0];
        }
        return rows * config.headDim() * (long) (kBytes + vBytes);
    }

    /** Extracts the slice of rows [lo, hi) of k and v for segment s of the level. */
    public static byte[] extract(AttentionConfig config, Level level, long s, long lo, long hi, TensorRows k,
                                 TensorRows v) throws IOException {
        long n = k.rows();
        long w = level.effectiveSegment(n);
        long segStart = s * w;
        long segRows = Math.min(w, n - segStart);
        long from = Math.max(lo, segStart);
        long to = Math.min(hi, segStart + segRows);
        int d = config.headDim();
        int heads = config.heads();
        byte[] out = new byte[Math.toIntExact(bytes(config, n, level, s, lo, hi, k.dtype().bytes(), v.dtype().bytes()))];
        if (out.length == 0) return out;
        MemorySegment dst = MemorySegment.ofArray(out);
        long at = 0;
        try (RowWindow kw = k.window(from, to - from); RowWindow vw = v.window(from, to - from)) {
            for (int h = 0; h < heads; h++) {
                int r = level.dilation();
                int o = config.offset(level, h);
                int[] j = range(segStart, segRows, r, o, lo, hi);
                at = copyRows(kw.segment(), k.dtype().bytes(), segStart + o - from, r, j, h, heads, d, dst, at);
                at = copyRows(vw.segment(), v.dtype().bytes(), segStart + o - from, r, j, h, heads, d, dst, at);
            }
        }
        return out;
    }

    /**
     * Copies view rows j[0]..j[1] of head h, whose row j sits at window row {@code firstRow + j·r}, to dst at
     * {@code at}; returns the offset after them.
     */
    static long copyRows(MemorySegment window, int bytes, long firstRow, int r, int[] j, int h, int heads, int d,
                         MemorySegment dst, long at) {
        long rowBytes = (long) d * bytes;
        for (int i = j[0]; i < j[1]; i++) {
            long row = firstRow + (long) i * r;
            MemorySegment.copy(window, (row * heads + h) * rowBytes, dst, at, rowBytes);
            at += rowBytes;
        }
        return at;
    }
}
