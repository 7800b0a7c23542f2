package dev.longnet.engine.stream;

import dev.longnet.engine.AttentionConfig;
import dev.longnet.engine.Level;
import dev.longnet.engine.LogSumExp;
import dev.longnet.engine.Padding;
import dev.longnet.engine.Semantics;
import dev.longnet.engine.View;
import dev.longnet.storage.DType;
import dev.longnet.storage.SnapshotFile;
import dev.longnet.storage.TensorFormatException;
import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * The bidirectional (non-causal) stream: a row's output is final when every segment holding it is complete — the
 * frontier F = min over levels of floor(T/w)·w for T rows pushed — or at {@link #finish()}, when the last segments
 * end at N and a level with w > N becomes one segment of N rows, exactly as SPEC.md clamps. Rows [F, F') that become
 * final are attended level by level in configuration order, each level's segments against their whole views.
 *
 * <p>The state is the q, k and v rows from the start of the earliest segment that an unfinished row still needs:
 * fewer than 2·w_max rows (fewer than w_max when every segment length divides the largest), in a buffer of
 * 3·w_max rows that is compacted when it fills. Memory is fixed by the configuration, independent of N.
 */
final class WindowCore extends StreamCore {
    private final long capacity;
    private final MemorySegment q;
    private final MemorySegment k;
    private final MemorySegment v;
    /** Sequence position of buffer row 0. */
    private long base;
    /** Rows before this are final and emitted. */
    private long frontier;

    WindowCore(AttentionConfig config, StreamOptions options, RowSink sink, int sliceRows, StateMemory memory) {
        super(config, options, sink, sliceRows, memory);
        capacity = capacity(config);
        q = memory.take(capacity * rowFloats * 4);
        k = memory.take(capacity * rowFloats * 4);
        v = memory.take(capacity * rowFloats * 4);
    }

    /** Rows of q, k and v held: fewer than 2·w_max are ever needed, and w_max more leave room to append. */
    private static long capacity(AttentionConfig config) {
        return Math.multiplyExact(3, maxSegment(config));
    }

    static long stateBytes(AttentionConfig config, int sliceRows) {
        long rowBytes = (long) config.heads() * config.headDim() * 4;
        return Math.addExact(sliceBytes(config, sliceRows),
                Math.multiplyExact(3, StateMemory.aligned(Math.multiplyExact(capacity(config), rowBytes))));
    }

    @Override
    void push(MemorySegment qIn, MemorySegment kIn, MemorySegment vIn, long from, long rows) throws IOException {
        long rowBytes = rowFloats * 4;
        for (long done = 0; done < rows; ) {
            if (position - base == capacity) compact();
            long n = Math.min(rows - done, capacity - (position - base));
            long at = (position - base) * rowBytes;
            long source = (from + done) * rowBytes;
            MemorySegment.copy(qIn, source, q, at, n * rowBytes);
            MemorySegment.copy(kIn, source, k, at, n * rowBytes);
            MemorySegment.copy(vIn, source, v, at, n * rowBytes);
            position += n;
            done += n;
            long complete = Long.MAX_VALUE;
            for (Level level : config.levels()) {
                complete = Math.min(complete, position - position % level.segmentLength());
            }
            attend(complete, -1);
        }
    }

    @Override
    void finish() throws IOException {
        attend(position, position);
    }

    /** The first row that an unfinished row's segments need. */
    private long keepFrom() {
        long keep = frontier;
        for (Level level : config.levels()) keep = Math.min(keep, frontier - frontier % level.segmentLength());
        return keep;
    }

    /** Moves the rows still needed to the front of the buffers. */
    private void compact() {
        long keep = keepFrom();
        long rowBytes = rowFloats * 4;
        long bytes = (position - keep) * rowBytes;
        long from = (keep - base) * rowBytes;
        for (MemorySegment buffer : List.of(q, k, v)) MemorySegment.copy(buffer, from, buffer, 0, bytes);
        base = keep;
    }

    /**
     * Finishes rows [frontier, to) and emits them, a slice at a time. {@code n} is the sequence length once known
     * (at finish), else -1: then every segment involved is complete.
     */
    private void attend(long to, long n) throws IOException {
        while (frontier < to) {
            long a = frontier;
            int rows = (int) Math.min(sliceRows, to - a);
            clearSlice(rows);
            for (Level level : config.levels()) {
                run(calls(level, a, a + rows, n));
                if (config.semantics() == Semantics.TORCHSCALE) zeroKeys(level, a, a + rows, n);
            }
            frontier = a + rows;
            emit(a, rows);
        }
    }

    /** One level's calls for the queries among positions [a, b): per segment and head, against the whole view. */
    private List<Call> calls(Level level, long a, long b, long n) {
        long w = n < 0 ? level.segmentLength() : level.effectiveSegment(n);
        int r = level.dilation();
        List<Call> calls = new ArrayList<>();
        for (long s = a / w; s <= (b - 1) / w; s++) {
            long segmentStart = s * w;
            long segmentRows = n < 0 ? w : Math.min(w, n - segmentStart);
            for (int h = 0; h < heads; h++) {
                int o = config.offset(level, h);
                int m = Level.viewRows(segmentRows, r, o);
                int from = (int) Math.min(m, viewIndex(a, segmentStart, o, r));
                int to = (int) Math.min(m, viewIndex(b, segmentStart, o, r));
                if (from >= to) continue;
                long element = ((segmentStart + o - base) * heads + h) * d;
                long stride = (long) r * rowFloats;
                int sliceRow = (int) (segmentStart + o + (long) from * r - a);
                add(calls, new View(q, DType.F32, element, stride, m, d), new View(k, DType.F32, element, stride, m, d),
                        new View(v, DType.F32, element, stride, m, d), sliceOut(sliceRow, h, r, from, to),
                        sliceLse(sliceRow, h, r, from, to), from, to, segmentStart + o, r, h);
            }
        }
        return calls;
    }

    /**
     * torchscale semantics, after a level's real keys: the queries among positions [a, b) of a phase with padded
     * rows merge them as zero keys ({@link Padding}), as the batch engine does. Segment lengths are multiples of
     * their rates here, so only the last, partial segment (or a level with w > N, one segment of N rows) has any.
     */
    private void zeroKeys(Level level, long a, long b, long n) {
        if (n < 0) return;                                       // every segment complete: a whole number of phases
        long w = level.effectiveSegment(n);
        int r = level.dilation();
        int phase = Math.toIntExact(Math.ceilDiv(w, r));
        float[] zeros = new float[d];
        float[] scratch = new float[d];
        for (long s = a / w; s <= (b - 1) / w; s++) {
            long segmentStart = s * w;
            long segmentRows = Math.min(w, n - segmentStart);
            for (int h = 0; h < heads; h++) {
                int o = config.offset(level, h);
                int m = Level.viewRows(segmentRows, r, o);
                if (m == 0 || m == phase) continue;
                int from = (int) Math.min(m, viewIndex(a, segmentStart, o, r));
                int to = (int) Math.min(m, viewIndex(b, segmentStart, o, r));
                if (from >= to) continue;
                int sliceRow = (int) (segmentStart + o + (long) from * r - a);
                View out = sliceOut(sliceRow, h, r, from, to);
                View lse = sliceLse(sliceRow, h, r, from, to);
                float l = Padding.zeroKeysLse(phase - m);
                for (int j = from; j < to; j++) LogSumExp.merge(out, lse, j, zeros, 0, l, scratch);
            }
        }
    }

    @Override
    Map<String, String> stateFields() {
        return Map.of("frontier", Long.toString(frontier), "base", Long.toString(keepFrom()));
    }

    @Override
    List<MemorySegment> payload() {
        long rowBytes = rowFloats * 4;
        long keep = keepFrom();
        long offset = (keep - base) * rowBytes;
        long bytes = (position - keep) * rowBytes;
        return List.of(q.asSlice(offset, bytes), k.asSlice(offset, bytes), v.asSlice(offset, bytes));
    }

    @Override
    void load(Map<String, String> fields, SnapshotFile.Reader reader) throws IOException {
        frontier = longField(reader.file(), fields, "frontier");
        base = longField(reader.file(), fields, "base");
        delivered = frontier;
        if (frontier > position || base != keepFrom() || position - base > capacity) {
            throw new TensorFormatException(reader.file(), "corrupt snapshot (frontier "
                    + frontier + ", base " + base + " and position " + position + " do not fit the configuration)");
        }
        for (MemorySegment segment : payload()) reader.read(segment);
    }
}
