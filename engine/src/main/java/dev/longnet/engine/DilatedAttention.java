package dev.longnet.engine;

import dev.longnet.storage.Advice;
import dev.longnet.storage.DType;
import dev.longnet.storage.Madvise;
import dev.longnet.storage.MemoryRows;
import dev.longnet.storage.RowWindow;
import dev.longnet.storage.TensorRows;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * LongNet's dilated attention, out = attend(q, k, v), over tensors of shape (N, H, d) held in mapped files or in
 * memory. The work follows a {@link Schedule}: windows of rows are mapped, every level of a pass runs on them as
 * (level, segment group, head, query range) tiles on a thread pool, and each tile merges into the output by
 * log-sum-exp. Memory is bounded by the window budget and the per-thread kernel buffers, whatever N is.
 *
 * <pre>{@code
 * var config = AttentionConfig.preset("bench").heads(8).headDim(64).build();
 * try (var attention = new DilatedAttention(config, DilatedAttention.Options.defaults())) {
 *     attention.attend(q, k, v, out, lse);
 * }
 * }</pre>
 * Not thread-safe: calls of {@code attend} on one instance must not overlap (each call already spreads its work
 * over the instance's worker threads); use one instance per calling thread.
 */
public final class DilatedAttention implements AutoCloseable {
    /**
     * @param threads            worker threads (1 runs on the caller's thread)
     * @param windowBudgetBytes  bytes of q, k, v, out and lse rows mapped at once
     * @param unitLog            where a resumable run records its units ({@link UnitLog#NONE}: nowhere)
     * @param scratch            a directory where a split pass gathers each window's keys and values head by head
     *                           ({@link GatheredKeys}), so that resident memory stays bounded whatever the segment
     *                           length; null: none, and split units read mapped k and v in place (all of their
     *                           pages resident while a unit runs)
     */
    public record Options(int threads, long windowBudgetBytes, AttentionKernel kernel, Progress.Listener listener,
                          UnitLog unitLog, Path scratch) {
        public Options {
            if (threads < 1) throw new IllegalArgumentException("threads must be >= 1, got " + threads);
            if (windowBudgetBytes < 1) throw new IllegalArgumentException("window budget must be positive");
            if (kernel == null) kernel = AttentionKernels.cpu();
            if (listener == null) listener = Progress.Listener.NONE;
            if (unitLog == null) unitLog = UnitLog.NONE;
        }

        /** All cores, 256 MiB of windows, the Vector API kernel, no progress listener, no unit log, no scratch. */
        public static Options defaults() {
            return new Options(Runtime.getRuntime().availableProcessors(), 256L << 20, null, null, null, null);
        }

        public Options withThreads(int n) { return new Options(n, windowBudgetBytes, kernel, listener, unitLog, scratch); }
        public Options withBudget(long bytes) { return new Options(threads, bytes, kernel, listener, unitLog, scratch); }
        public Options withKernel(AttentionKernel k) { return new Options(threads, windowBudgetBytes, k, listener, unitLog, scratch); }
        public Options withListener(Progress.Listener l) { return new Options(threads, windowBudgetBytes, kernel, l, unitLog, scratch); }
        public Options withUnitLog(UnitLog log) { return new Options(threads, windowBudgetBytes, kernel, listener, log, scratch); }
        public Options withScratch(Path dir) { return new Options(threads, windowBudgetBytes, kernel, listener, unitLog, dir); }
    }

    private final AttentionConfig config;
    private final Options options;
    private final ExecutorService pool;
    private final int keyBlockRows;
    private final Prefault prefault = new Prefault();

    public DilatedAttention(AttentionConfig config, Options options) {
        this(config, options, Tiling.KEY_BLOCK_ROWS);
    }

    /** With key blocks of {@code keyBlockRows} view rows (tests use small ones). */
    DilatedAttention(AttentionConfig config, Options options, int keyBlockRows) {
        this.config = config;
        this.options = options;
        this.keyBlockRows = keyBlockRows;
        this.pool = Parallel.pool(options.threads(), "longnet-worker");
    }

    public AttentionConfig config() { return config; }

    public Options options() { return options; }

    /**
     * Attends f32 tensors of n rows held in memory (each n·H·d floats, little-endian); out is overwritten.
     */
    public void attend(MemorySegment q, MemorySegment k, MemorySegment v, MemorySegment out, long n) {
        requireSharedWithWorkers(q, k, v, out);
        long[] shape = {n, config.heads(), config.headDim()};
        out.fill((byte) 0);
        try (Arena arena = Arena.ofShared()) {
            MemorySegment lse = arena.allocate(n * config.heads() * 4L, 4);   // zeros decode to lse = -inf
            attend(MemoryRows.of(q, DType.F32, shape), MemoryRows.of(k, DType.F32, shape),
                    MemoryRows.of(v, DType.F32, shape), MemoryRows.of(out, DType.F32, shape),
                    MemoryRows.of(lse, DType.F32, n, config.heads()));
        } catch (IOException e) {
            throw new UncheckedIOException(e);                             // memory windows do no I/O
        }
    }

    /**
     * Attends a batch of f32 sequences held in memory: q, k, v and out of shape (batch, n, H, d), sequence b being
     * its first {@code lengths[b]} rows (null: all n). Each sequence gets the bits of its run alone; out's padding
     * rows are zero.
     */
    public void attend(MemorySegment q, MemorySegment k, MemorySegment v, MemorySegment out, long batch, long n,
                       long[] lengths) {
        long[] checked = BatchJob.lengths(lengths, batch, n, "q");
        long rowBytes = (long) config.heads() * config.headDim() * Float.BYTES;
        long sequenceBytes = n * rowBytes;
        String[] names = {"q", "k", "v", "out"};
        MemorySegment[] all = {q, k, v, out};
        for (int i = 0; i < 4; i++) {
            if (all[i].byteSize() != batch * sequenceBytes) {
                throw new IllegalArgumentException(names[i] + " holds " + all[i].byteSize() + " bytes, but a batch of "
                        + batch + " sequences of " + n + " rows of " + config.heads() + "x" + config.headDim() + " f32"
                        + " values needs " + batch * sequenceBytes);
            }
        }
        out.fill((byte) 0);
        for (int b = 0; b < checked.length; b++) {
            long at = b * sequenceBytes;
            long bytes = checked[b] * rowBytes;
            attend(q.asSlice(at, bytes), k.asSlice(at, bytes), v.asSlice(at, bytes), out.asSlice(at, bytes), checked[b]);
        }
    }

    /**
     * Refuses, up front, segments the worker threads may not touch: those of a confined arena
     * ({@code Arena.ofConfined()}), which only their owner thread may access.
     */
    private void requireSharedWithWorkers(MemorySegment... segments) {
        if (pool == null) return;                                     // one thread: the work runs on the caller's
        Thread worker = Thread.ofPlatform().unstarted(() -> { });
        String[] names = {"q", "k", "v", "out", "lse"};
        for (int i = 0; i < segments.length; i++) {
            if (!segments[i].isAccessibleBy(worker)) {
                throw new IllegalArgumentException(names[i] + " belongs to a confined arena (Arena.ofConfined()), which"
                        + " only its owner thread may access, but the engine runs on " + options.threads() + " worker"
                        + " threads: allocate it from Arena.ofShared() or Arena.ofAuto(), or use"
                        + " Options.withThreads(1) to run on the caller's thread");
            }
        }
    }

    /**
     * Attends q, k, v of shape (N, H, d) (f32, f16 or bf16) into out, of shape (N, H, d) and type f32, merging with
     * what out and lse already hold. lse is (N, H) f32 scratch; a zero-filled out and lse start a fresh run.
     * Units the options' {@link UnitLog} reports completed are skipped.
     */
    public void attend(TensorRows q, TensorRows k, TensorRows v, TensorRows out, TensorRows lse) throws IOException {
        attend(schedule(q, k, v), q, k, v, out, lse);
    }

    /**
     * As {@link #attend(TensorRows, TensorRows, TensorRows, TensorRows, TensorRows)}, following a schedule planned
     * earlier for these inputs (a file job plans once, and its journal records the same units).
     */
    public void attend(Schedule schedule, TensorRows q, TensorRows k, TensorRows v, TensorRows out, TensorRows lse)
            throws IOException {
        try {
            attendUnits(schedule, q, k, v, out, lse);
        } finally {
            prefault.await();                                  // no mapping of out or lse outlives the call
        }
    }

    private void attendUnits(Schedule schedule, TensorRows q, TensorRows k, TensorRows v, TensorRows out,
                             TensorRows lse) throws IOException {
        long n = checkShapes(q, k, v, out, lse);
        if (n == 0) return;
        UnitLog log = options.unitLog();
        double totalFlops = config.flops(n);
        double doneFlops = 0;
        long tiles = 0;
        long unitsDone = 0;
        long unitsTotal = schedule.unitCount(n);
        long ordinal = 0;                                  // of the unit in schedule order
        GatheredKeys gathered = null;                      // a split window's keys and values, for all its units
        WindowLevel gatheredFor = null;
        try {
            for (int p = 0; p < schedule.passes().size(); p++) {
                Schedule.Pass pass = schedule.passes().get(p);
                for (long index = 0; index < pass.units(n); index++, ordinal++) {
                    Schedule.Unit unit = schedule.unit(p, index, n);
                    long earlier = log.completed(unit);
                    if (earlier >= 0) {                                        // an earlier run finished this unit
                        tiles += earlier;
                        for (int levelIndex : pass.levels()) {
                            doneFlops += totalFlops * shareOf(config.levels().get(levelIndex), n, unit.rows());
                        }
                        unitsDone++;
                        options.listener().onProgress(new Progress(tiles,
                                Math.min(n, Math.round(n * doneFlops / totalFlops)), n, pass.levels().getLast(), p,
                                unitsDone, unitsTotal));
                        continue;
                    }
                    long inFirst = unit.windowFirst();
                    long inEnd = unit.windowFirst() + unit.windowRows();
                    PaddedLayout layout = PaddedLayout.of(config.levels().get(pass.levels().getFirst()), n);
                    if (config.semantics() == Semantics.TORCHSCALE && layout.shifted()) {   // alone in its pass
                        inFirst = layout.inputFirst(unit.windowFirst());
                        inEnd = layout.inputEnd(unit.windowFirst() + unit.windowRows());
                    }
                    try (Windows windows = Windows.open(unit, inFirst, inEnd - inFirst, !pass.split(), q, k, v, out,
                            lse);
                         UnitRows rows = UnitRows.of(unit, windows, out, lse)) {
                        requireSharedWithWorkers(windows.q().segment(), windows.k().segment(), windows.v().segment(),
                                windows.out().segment(), windows.lse().segment());
                        // Every unit after one that runs runs too (finished units are a prefix of the schedule).
                        if (ordinal + 1 < unitsTotal) {
                            Schedule.Unit next = schedule.unitAt(ordinal + 1, n);
                            prefault.ahead(out, lse, next.firstRow(), next.rows());
                        }
                        log.begin(unit, rows.out(), rows.lse());
                        long unitTiles = 0;
                        for (int i = 0; i < pass.levels().size(); i++) {
                            int levelIndex = pass.levels().get(i);
                            Level level = config.levels().get(levelIndex);
                            GatheredKeys keys = null;
                            if (pass.split() && options.scratch() != null
                                    && (windows.k().segment().isMapped() || windows.v().segment().isMapped())) {
                                WindowLevel at = new WindowLevel(p, levelIndex, unit.windowFirst());
                                if (!at.equals(gatheredFor)) {
                                    if (gathered != null) gathered.close();
                                    gathered = null;
                                    gathered = gather(level, n, windows, k, v);
                                    gatheredFor = at;
                                }
                                keys = gathered;
                            }
                            int blocks = Tiling.blocks(Level.viewRows(level.effectiveSegment(n), level.dilation(), 0),
                                    keyBlockRows);
                            for (int block = 0; block < blocks; block++) {
                                unitTiles += run(tiles(level, n, windows, keys, unit, block, blocks), q, k, v);
                                if (blocks > 1 && keys == null) {
                                    windows.dropKeys(level, n, (long) block * keyBlockRows, keyBlockRows);
                                }
                            }
                            if (config.semantics() == Semantics.TORCHSCALE) padding(level, n, windows, keys, unit);
                            doneFlops += totalFlops * shareOf(level, n, unit.rows());
                            boolean last = i == pass.levels().size() - 1;
                            if (last) log.end(unit, unitTiles, rows.out(), rows.lse());
                            options.listener().onProgress(new Progress(tiles + unitTiles,
                                    Math.min(n, Math.round(n * doneFlops / totalFlops)), n, levelIndex, p,
                                    unitsDone + (last ? 1 : 0), unitsTotal));
                        }
                        tiles += unitTiles;
                        unitsDone++;
                    }
                }
            }
        } finally {
            if (gathered != null) gathered.close();
        }
    }

    /** A window of a pass and one of its levels: what a gather of keys and values is for. */
    private record WindowLevel(int pass, int level, long windowFirst) { }

    /** The segments of {@code level} whose output rows the window holds: [first, end). */
    private long[] segments(Level level, long n, Windows windows) {
        long period = config.semantics() == Semantics.TORCHSCALE ? PaddedLayout.of(level, n).outputPeriod()
                : level.effectiveSegment(n);
        return new long[]{windows.first / period, Math.ceilDiv(windows.first + windows.rows, period)};
    }

    /** Gathers the keys and values of the window's segments of {@code level} into the scratch directory. */
    private GatheredKeys gather(Level level, long n, Windows windows, TensorRows k, TensorRows v) throws IOException {
        long[] segments = segments(level, n, windows);
        return GatheredKeys.gather(options.scratch(), config, level, n, segments[0], segments[1], k, v, pool);
    }

    /**
     * Bytes of scratch files {@link Options#scratch} may hold at once for inputs of n rows of these types: the
     * keys and values of one segment of the longest level, head by head.
     */
    public static long scratchBytes(AttentionConfig config, long n, DType kType, DType vType) {
        return GatheredKeys.bytes(config, n, kType, vType);
    }

    /**
     * The schedule {@link #attend(TensorRows, TensorRows, TensorRows, TensorRows, TensorRows)} follows for these
     * inputs (the window budget counts q, k and v rows and the f32 out and lse rows).
     */
    public Schedule schedule(TensorRows q, TensorRows k, TensorRows v) {
        return schedule(config, options.windowBudgetBytes(), q, k, v);
    }

    /** The schedule of {@code config} with a window budget of {@code windowBudgetBytes} for these inputs. */
    public static Schedule schedule(AttentionConfig config, long windowBudgetBytes, TensorRows q, TensorRows k,
                                    TensorRows v) {
        long n = q.rows();
        long heads = config.heads();
        long rowBytes = q.rowBytes() + k.rowBytes() + v.rowBytes() + heads * config.headDim() * 4L + heads * 4L;
        return Schedule.plan(config, n, Math.max(1, windowBudgetBytes / rowBytes));
    }

    /** The share of the run's flops that one level spends on {@code rows} rows. */
    private double shareOf(Level level, long n, long rows) {
        double levelWeight = (double) level.effectiveSegment(n) / ((double) level.dilation() * level.dilation());
        double all = 0;
        for (Level l : config.levels()) all += (double) l.effectiveSegment(n) / ((double) l.dilation() * l.dilation());
        return levelWeight / all * rows / n;
    }

    /**
     * The tiles of one level for a unit's queries against key block {@code block} of {@code blocks}, cut as
     * {@link Tiling} cuts each view (a unit of a split pass takes the view rows of its own query rows). With one
     * block, a tile's parts are whole views: one query tile of a view, or a group of small views; with more, a
     * tile is one query tile of a view against the block, its parts the query tile's pieces. With gathered keys
     * (not null) the views read them, and the last tile of each head to finish drops the head's rows of the block.
     */
    private List<Tile> tiles(Level level, long n, Windows windows, GatheredKeys keys, Schedule.Unit unit, int block,
                             int blocks) {
        int heads = config.heads();
        int d = config.headDim();
        boolean causal = config.causal();
        long w = level.effectiveSegment(n);
        int r = level.dilation();
        // Under torchscale semantics segment s writes output rows from s·P (P = g when the level shifts) and its
        // queries stop at row N (a shifted segment's last rows may fall past it).
        PaddedLayout layout = PaddedLayout.of(level, n);
        boolean padded = config.semantics() == Semantics.TORCHSCALE;
        long period = padded ? layout.outputPeriod() : w;
        long firstSegment = windows.first / period;
        long endSegment = Math.ceilDiv(windows.first + windows.rows, period);
        List<Tile> tiles = new ArrayList<>();
        List<Tiling.Piece> pieces = new ArrayList<>();
        for (int h = 0; h < heads; h++) {
            int o = config.offset(level, h);
            int headTiles = tiles.size();
            List<Tile.Part> group = new ArrayList<>();
            int groupRows = 0;
            for (long s = firstSegment; s < endSegment; s++) {
                long segmentRows = Math.min(w, n - s * w);
                int m = Level.viewRows(segmentRows, r, o);
                if (m == 0) continue;
                int queries = padded ? Math.min(m, layout.outputRows(s, o)) : m;
                long inRow = s * w + o - windows.inFirst;                 // first view row, relative to the windows
                long outRow = s * period + o - windows.first;
                // The view rows whose output rows are the unit's query rows (all of them unless the pass is split).
                int from = (int) Math.clamp(Math.ceilDiv(unit.firstRow() - s * period - o, (long) r), 0, queries);
                int to = (int) Math.clamp(Math.ceilDiv(unit.firstRow() + unit.rows() - s * period - o, (long) r), 0, queries);
                if (to <= from) continue;
                Tile.Views views = windows.views(inRow, outRow, r, m, queries, h, heads, d, keys, s);
                pieces.clear();
                Tiling.forBlock(m, from, to, causal, keyBlockRows, Tiling.TILE_ROWS, block, pieces::add);
                if (blocks > 1) {                                         // a tile per query tile: sliced parts
                    List<Tile.Part> parts = new ArrayList<>(2);
                    for (int i = 0; i < pieces.size(); i++) {
                        parts.add(Tile.part(views, pieces.get(i)));
                        if (i + 1 == pieces.size() || pieces.get(i + 1).tile() != pieces.get(i).tile()) {
                            tiles.add(new Tile(parts));
                            parts = new ArrayList<>(2);
                        }
                    }
                    continue;
                }
                // One block: the pieces' keys are the whole view. A view of a tile or more of queries gets a tile per
                // query tile; smaller ones are grouped into tiles of about TILE_ROWS queries.
                for (Tiling.Piece p : pieces) {
                    Tile.Part part = new Tile.Part(views, p.qFrom(), p.qTo(), p.causal());
                    if (to - from >= Tiling.TILE_ROWS) {
                        tiles.add(new Tile(List.of(part)));
                        continue;
                    }
                    group.add(part);
                    groupRows += p.qTo() - p.qFrom();
                    if (groupRows >= Tiling.TILE_ROWS) {
                        tiles.add(new Tile(group));
                        group = new ArrayList<>();
                        groupRows = 0;
                    }
                }
            }
            if (!group.isEmpty()) tiles.add(new Tile(group));
            if (keys != null && tiles.size() > headTiles) {
                int head = h;
                Countdown done = new Countdown(tiles.size() - headTiles,
                        () -> keys.drop(head, (long) block * keyBlockRows, keyBlockRows));
                for (int i = headTiles; i < tiles.size(); i++) tiles.set(i, new Tile(tiles.get(i).parts(), done));
            }
        }
        return tiles;
    }

    /**
     * The zero rows of torchscale's padded layout for one level and a unit's query rows, after its real keys
     * ({@link Padding}): not causal, each real query of a phase with z padded rows merges z zero keys; every zero
     * query whose output row is below N merges its attention of the phase's keys. Rows are disjoint across heads,
     * so the bits do not depend on the threads.
     */
    private void padding(Level level, long n, Windows windows, GatheredKeys keys, Schedule.Unit unit)
            throws IOException {
        int heads = config.heads();
        int d = config.headDim();
        boolean causal = config.causal();
        PaddedLayout layout = PaddedLayout.of(level, n);
        int r = level.dilation();
        long period = layout.outputPeriod();
        long sl = layout.sl();
        int phase = layout.phaseRows();
        long firstSegment = windows.first / period;
        long endSegment = Math.ceilDiv(windows.first + windows.rows, period);
        List<Callable<Void>> calls = new ArrayList<>(heads);
        for (int head = 0; head < heads; head++) {
            int h = head;
            calls.add(() -> {
                float[] o = new float[d];
                float[] zeros = new float[d];
                float[] scratch = new float[d];
                int offset = config.offset(level, h);
                for (long s = firstSegment; s < endSegment; s++) {
                    int m = layout.realRows(s, offset);
                    int rows = layout.outputRows(s, offset);
                    int from = (int) Math.clamp(Math.ceilDiv(unit.firstRow() - s * period - offset, (long) r), 0, rows);
                    int to = (int) Math.clamp(Math.ceilDiv(unit.firstRow() + unit.rows() - s * period - offset, (long) r), 0, rows);
                    if (to <= from) continue;
                    Tile.Views views = windows.views(s * sl + offset - windows.inFirst, s * period + offset - windows.first,
                            r, m, rows, h, heads, d, keys, s);
                    if (!causal && m > 0 && m < phase) {
                        float zeroLse = Padding.zeroKeysLse(phase - m);
                        for (int j = from; j < Math.min(to, m); j++) {
                            LogSumExp.merge(views.out(), views.lse(), j, zeros, 0, zeroLse, scratch);
                        }
                    }
                    for (int j = Math.max(from, m); j < to; j++) {
                        int count = causal ? j + 1 : phase;
                        if (m == 0 && count == 1) continue;               // lse exactly 0: torchscale masks it
                        float l = Padding.zeroQuery(views.v(), m, count, o, scratch);
                        LogSumExp.merge(views.out(), views.lse(), j, o, 0, l, scratch);
                    }
                }
                if (keys != null) keys.drop(h, 0, Integer.MAX_VALUE);           // zero queries read the values
                return null;
            });
        }
        Parallel.runAll(pool, calls);
    }

    private int run(List<Tile> tiles, TensorRows q, TensorRows k, TensorRows v) throws IOException {
        AttentionKernel kernel = options.kernel();
        float scale = config.scale();
        List<Callable<Void>> calls = new ArrayList<>(tiles.size());
        for (Tile tile : tiles) calls.add(() -> { tile.run(kernel, scale, q, k, v); return null; });
        Parallel.runAll(pool, calls);
        return tiles.size();
    }

    private long checkShapes(TensorRows q, TensorRows k, TensorRows v, TensorRows out, TensorRows lse) {
        long[] expected = q.shape();
        if (expected.length != 3 || expected[1] != config.heads() || expected[2] != config.headDim()) {
            throw new IllegalArgumentException("q has shape " + Arrays.toString(expected) + ", expected (N, "
                    + config.heads() + ", " + config.headDim() + ") for heads=" + config.heads() + " headDim="
                    + config.headDim());
        }
        requireShape("k", k, expected);
        requireShape("v", v, expected);
        requireShape("out", out, expected);
        requireShape("lse", lse, new long[]{expected[0], expected[1]});
        if (out.dtype() != DType.F32 || lse.dtype() != DType.F32) {
            throw new IllegalArgumentException("out and lse accumulate in f32; got " + out.dtype() + " and " + lse.dtype());
        }
        if (!out.writable() || !lse.writable()) throw new IllegalArgumentException("out and lse must be writable");
        return expected[0];
    }

    private static void requireShape(String name, TensorRows t, long[] expected) {
        if (!Arrays.equals(t.shape(), expected)) {
            throw new IllegalArgumentException(name + " has shape " + Arrays.toString(t.shape()) + ", expected "
                    + Arrays.toString(expected));
        }
    }

    @Override
    public void close() {
        if (pool != null) pool.shutdownNow();
        prefault.close();
    }

    /** The five windows of one span of rows; closing unmaps them. */
    private record Windows(long first, long rows, long inFirst, long inRows, RowWindow q, RowWindow k, RowWindow v,
                           RowWindow out, RowWindow lse, DType qType, DType kType, DType vType) implements AutoCloseable {
        /**
         * The unit's window: output (and lse) rows [first, first + rows) and input rows [inFirst, inFirst + inRows)
         * (the same rows except for a shifted level under torchscale semantics). willNeed: read q, k and v ahead (not
         * for a split pass, whose units each read a part of a long window).
         */
        static Windows open(Schedule.Unit unit, long inFirst, long inRows, boolean willNeed, TensorRows q,
                            TensorRows k, TensorRows v, TensorRows out, TensorRows lse) throws IOException {
            long first = unit.windowFirst();
            long rows = unit.windowRows();
            List<RowWindow> opened = new ArrayList<>();
            try {
                for (TensorRows t : List.of(q, k, v)) opened.add(t.window(inFirst, inRows));
                for (TensorRows t : List.of(out, lse)) opened.add(t.window(first, rows));
            } catch (IOException | RuntimeException e) {
                opened.forEach(RowWindow::close);
                throw e;
            }
            if (willNeed) for (int i = 0; i < 3; i++) opened.get(i).advise(Advice.WILL_NEED);
            // Writes into a sparse file must not read around themselves (readahead would fill the file); the unit
            // writes all its out and lse rows, so they are mapped for writing at once rather than page by page: only
            // its own rows, which are all of the window's unless the pass is split.
            for (int i = 3; i < 5; i++) {
                RowWindow window = opened.get(i);
                window.advise(Advice.RANDOM);
                if (!window.segment().isMapped()) continue;              // rows in memory take no advice
                long rowBytes = window.segment().byteSize() / rows;
                Madvise.advise(window.segment().asSlice((unit.firstRow() - first) * rowBytes, unit.rows() * rowBytes),
                        Advice.POPULATE_WRITE);
            }
            return new Windows(first, rows, inFirst, inRows, opened.get(0), opened.get(1), opened.get(2), opened.get(3), opened.get(4),
                    q.dtype(), k.dtype(), v.dtype());
        }

        /**
         * Views of one dilated phase of head h, {@code r} rows apart: m key (and value) rows from input window row
         * {@code inRow}, the first {@code queries} of them as queries, whose output rows start at output window row
         * {@code outRow} (the same row except under torchscale semantics). The keys and values are those of
         * segment s gathered in {@code keys}, or when it is null the window's own.
         */
        Tile.Views views(long inRow, long outRow, int r, int m, int queries, int h, int heads, int d, GatheredKeys keys,
                         long s) {
            long element = (inRow * heads + h) * d;
            long outElement = (outRow * heads + h) * d;
            long rowStride = (long) r * heads;
            long stride = rowStride * d;
            return new Tile.Views(
                    new View(q.segment(), qType, element, stride, Math.min(queries, m), d),
                    keys != null ? keys.k(s, h) : new View(k.segment(), kType, element, stride, m, d),
                    keys != null ? keys.v(s, h) : new View(v.segment(), vType, element, stride, m, d),
                    new View(out.segment(), DType.F32, outElement, stride, queries, d),
                    new View(lse.segment(), DType.F32, outRow * heads + h, rowStride, queries, 1),
                    inFirst + inRow, inFirst + inRow, r, h);
        }

        /**
         * Drops from the process the key and value pages of view rows [k0, k0 + count) of every view of
         * {@code level} in this window (they are done with; the file keeps them, and a later touch maps them
         * again), bounding resident memory. File mappings only.
         */
        void dropKeys(Level level, long n, long k0, long count) {
            long w = level.effectiveSegment(n);
            int r = level.dilation();
            long rowBytes = k.segment().byteSize() / inRows;
            for (long s = inFirst / w; s * w < inFirst + inRows; s++) {
                long lo = Math.max(inFirst, s * w + k0 * r) - inFirst;
                long hi = Math.min(Math.min(inFirst + inRows, (s + 1) * w), s * w + (k0 + count) * r) - inFirst;
                if (hi <= lo) continue;
                for (RowWindow keys : List.of(k, v)) {
                    // Only file mappings: on anonymous memory DONT_NEED would zero the pages.
                    if (!keys.segment().isMapped()) continue;
                    Madvise.advise(keys.segment().asSlice(lo * rowBytes, (hi - lo) * rowBytes), Advice.DONT_NEED);
                }
            }
        }

        @Override
        public void close() {
            for (RowWindow window : List.of(q, k, v, out, lse)) window.close();
        }
    }

    /**
     * The out and lse rows of a unit, which its log saves, forces and checksums: the window's own when the unit is
     * the whole window, else a mapping of just the unit's rows (coherent with the window's: the same file pages).
     */
    private record UnitRows(RowWindow out, RowWindow lse, boolean own) implements AutoCloseable {
        static UnitRows of(Schedule.Unit unit, Windows windows, TensorRows out, TensorRows lse) throws IOException {
            if (unit.rows() == unit.windowRows()) return new UnitRows(windows.out(), windows.lse(), false);
            RowWindow o = out.window(unit.firstRow(), unit.rows());
            try {
                return new UnitRows(o, lse.window(unit.firstRow(), unit.rows()), true);
            } catch (IOException | RuntimeException e) {
                o.close();
                throw e;
            }
        }

        @Override
        public void close() {
            if (!own) return;
            out.close();
            lse.close();
        }
    }

    /** Counts tiles down as they finish; the last one runs {@code last}. */
    private static final class Countdown {
        private final AtomicInteger left;
        private final Runnable last;

        Countdown(int count, Runnable last) {
            this.left = new AtomicInteger(count);
            this.last = last;
        }

        void done() {
            if (left.decrementAndGet() == 0) last.run();
        }
    }

    /**
     * One unit of parallel work: query ranges of one or more dilated views, run in order; then {@code done} (if
     * any) counts it down.
     */
    private record Tile(List<Part> parts, Countdown done) {
        Tile(List<Part> parts) { this(parts, null); }

        /**
         * The views of one dilated phase, or slices of them: view row i of q (and out, lse) is sequence row
         * {@code queryRow + i·dilation}, view row j of k (and v) is {@code keyRow + j·dilation}.
         */
        record Views(View q, View k, View v, View out, View lse, long queryRow, long keyRow, int dilation, int head) {
            /** Queries from view row {@code qa} on, keys [k0, k1). */
            Views slice(int qa, int qRows, int k0, int k1) {
                qRows = Math.max(0, Math.min(qRows, out.rows() - qa));    // torchscale: queries may stop before keys
                return new Views(rows(q, qa, qRows), rows(k, k0, k1 - k0), rows(v, k0, k1 - k0), rows(out, qa, qRows),
                        rows(lse, qa, qRows), queryRow + (long) qa * dilation, keyRow + (long) k0 * dilation, dilation,
                        head);
            }

            private static View rows(View view, int from, int count) {
                return new View(view.data(), view.dtype(), view.offset() + from * view.rowStride(), view.rowStride(),
                        count, view.cols());
            }
        }

        record Part(Views views, int qFrom, int qTo, boolean causal) { }

        /**
         * The part of a key block's piece: a causal piece (the block's diagonal) slices queries and keys alike at the
         * block's first row, so that indexes agree; any other slices the piece's queries against the block's keys.
         */
        static Part part(Views views, Tiling.Piece p) {
            if (p.causal()) {
                return new Part(views.slice(p.kFrom(), p.kTo() - p.kFrom(), p.kFrom(), p.kTo()), p.qFrom() - p.kFrom(),
                        p.qTo() - p.kFrom(), true);
            }
            return new Part(views.slice(p.qFrom(), p.qTo() - p.qFrom(), p.kFrom(), p.kTo()), 0, p.qTo() - p.qFrom(), false);
        }

        void run(AttentionKernel kernel, float scale, TensorRows q, TensorRows k, TensorRows v) {
            runParts(kernel, scale, q, k, v);
            if (done != null) done.done();
        }

        private void runParts(AttentionKernel kernel, float scale, TensorRows q, TensorRows k, TensorRows v) {
            for (Part p : parts) {
                Views x = p.views();
                try {
                    kernel.attend(x.q(), x.k(), x.v(), x.out(), x.lse(), p.qFrom(), p.qTo(), p.causal(), scale);
                } catch (NonFiniteInputException e) {
                    boolean query = e.tensor().equals("q");
                    TensorRows file = query ? q : e.tensor().equals("k") ? k : v;
                    long row = (query ? x.queryRow() : x.keyRow()) + (long) e.viewRow() * x.dilation();
                    throw new IllegalArgumentException(nameOf(file, e.tensor()) + ": row " + row + ", head " + x.head()
                            + " holds NaN, an infinity or a value too large for float attention (|q·scale| and |k|"
                            + " must stay within 2^55, |v| within 2^100); the output would be wrong, so the run stops"
                            + " (a check of the inputs first finds every such value: AttentionRequest.withCheckFinite, or attend --check-finite)", e);
                }
            }
        }

        private static String nameOf(TensorRows t, String fallback) {
            return t instanceof dev.longnet.storage.NpyFile f ? f.path().toString() : fallback;
        }
    }
}
