package dev.longnet.engine.stream;

import dev.longnet.engine.AttentionConfig;
import dev.longnet.engine.AttentionKernel;
import dev.longnet.engine.Level;
import dev.longnet.engine.NonFiniteInputException;
import dev.longnet.engine.Parallel;
import dev.longnet.engine.Tiling;
import dev.longnet.engine.View;
import dev.longnet.storage.DType;
import dev.longnet.storage.SnapshotFile;
import dev.longnet.storage.TensorFormatException;
import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.concurrent.ExecutorService;

/**
 * What the causal and the bidirectional stream share: the configuration, the kernel and its threads, the output
 * and lse rows being finished ("the slice"), and running one level's kernel calls. A row's levels always merge in
 * configuration order, as in the batch engine, so the stream's bits equal the batch engine's.
 */
abstract sealed class StreamCore implements AutoCloseable permits CausalCore, WindowCore {
    /** A call shorter than this is not cut for the threads. */
    private static final int MIN_SPLIT_ROWS = 256;

    final AttentionConfig config;
    final int heads;
    final int d;
    /** Floats per row: heads·d. */
    final long rowFloats;
    final int sliceRows;
    private final AttentionKernel kernel;
    private final int threads;
    private final int keyBlockRows;
    private final ExecutorService pool;
    private final RowSink sink;
    private final float scale;
    final MemorySegment out;
    final MemorySegment lse;
    /** Rows pushed so far. */
    long position;
    /** Rows handed to the sink so far. */
    long delivered;

    StreamCore(AttentionConfig config, StreamOptions options, RowSink sink, int sliceRows, StateMemory memory) {
        this.config = config;
        this.heads = config.heads();
        this.d = config.headDim();
        this.rowFloats = (long) heads * d;
        this.sliceRows = sliceRows;
        this.kernel = options.kernel();
        this.threads = options.threads();
        this.keyBlockRows = options.keyBlockRows();
        this.sink = sink;
        this.scale = config.scale();
        this.out = memory.take(sliceRows * rowFloats * 4);
        this.lse = memory.take(sliceRows * (long) heads * 4);
        this.pool = Parallel.pool(threads, "longnet-stream");
    }

    /** Bytes of the slice's output and lse rows. */
    static long sliceBytes(AttentionConfig config, int sliceRows) {
        return StateMemory.aligned(sliceRows * (long) config.heads() * config.headDim() * 4)
                + StateMemory.aligned(sliceRows * (long) config.heads() * 4);
    }

    /** The largest segment length of the configuration. */
    static long maxSegment(AttentionConfig config) {
        long max = 0;
        for (Level level : config.levels()) max = Math.max(max, level.segmentLength());
        return max;
    }

    /** Takes rows [from, from + rows) of q, k, v (f32, rowFloats values a row). */
    abstract void push(MemorySegment q, MemorySegment k, MemorySegment v, long from, long rows) throws IOException;

    /** The sequence ends at {@link #position}: finishes every row still open. */
    abstract void finish() throws IOException;

    /** Header fields that, with the configuration, say how to read the payload back. */
    abstract Map<String, String> stateFields();

    /** The state's rows, in the order a snapshot holds them. */
    abstract List<MemorySegment> payload();

    /** Loads the state of a snapshot whose fields are {@code fields} from {@code reader}. */
    abstract void load(Map<String, String> fields, SnapshotFile.Reader reader) throws IOException;

    /** A non-negative whole number from a snapshot's header. */
    static long longField(Path file, Map<String, String> header, String key) throws TensorFormatException {
        String value = header.get(key);
        try {
            long parsed = Long.parseLong(String.valueOf(value));
            if (parsed >= 0) return parsed;
        } catch (NumberFormatException e) {
            // reported below
        }
        throw new TensorFormatException(file, "corrupt snapshot (field " + key + " is '" + value + "')");
    }

    /** The first index of a dilated view (phase o, dilation r, from {@code segmentStart}) at or after position p. */
    static long viewIndex(long p, long segmentStart, int o, int r) {
        long x = p - segmentStart - o;
        return x <= 0 ? 0 : (x + r - 1) / r;
    }

    /** Zeroes the slice's first {@code rows} output and lse rows (lse zeros read as -inf). */
    void clearSlice(int rows) {
        out.asSlice(0, rows * rowFloats * 4).fill((byte) 0);
        lse.asSlice(0, rows * (long) heads * 4).fill((byte) 0);
    }

    /** Hands the slice's first {@code rows} rows, sequence positions from {@code firstRow}, to the sink. */
    void emit(long firstRow, int rows) throws IOException {
        delivered = firstRow + rows;
        sink.accept(firstRow, out.asSlice(0, rows * rowFloats * 4), rows);
    }

    /**
     * Output and lse views of view rows [qFrom, qTo) held in the slice: view row qFrom is at slice row
     * {@code sliceRow}, head h, and view rows are r rows apart.
     */
    View sliceOut(int sliceRow, int h, int r, int qFrom, int qTo) {
        return View.from(out, DType.F32, ((long) sliceRow * heads + h) * d, (long) r * rowFloats,
                qFrom, qTo, d);
    }

    View sliceLse(int sliceRow, int h, int r, int qFrom, int qTo) {
        return View.from(lse, DType.F32, (long) sliceRow * heads + h, (long) r * heads, qFrom, qTo, 1);
    }

