package dev.longnet.cluster;

import dev.longnet.engine.AttentionConfig;
import dev.longnet.engine.AttentionKernel;
import dev.longnet.engine.DilatedAttention;
import dev.longnet.engine.Level;
import dev.longnet.engine.Parallel;
import dev.longnet.engine.Tiling;
import dev.longnet.engine.View;
import dev.longnet.storage.DType;
import dev.longnet.storage.RowWindow;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.channels.FileChannel;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.DoubleConsumer;

/**
 * Computes one block of a distributed job: its stages in configuration order, journaled, merging into the block's
 * out and lse rows. Local stages are the single-machine engine on the block's rows. A spanning level gathers, per
 * segment the block shares, the other blocks' slices (earlier blocks only when causal), and attends the block's own
 * queries of each dilated view to the gathered keys and values with the same kernel: a query row's arithmetic does
 * not depend on how queries are cut into tiles, and levels merge in the same order, so every output bit equals
 * the single-machine engine's. Under torchscale semantics a spanning level that pads or shifts is a
 * {@link PaddedSpan}.
 */
final class BlockRunner {
    private final JobFiles files;
    private final AttentionConfig config;
    private final BlockPlan plan;
    private final SliceSource peers;
    private final JobSpec spec;
    private final AttentionKernel kernel;
    /** Most keys of a spanning view one kernel call sees ({@link Tiling#KEY_BLOCK_ROWS}; tests: fewer). */
    private final int keyBlockRows;
    /** Spanning levels under torchscale semantics, where they differ from exact ones. */
    private final PaddedSpan padded;
    private final Listener listener;

    /**
     * Hears the work a block has done, in tokens ({@link BlockWork}), counting the stages an earlier run finished:
     * once as the block starts, as a stage goes on, and as each stage ends. Called from the runner's threads, the
     * span pool's included.
     */
    @FunctionalInterface
    interface Listener {
        Listener NONE = (block, tokensDone) -> { };

        void onProgress(int block, long tokensDone);
    }

    BlockRunner(JobFiles files, BlockPlan plan, SliceSource peers, JobSpec spec, AttentionKernel kernel) {
        this(files, plan, peers, spec, kernel, Tiling.KEY_BLOCK_ROWS, Listener.NONE);
    }

    /** With key blocks of {@code keyBlockRows} view rows in spanning levels (tests use small ones). */
    BlockRunner(JobFiles files, BlockPlan plan, SliceSource peers, JobSpec spec, AttentionKernel kernel, int keyBlockRows) {
        this(files, plan, peers, spec, kernel, keyBlockRows, Listener.NONE);
    }

    /** With key blocks of {@code keyBlockRows} view rows in spanning levels, telling {@code listener} the work done. */
    BlockRunner(JobFiles files, BlockPlan plan, SliceSource peers, JobSpec spec, AttentionKernel kernel, int keyBlockRows,
                Listener listener) {
        this.keyBlockRows = keyBlockRows;
        this.listener = listener;
        this.files = files;
        this.config = files.config;
        this.plan = plan;
        this.peers = peers;
        this.spec = spec;
        this.kernel = kernel;
        this.padded = new PaddedSpan(files, plan, peers, this::attend);
    }

    /** What one block did: the stages an earlier run had finished, and the slice bytes received per level. */
    record Outcome(int block, int stagesSkipped, Traffic traffic) { }

    Outcome run(int block) throws IOException {
        List<Stage> stages = Stage.of(config, plan);
        long first = plan.first(block);
        long end = plan.end(block);
        BlockJournal.Region[] regions = files.regions(first, end);
        BlockJournal journal = BlockJournal.open(files.dir, block);
        if (journal.mustZero()) BlockJournal.zero(regions);
        else if (journal.mustRestore()) journal.restore(regions);
        if (!journal.started()) journal.start();
        int skipped = journal.lastDone() + 1;
        BlockWork work = new BlockWork(config, plan);
        listener.onProgress(block, work.done(block, skipped, 0));
        Traffic traffic = Traffic.empty(block, config.levels().size(), plan.blocks());
        ExecutorService pool = Parallel.pool(spec.threads(), "longnet-span");
        try {
            for (int s = journal.lastDone() + 1; s < stages.size(); s++) {
                Stage stage = stages.get(s);
                if (s > 0 && !journal.mustRestore()) {
                    journal.save(regions);
                    journal.begin(s);
                }
                int index = s;
                DoubleConsumer share = f -> listener.onProgress(block, work.done(block, index, f));
                if (stage.spanning()) spanning(stage.levels().getFirst(), block, traffic, pool, share);
                else local(stage.levels(), first, end, share);
                force();
                journal.done(s);
                listener.onProgress(block, work.done(block, s + 1, 0));
                journal = BlockJournal.open(files.dir, block);
                pause();
            }
        } finally {
            if (pool != null) pool.shutdownNow();
        }
        return new Outcome(block, skipped, traffic);
    }

