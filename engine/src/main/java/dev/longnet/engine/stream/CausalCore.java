package dev.longnet.engine.stream;

import dev.longnet.engine.AttentionConfig;
import dev.longnet.engine.Level;
import dev.longnet.engine.View;
import dev.longnet.storage.DType;
import dev.longnet.storage.SnapshotFile;
import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * The causal stream: a row sees only itself and earlier rows of its segments, so its output is final as soon as it
 * is pushed. The state is, per level and head, the key and value rows of the current segment's dilated view seen so
 * far (at most ceil(w/r) rows of d floats each), whatever the length of the stream; queries are used when pushed
 * and not kept.
 *
 * <p>Rows are taken in slices that never cross a segment boundary of any level: for each slice the new view rows'
 * keys and values are appended, then each level in configuration order attends the slice's queries against its
 * view so far and merges into the slice's output.
 */
final class CausalCore extends StreamCore {
    private final MemorySegment queries;
    private final MemorySegment[][] keys;
    private final MemorySegment[][] values;

    CausalCore(AttentionConfig config, StreamOptions options, RowSink sink, int sliceRows, StateMemory memory) {
        super(config, options, sink, sliceRows, memory);
        queries = memory.take(sliceRows * rowFloats * 4);
        int levels = config.levels().size();
        keys = new MemorySegment[levels][heads];
        values = new MemorySegment[levels][heads];
        for (int i = 0; i < levels; i++) {
            for (int h = 0; h < heads; h++) {
                keys[i][h] = memory.take(viewCapacity(config.levels().get(i)) * d * 4);
                values[i][h] = memory.take(viewCapacity(config.levels().get(i)) * d * 4);
            }
        }
    }

    /** Rows of one level's view buffer: ceil(w/r). */
    private static long viewCapacity(Level level) {
        return (level.segmentLength() + level.dilation() - 1) / level.dilation();
    }

    static long stateBytes(AttentionConfig config, int sliceRows) {
        long bytes = sliceBytes(config, sliceRows)
                + StateMemory.aligned(sliceRows * (long) config.heads() * config.headDim() * 4);
        for (Level level : config.levels()) {
            long view = Math.multiplyExact(Math.multiplyExact(viewCapacity(level), config.headDim()), 4L);
            bytes = Math.addExact(bytes, Math.multiplyExact(2L * config.heads(), StateMemory.aligned(view)));
        }
        return bytes;
    }

    @Override
    void push(MemorySegment q, MemorySegment k, MemorySegment v, long from, long rows) throws IOException {
        long rowBytes = rowFloats * 4;
        for (long done = 0; done < rows; ) {
            long t = position;
            int n = (int) Math.min(Math.min(rows - done, sliceRows), nextBoundary(t) - t);
            long inputRow = from + done;
            MemorySegment.copy(q, inputRow * rowBytes, queries, 0, n * rowBytes);
            for (int i = 0; i < keys.length; i++) append(i, k, v, inputRow, t, n);
            clearSlice(n);
            for (int i = 0; i < keys.length; i++) run(calls(i, t, n));
            position = t + n;
            done += n;
            emit(t, n);
        }
    }

    /** The first segment boundary of any level after position t. */
    private long nextBoundary(long t) {
        long next = Long.MAX_VALUE;
        for (Level level : config.levels()) {
            long w = level.segmentLength();
            long segment = t / w;
            if (segment < Long.MAX_VALUE / w - 1) next = Math.min(next, (segment + 1) * w);
        }
        return next;
    }

    /** Appends the keys and values of level i's view rows among positions [t, t + n) (input rows from inputRow). */
    private void append(int i, MemorySegment k, MemorySegment v, long inputRow, long t, int n) {
        Level level = config.levels().get(i);
        long w = level.segmentLength();
        int r = level.dilation();
        long segmentStart = t - t % w;
        long rowBytes = d * 4L;
        for (int h = 0; h < heads; h++) {
            int o = config.offset(level, h);
            long from = viewIndex(t, segmentStart, o, r);
            long to = viewIndex(t + n, segmentStart, o, r);
            for (long j = from; j < to; j++) {
                long source = ((inputRow + segmentStart + o + j * r - t) * heads + h) * rowBytes;
                MemorySegment.copy(k, source, keys[i][h], j * rowBytes, rowBytes);
                MemorySegment.copy(v, source, values[i][h], j * rowBytes, rowBytes);
            }
        }
    }

    /** Level i's calls for the slice: per head, the slice's queries against the view's keys so far. */
    private List<Call> calls(int i, long t, int n) {
        Level level = config.levels().get(i);
        long w = level.segmentLength();
        int r = level.dilation();
        long segmentStart = t - t % w;
        List<Call> calls = new ArrayList<>();
        for (int h = 0; h < heads; h++) {
            int o = config.offset(level, h);
            int from = (int) viewIndex(t, segmentStart, o, r);
            int to = (int) viewIndex(t + n, segmentStart, o, r);
            if (from >= to) continue;
            int sliceRow = (int) (segmentStart + o + (long) from * r - t);
            View q = View.from(queries, DType.F32, ((long) sliceRow * heads + h) * d, (long) r * rowFloats, from, to, d);
            View kv = new View(keys[i][h], DType.F32, 0, d, to, d);
            View vv = new View(values[i][h], DType.F32, 0, d, to, d);
            add(calls, q, kv, vv, sliceOut(sliceRow, h, r, from, to), sliceLse(sliceRow, h, r, from, to), from, to,
                    segmentStart + o, r, h);
        }
        return calls;
    }

    @Override
    void finish() { }

    /** View rows of level i, head h, held at the current position (0 right after a segment boundary). */
    private long held(int i, int h) {
        Level level = config.levels().get(i);
        long segmentRows = position % level.segmentLength();
        return Level.viewRows(segmentRows, level.dilation(), config.offset(level, h));
    }

    @Override
    Map<String, String> stateFields() { return Map.of(); }

    @Override
    List<MemorySegment> payload() {
        List<MemorySegment> payload = new ArrayList<>();
        for (int i = 0; i < keys.length; i++) {
            for (int h = 0; h < heads; h++) {
                payload.add(keys[i][h].asSlice(0, held(i, h) * d * 4));
                payload.add(values[i][h].asSlice(0, held(i, h) * d * 4));
            }
        }
        return payload;
    }

    @Override
    void load(Map<String, String> fields, SnapshotFile.Reader reader) throws IOException {
        delivered = position;
        for (MemorySegment segment : payload()) reader.read(segment);
    }
}
