package dev.longnet.cluster;

import dev.longnet.engine.AttentionConfig;
import dev.longnet.engine.Level;
import dev.longnet.engine.PaddedLayout;
import dev.longnet.engine.Semantics;
import dev.longnet.storage.RowWindow;
import dev.longnet.storage.TensorRows;
import java.io.IOException;
import java.lang.foreign.MemorySegment;

/**
 * What a block holds of one segment's dilated views: for level (w, r), segment s and head h with phase o, the
 * view rows j (positions s·w + o + j·r) that fall inside the block's rows. A slice is what crosses the network:
 * for each head in order, its K rows then its V rows, in the files' dtype, 1/r of the block's part of the segment;
 * then its Q rows too when the slice {@linkplain #carriesQueries carries queries}.
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

    /**
     * Whether a peer's slice of the level holds Q rows as well: under torchscale semantics a level whose segments
     * shift ({@link PaddedLayout#shifted()}) writes a query's output to a later row than its input row, possibly in
     * another block, so the block that owns the output row needs the query from the block that holds it.
     */
    public static boolean carriesQueries(AttentionConfig config, Level level, long n) {
        return config.semantics() == Semantics.TORCHSCALE && PaddedLayout.of(level, n).shifted();
    }

    /** Bytes of the slice of block [lo, hi) for segment s of the level (qBytes 0: without Q rows). */
    public static long bytes(AttentionConfig config, long n, Level level, long s, long lo, long hi, int qBytes,
                             int kBytes, int vBytes) {
        long w = level.effectiveSegment(n);
        long segStart = s * w;
        long segRows = Math.min(w, n - segStart);
        long rows = 0;
        for (int h = 0; h < config.heads(); h++) {
            int[] j = range(segStart, segRows, level.dilation(), config.offset(level, h), lo, hi);
            rows += j[1] - j[0];
        }
        return rows * config.headDim() * (long) (qBytes + kBytes + vBytes);
    }

    /** Extracts the slice of rows [lo, hi) of k and v (and q when it {@linkplain #carriesQueries carries queries}). */
    public static byte[] extract(AttentionConfig config, Level level, long s, long lo, long hi, TensorRows q,
                                 TensorRows k, TensorRows v) throws IOException {
        return extract(config, level, s, lo, hi, q, k, v, carriesQueries(config, level, k.rows()));
    }

    /** As {@link #extract(AttentionConfig, Level, long, long, long, TensorRows, TensorRows, TensorRows)}, with Q rows or not. */
    static byte[] extract(AttentionConfig config, Level level, long s, long lo, long hi, TensorRows q, TensorRows k,
                          TensorRows v, boolean queries) throws IOException {
        long n = k.rows();
        long w = level.effectiveSegment(n);
        long segStart = s * w;
        long segRows = Math.min(w, n - segStart);
        long from = Math.max(lo, segStart);
        long to = Math.min(hi, segStart + segRows);
        int d = config.headDim();
        int heads = config.heads();
        int qBytes = queries ? q.dtype().bytes() : 0;
        byte[] out = new byte[Math.toIntExact(bytes(config, n, level, s, lo, hi, qBytes, k.dtype().bytes(),
                v.dtype().bytes()))];
        if (out.length == 0) return out;
        MemorySegment dst = MemorySegment.ofArray(out);
        long at = 0;
        try (RowWindow kw = k.window(from, to - from); RowWindow vw = v.window(from, to - from);
             RowWindow qw = queries ? q.window(from, to - from) : null) {
            for (int h = 0; h < heads; h++) {
                int r = level.dilation();
                int o = config.offset(level, h);
                int[] j = range(segStart, segRows, r, o, lo, hi);
                at = copyRows(kw.segment(), k.dtype().bytes(), segStart + o - from, r, j, h, heads, d, dst, at);
                at = copyRows(vw.segment(), v.dtype().bytes(), segStart + o - from, r, j, h, heads, d, dst, at);
                if (queries) at = copyRows(qw.segment(), qBytes, segStart + o - from, r, j, h, heads, d, dst, at);
            }
        }
        return out;
    }

    /**
     * Copies head h's rows j[0]..j[1] out of the slice of block [lo, hi) for segment s of the level into row j of
     * packed buffers: K into ks, V into vs and, when the slice carries queries, Q into qs (else qs is unused).
     */
    static void unpack(byte[] slice, AttentionConfig config, long n, Level level, long s, long lo, long hi,
                       boolean queries, int h, int[] j, int qBytes, int kBytes, int vBytes, MemorySegment qs,
                       MemorySegment ks, MemorySegment vs) {
        long w = level.effectiveSegment(n);
        long segStart = s * w;
        long segRows = Math.min(w, n - segStart);
        int d = config.headDim();
        long qRow = queries ? (long) d * qBytes : 0;
        long kRow = (long) d * kBytes;
        long vRow = (long) d * vBytes;
        long at = 0;
        int[] own = null;
        for (int g = 0; g <= h; g++) {
            own = range(segStart, segRows, level.dilation(), config.offset(level, g), lo, hi);
            if (g < h) at += (own[1] - own[0]) * (kRow + vRow + qRow);
        }
        int count = own[1] - own[0];
        MemorySegment src = MemorySegment.ofArray(slice);
        long rows = j[1] - j[0];
        long skip = j[0] - own[0];
        MemorySegment.copy(src, at + skip * kRow, ks, j[0] * kRow, rows * kRow);
        MemorySegment.copy(src, at + count * kRow + skip * vRow, vs, j[0] * vRow, rows * vRow);
        if (queries) MemorySegment.copy(src, at + count * (kRow + vRow) + skip * qRow, qs, j[0] * qRow, rows * qRow);
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