    /**
     * The engine on the block's rows with the stage's levels (segment lengths as clamped to the whole sequence);
     * {@code share} hears the share of the stage done, as the engine's progress counts it.
     */
    private void local(List<Integer> levels, long first, long end, DoubleConsumer share) throws IOException {
        List<Level> list = new ArrayList<>();
        for (int i : levels) {
            Level level = config.levels().get(i);
            list.add(new Level(level.effectiveSegment(plan.n()), level.dilation()));
        }
        AttentionConfig sub = config.withLevels(list);
        DilatedAttention.Options options = DilatedAttention.Options.defaults().withThreads(spec.threads())
                .withBudget(spec.windowBudget()).withKernel(kernel)
                .withListener(p -> share.accept((double) p.tokensDone() / p.tokensTotal()));
        long rows = end - first;
        try (DilatedAttention engine = new DilatedAttention(sub, options)) {
            engine.attend(new BlockRows(files.q, first, rows), new BlockRows(files.k, first, rows),
                    new BlockRows(files.v, first, rows), new BlockRows(files.out, first, rows),
                    new BlockRows(files.lse, first, rows));
        }
    }

    /**
     * One spanning level over every segment the block shares; {@code share} hears the share of the stage done, a
     * segment's rows in the block per head.
     */
    private void spanning(int levelIndex, int block, Traffic traffic, ExecutorService pool, DoubleConsumer share)
            throws IOException {
        Level level = config.levels().get(levelIndex);
        long n = plan.n();
        if (PaddedSpan.needed(config, level, n)) {
            padded.run(levelIndex, block, traffic, pool);
            return;
        }
        long w = level.effectiveSegment(n);
        long first = plan.first(block);
        long end = plan.end(block);
        Share done = new Share(share, (end - first) * config.heads());
        for (long s = first / w; s * w < end; s++) {
            long segStart = s * w;
            long segEnd = Math.min(n, segStart + w);
            int b0 = plan.blockOf(segStart);
            int b1 = config.causal() ? block : plan.blockOf(segEnd - 1);
            byte[][] slices = new byte[b1 - b0 + 1][];
            for (int b = b0; b <= b1; b++) {
                if (b == block) continue;
                slices[b - b0] = peers.fetch(levelIndex, s, b);
                traffic.add(levelIndex, b, slices[b - b0].length);
            }
            segment(level, s, block, b0, slices, pool, done);
        }
    }

    /** Row-heads of a spanning stage done, out of {@code total}, told to {@code share} as a fraction. */
    private record Share(DoubleConsumer share, long total, AtomicLong done) {
        Share(DoubleConsumer share, long total) { this(share, total, new AtomicLong()); }

        void add(long rowHeads) { share.accept((double) done.addAndGet(rowHeads) / total); }
    }

    /** The block's queries of segment s, per head, against the gathered keys and values. */
    private void segment(Level level, long s, int block, int b0, byte[][] slices, ExecutorService pool, Share done)
            throws IOException {
        long n = plan.n();
        long w = level.effectiveSegment(n);
        long segStart = s * w;
        long segRows = Math.min(w, n - segStart);
        long from = Math.max(plan.first(block), segStart);
        long to = Math.min(plan.end(block), segStart + segRows);
        try (RowWindow q = files.q.window(from, to - from); RowWindow k = files.k.window(from, to - from);
             RowWindow v = files.v.window(from, to - from); RowWindow out = files.out.window(from, to - from);
             RowWindow lse = files.lse.window(from, to - from)) {
            Own own = new Own(q.segment(), k.segment(), v.segment(), out.segment(), lse.segment(), from);
            List<Callable<Void>> heads = new ArrayList<>();
            for (int h = 0; h < config.heads(); h++) {
                int head = h;
                heads.add(() -> {
                    head(level, segStart, segRows, head, block, b0, slices, own);
                    done.add(to - from);
                    return null;
                });
            }
            Parallel.runAll(pool, heads);
        }
    }

    /** The block's mapped rows of one segment, from position {@code from}. */
    private record Own(MemorySegment q, MemorySegment k, MemorySegment v, MemorySegment out, MemorySegment lse, long from) { }

