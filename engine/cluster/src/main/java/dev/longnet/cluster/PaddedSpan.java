package dev.longnet.cluster;

import dev.longnet.engine.AttentionConfig;
import dev.longnet.engine.Level;
import dev.longnet.engine.LogSumExp;
import dev.longnet.engine.PaddedLayout;
import dev.longnet.engine.Padding;
import dev.longnet.engine.Parallel;
import dev.longnet.engine.Semantics;
import dev.longnet.engine.View;
import dev.longnet.storage.DType;
import dev.longnet.storage.RowWindow;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.concurrent.ExecutorService;

/**
 * One spanning level of a block under torchscale semantics, laid out as {@link PaddedLayout} lays it out: padded
 * segment s reads input rows [s·sl, s·sl + sl) and writes output rows from s·P. For every segment whose output rows
 * meet the block, the block gathers the slices of every block holding the segment's input rows (with their Q rows
 * when the level shifts, {@link DilatedSlice#carriesQueries}), attends the real queries whose output rows it owns
 * to the segment's real keys with the kernel, then merges the zero rows as the single-machine engine does
 * ({@link Padding}, in the same order, after the level's real keys): z zero keys for each real query of a view
 * with z padded rows (not causal), and each zero query's mean of the values it sees. The same values in the same
 * order as on one machine, so the same bits.
 */
final class PaddedSpan {
    /** Queries [qFrom, qTo) of packed views against their keys, cut as {@code Tiling} cuts them. */
    interface Attend {
        void attend(View q, View k, View v, View out, View lse, int qFrom, int qTo);
    }

    private final JobFiles files;
    private final AttentionConfig config;
    private final BlockPlan plan;
    private final SliceSource peers;
    private final Attend attend;

    PaddedSpan(JobFiles files, BlockPlan plan, SliceSource peers, Attend attend) {
        this.files = files;
        this.config = files.config;
        this.plan = plan;
        this.peers = peers;
        this.attend = attend;
    }

    /**
     * Whether a spanning level must take this form rather than the exact one: under torchscale semantics, unless
     * the level is causal and does not shift (then its zero rows come after every real query, none of them a
     * query whose output is below N, and the level is the exact one).
     */
    static boolean needed(AttentionConfig config, Level level, long n) {
        return config.semantics() == Semantics.TORCHSCALE && (!config.causal() || PaddedLayout.of(level, n).shifted());
    }

    /** Level {@code levelIndex} for block {@code block}'s output rows. */
    void run(int levelIndex, int block, Traffic traffic, ExecutorService pool) throws IOException {
        Level level = config.levels().get(levelIndex);
        long n = plan.n();
        PaddedLayout layout = PaddedLayout.of(level, n);
        long period = layout.outputPeriod();
        long first = plan.first(block);
        long end = plan.end(block);
        for (long s = first / period; s < layout.segments() && s * period < end; s++) {
            long inStart = s * layout.sl();
            long inEnd = Math.min(n, inStart + layout.sl());
            int b0 = plan.blockOf(inStart);
            int b1 = plan.blockOf(inEnd - 1);
            byte[][] slices = new byte[b1 - b0 + 1][];
            for (int b = b0; b <= b1; b++) {
                if (b == block) {                                     // its own rows, with their queries
                    slices[b - b0] = DilatedSlice.extract(config, level, s, first, end, files.q, files.k, files.v, true);
                    continue;
                }
                slices[b - b0] = peers.fetch(levelIndex, s, b);
                traffic.add(levelIndex, b, slices[b - b0].length);
            }
            segment(level, layout, s, block, b0, slices, pool);
        }
    }

    /** The block's output rows of padded segment s, per head. */
    private void segment(Level level, PaddedLayout layout, long s, int block, int b0, byte[][] slices,
                         ExecutorService pool) throws IOException {
        long period = layout.outputPeriod();
        long from = Math.max(plan.first(block), s * period);
        long to = Math.min(plan.end(block), s * period + period);
        try (RowWindow out = files.out.window(from, to - from); RowWindow lse = files.lse.window(from, to - from)) {
            List<Callable<Void>> heads = new ArrayList<>();
            for (int h = 0; h < config.heads(); h++) {
                int head = h;
                heads.add(() -> {
                    head(level, layout, s, head, block, b0, slices, out.segment(), lse.segment(), from);
                    return null;
                });
            }
            Parallel.runAll(pool, heads);
        }
    }