    /**
     * One kernel call: queries [qFrom, qTo) of q against the keys of k. {@code block} orders calls that merge into
     * the same rows (key blocks of one view, in order); {@code qOrigin} and {@code kOrigin} are the sequence
     * positions of q's and k's view row 0, {@code dilation} rows apart, to name a bad value's row.
     */
    record Call(View q, View k, View v, View out, View lse, int qFrom, int qTo, boolean causal, int block, long qOrigin,
                long kOrigin, int dilation, int head) { }

    /**
     * Adds the calls for queries [qFrom, qTo) of one view (k holds its keys so far; view row 0 is at sequence
     * position {@code origin}): its pieces as {@link Tiling} cuts them, in tiles of at most {@link Tiling#TILE_ROWS}
     * queries and, for a view longer than a key block, key block by key block as the batch engine cuts it (a causal
     * piece, the block's diagonal, slices queries and keys alike at the block's first row).
     */
    void add(List<Call> calls, View q, View k, View v, View o, View l, int qFrom, int qTo, long origin, int r, int h) {
        int m = k.rows();
        Tiling.forEach(m, qFrom, qTo, config.causal(), keyBlockRows, Tiling.TILE_ROWS, p -> {
            if (p.wholeView(m)) {
                calls.add(new Call(q, k, v, o, l, p.qFrom(), p.qTo(), p.causal(), p.block(), origin, origin, r, h));
                return;
            }
            View kb = k.window(p.kFrom(), p.kTo());
            View vb = v.window(p.kFrom(), p.kTo());
            long kOrigin = origin + (long) p.kFrom() * r;
            if (p.causal()) {
                int k0 = p.kFrom();
                calls.add(new Call(q.window(k0, p.qTo()), kb, vb, o.window(k0, p.qTo()), l.window(k0, p.qTo()),
                        p.qFrom() - k0, p.qTo() - k0, true, p.block(), kOrigin, kOrigin, r, h));
            } else {
                calls.add(new Call(q, kb, vb, o, l, p.qFrom(), p.qTo(), false, p.block(), origin, kOrigin, r, h));
            }
        });
    }

    /**
     * Too few calls to keep every thread busy: long ones are cut into a piece of equal work per thread (a row's
     * results do not depend on the cut).
     */
    private List<Call> spread(List<Call> calls) {
        if (calls.size() >= 2 * threads) return calls;
        List<Call> pieces = new ArrayList<>();
        for (Call c : calls) {
            int length = c.qTo() - c.qFrom();
            int parts = length >= MIN_SPLIT_ROWS ? threads : 1;
            for (int i = 0; i < parts; i++) {
                int from = cut(c, i, parts);
                int to = cut(c, i + 1, parts);
                if (from < to) {
                    pieces.add(new Call(c.q(), c.k(), c.v(), c.out(), c.lse(), from, to, c.causal(), c.block(),
                            c.qOrigin(), c.kOrigin(), c.dilation(), c.head()));
                }
            }
        }
        return pieces;
    }

    /**
     * Where piece i of {@code parts} of a call begins. Rows cost alike without a mask; under the causal mask view row
     * x sees x + 1 keys, so the work of rows [a, c) grows as c² - a², and equal work puts the cuts at
     * sqrt(a² + i/parts · (b² - a²)) (two halves of equal rows of a causal call differ threefold in work).
     */
    static int cut(Call c, int i, int parts) {
        long a = c.qFrom();
        long b = c.qTo();
        if (!c.causal()) return (int) (a + (b - a) * i / parts);
        double x = Math.sqrt(a * a + (double) (b * b - a * a) * i / parts);
        return (int) Math.clamp(Math.round(x), a, b);
    }

    /**
     * Runs one level's calls and waits for all of them: calls of one key block write disjoint rows and run in
     * parallel; blocks run in order.
     */
    void run(List<Call> calls) throws IOException {
        int blocks = 0;
        for (Call c : calls) blocks = Math.max(blocks, c.block() + 1);
        for (int block = 0; block < blocks; block++) {
            List<Call> group = new ArrayList<>();
            for (Call c : calls) if (c.block() == block) group.add(c);
            List<Call> work = pool == null ? group : spread(group);
            if (work.size() < 2) {
                for (Call c : work) attend(c);
                continue;
            }
            List<Callable<Void>> tasks = new ArrayList<>(work.size());
            for (Call c : work) tasks.add(() -> { attend(c); return null; });
            Parallel.runAll(pool, tasks);
        }
    }

    private void attend(Call c) {
        try {
            kernel.attend(c.q(), c.k(), c.v(), c.out(), c.lse(), c.qFrom(), c.qTo(), c.causal(), scale);
        } catch (NonFiniteInputException e) {
            boolean query = e.tensor().equals("q");
            long row = (query ? c.qOrigin() : c.kOrigin()) + (long) e.viewRow() * c.dilation();
            throw new IllegalArgumentException(e.tensor() + " of row " + row + ", head " + c.head() + " holds NaN, an"
                    + " infinity or a value too large for float attention (|q·scale| and |k| must stay within 2^55, |v|"
                    + " within 2^100); the output would be wrong, so the stream stops", e);
        }
    }

    @Override
    public void close() {
        if (pool != null) pool.shutdownNow();
    }
}