    private void head(Level level, long segStart, long segRows, int h, int block, int b0, byte[][] slices, Own own) {
        int r = level.dilation();
        int o = config.offset(level, h);
        int m = Level.viewRows(segRows, r, o);
        int[] mine = DilatedSlice.range(segStart, segRows, r, o, plan.first(block), plan.end(block));
        if (mine[0] >= mine[1]) return;
        int keys = config.causal() ? mine[1] : m;
        int d = config.headDim();
        int heads = config.heads();
        DType qt = files.q.dtype(), kt = files.k.dtype(), vt = files.v.dtype();
        long ownFirst = segStart + o - own.from();                   // window row of view row 0 (may be negative)
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment qs = arena.allocate((long) keys * d * qt.bytes(), 8);
            MemorySegment ks = arena.allocate((long) keys * d * kt.bytes(), 8);
            MemorySegment vs = arena.allocate((long) keys * d * vt.bytes(), 8);
            MemorySegment os = arena.allocate((long) keys * d * 4, 8);
            MemorySegment ls = arena.allocate((long) keys * 4, 8);
            for (int b = b0; b < b0 + slices.length; b++) {
                int[] j = DilatedSlice.range(segStart, segRows, r, o, plan.first(b), plan.end(b));
                j[1] = Math.min(j[1], keys);
                if (j[0] >= j[1]) continue;
                if (b == block) {
                    gather(own.k(), kt, ownFirst, r, j, h, heads, d, ks);
                    gather(own.v(), vt, ownFirst, r, j, h, heads, d, vs);
                } else {
                    DilatedSlice.unpack(slices[b - b0], config, plan.n(), level, segStart / level.effectiveSegment(plan.n()),
                            plan.first(b), plan.end(b), false, h, j, 0, kt.bytes(), vt.bytes(), null, ks, vs);
                }
            }
            gather(own.q(), qt, ownFirst, r, mine, h, heads, d, qs);
            gather(own.out(), DType.F32, ownFirst, r, mine, h, heads, d, os);
            gather(own.lse(), DType.F32, ownFirst, r, mine, h, heads, 1, ls);
            attend(new View(qs, qt, 0, d, keys, d), new View(ks, kt, 0, d, keys, d),
                    new View(vs, vt, 0, d, keys, d), new View(os, DType.F32, 0, d, keys, d),
                    new View(ls, DType.F32, 0, 1, keys, 1), mine[0], mine[1]);
            scatter(os, own.out(), DType.F32, ownFirst, r, mine, h, heads, d);
            scatter(ls, own.lse(), DType.F32, ownFirst, r, mine, h, heads, 1);
        }
    }

    /**
     * Queries [qFrom, qTo) of a view against its keys, in the pieces {@link Tiling} cuts them into, in its order:
     * in one kernel call when the view fits a key block, else key block by key block, merged by log-sum-exp in
     * block order, exactly as {@code DilatedAttention} and the stream cut them (a causal piece, the block's
     * diagonal, slices queries and keys alike at the block's first row): the same bits, and no kernel call sees
     * more than a key block of keys. The queries are not cut into tiles: a head's queries are already one task.
     */
    private void attend(View q, View k, View v, View o, View l, int qFrom, int qTo) {
        int m = k.rows();
        float scale = config.scale();
        Tiling.forEach(m, qFrom, qTo, config.causal(), keyBlockRows, Integer.MAX_VALUE, p -> {
            if (p.wholeView(m)) {
                kernel.attend(q, k, v, o, l, p.qFrom(), p.qTo(), p.causal(), scale);
                return;
            }
            View kb = k.window(p.kFrom(), p.kTo());
            View vb = v.window(p.kFrom(), p.kTo());
            if (p.causal()) {
                int k0 = p.kFrom();
                kernel.attend(q.window(k0, p.qTo()), kb, vb, o.window(k0, p.qTo()), l.window(k0, p.qTo()),
                        p.qFrom() - k0, p.qTo() - k0, true, scale);
            } else {
                kernel.attend(q, kb, vb, o, l, p.qFrom(), p.qTo(), false, scale);
            }
        });
    }

    /** View rows j[0]..j[1] of head h from a block window (row j at window row first + j·r) to row j of a packed buffer. */
    private static void gather(MemorySegment window, DType type, long first, int r, int[] j, int h, int heads, int cols,
                               MemorySegment packed) {
        DilatedSlice.copyRows(window, type.bytes(), first, r, j, h, heads, cols, packed, j[0] * (long) cols * type.bytes());
    }

    /** The reverse of {@link #gather}: packed rows j[0]..j[1] back into the block window. */
    private static void scatter(MemorySegment packed, MemorySegment window, DType type, long first, int r, int[] j, int h,
                                int heads, int cols) {
        long rowBytes = (long) cols * type.bytes();
        for (int i = j[0]; i < j[1]; i++) {
            MemorySegment.copy(packed, i * rowBytes, window, ((first + (long) i * r) * heads + h) * rowBytes, rowBytes);
        }
    }

    /** A test hook: -Dlongnet.cluster.stagePauseMillis=M pauses after each stage, so that a test can kill a member mid-job. */
    private static void pause() throws IOException {
        long millis = Long.getLong("longnet.cluster.stagePauseMillis", 0);
        if (millis <= 0) return;
        try {
            Thread.sleep(millis);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException("interrupted", e);
        }
    }

    /** Makes the out and lse rows durable (before the stage is journaled done). */
    private void force() throws IOException {
        for (var path : List.of(files.out.path(), files.lse.path())) {
            try (FileChannel c = FileChannel.open(path, StandardOpenOption.WRITE)) {
                c.force(false);
            }
        }
    }
}