    private void head(Level level, PaddedLayout layout, long s, int h, int block, int b0, byte[][] slices,
                      MemorySegment outWindow, MemorySegment lseWindow, long windowFirst) {
        long n = plan.n();
        int r = level.dilation();
        int o = config.offset(level, h);
        int m = layout.realRows(s, o);                                // real keys of the phase
        int rows = layout.outputRows(s, o);                           // view rows whose output row is below N
        int queries = Math.min(m, rows);                              // real queries among them
        int phase = layout.phaseRows();
        long outBase = s * layout.outputPeriod() + o;                 // output row of view row 0
        int[] mine = {(int) Math.clamp(Math.ceilDiv(plan.first(block) - outBase, (long) r), 0, rows),
                (int) Math.clamp(Math.ceilDiv(plan.end(block) - outBase, (long) r), 0, rows)};
        if (mine[0] >= mine[1]) return;
        int d = config.headDim();
        int heads = config.heads();
        DType qt = files.q.dtype(), kt = files.k.dtype(), vt = files.v.dtype();
        long outFirst = outBase - windowFirst;                        // window row of view row 0 (may be negative)
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment qs = arena.allocate((long) m * d * qt.bytes(), 8);
            MemorySegment ks = arena.allocate((long) m * d * kt.bytes(), 8);
            MemorySegment vs = arena.allocate((long) m * d * vt.bytes(), 8);
            MemorySegment os = arena.allocate((long) mine[1] * d * 4, 8);
            MemorySegment ls = arena.allocate((long) mine[1] * 4, 8);
            long inStart = s * layout.sl();
            long segRows = Math.min(layout.sl(), n - inStart);
            boolean shifted = layout.shifted();
            for (int b = b0; b < b0 + slices.length; b++) {
                int[] j = DilatedSlice.range(inStart, segRows, r, o, plan.first(b), plan.end(b));
                if (j[0] >= j[1]) continue;
                DilatedSlice.unpack(slices[b - b0], config, n, level, s, plan.first(b), plan.end(b),
                        b == block || shifted, h, j, qt.bytes(), kt.bytes(), vt.bytes(), qs, ks, vs);
            }
            DilatedSlice.copyRows(outWindow, 4, outFirst, r, mine, h, heads, d, os, mine[0] * (long) d * 4);
            DilatedSlice.copyRows(lseWindow, 4, outFirst, r, mine, h, heads, 1, ls, mine[0] * 4L);
            View q = new View(qs, qt, 0, d, m, d);
            View k = new View(ks, kt, 0, d, m, d);
            View v = new View(vs, vt, 0, d, m, d);
            View out = new View(os, DType.F32, 0, d, mine[1], d);
            View lse = new View(ls, DType.F32, 0, 1, mine[1], 1);
            if (mine[0] < Math.min(mine[1], queries)) attend.attend(q, k, v, out, lse, mine[0], Math.min(mine[1], queries));
            zeroRows(v, out, lse, m, phase, mine);
            scatter(os, outWindow, outFirst, r, mine, h, heads, d);
            scatter(ls, lseWindow, outFirst, r, mine, h, heads, 1);
        }
    }

    /**
     * The zero rows of view rows [j[0], j[1]) of one phase of m real rows out of {@code phase}, merged as the
     * single-machine engine merges them: not causal, each real query merges the phase's zero keys; each zero query
     * merges its attention of the keys it sees (causal: those up to it), except one that sees only itself.
     */
    private void zeroRows(View v, View out, View lse, int m, int phase, int[] j) {
        int d = config.headDim();
        boolean causal = config.causal();
        float[] o = new float[d];
        float[] zeros = new float[d];
        float[] scratch = new float[d];
        if (!causal && m > 0 && m < phase) {
            float zeroLse = Padding.zeroKeysLse(phase - m);
            for (int i = j[0]; i < Math.min(j[1], m); i++) LogSumExp.merge(out, lse, i, zeros, 0, zeroLse, scratch);
        }
        for (int i = Math.max(j[0], m); i < j[1]; i++) {
            int count = causal ? i + 1 : phase;
            if (m == 0 && count == 1) continue;                        // lse exactly 0: torchscale masks it
            float l = Padding.zeroQuery(v, m, count, o, scratch);
            LogSumExp.merge(out, lse, i, o, 0, l, scratch);
        }
    }

    /** Packed rows j[0]..j[1] back into the window, row j at window row {@code first + j·r}. */
    private static void scatter(MemorySegment packed, MemorySegment window, long first, int r, int[] j, int h,
                                int heads, int cols) {
        long rowBytes = cols * 4L;
        for (int i = j[0]; i < j[1]; i++) {
            MemorySegment.copy(packed, i * rowBytes, window, ((first + (long) i * r) * heads + h) * rowBytes, rowBytes);
        }
    }
}
