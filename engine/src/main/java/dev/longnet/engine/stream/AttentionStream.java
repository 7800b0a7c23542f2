package dev.longnet.engine.stream;

import dev.longnet.engine.AttentionConfig;
import dev.longnet.engine.Level;
import dev.longnet.engine.Semantics;
import dev.longnet.storage.SnapshotFile;
import dev.longnet.storage.TensorFormatException;
import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Dilated attention as a stream: q, k and v rows go in, in order and in chunks of any size; output rows come out to
 * a {@link RowSink} as soon as they are final, in order. The output equals the batch engine's
 * ({@code DilatedAttention}) bit for bit, whatever the chunking.
 *
 * <ul>
 * <li>Causal: each pushed row's output reaches the sink before {@code push} returns. State: per level and head the
 *     current segment's dilated key and value rows, at most Σ ceil(w/r) rows of d floats per head and tensor.</li>
 * <li>Not causal: a row is final when the last segment holding it is complete, or at {@link #finish()}. State:
 *     q, k and v rows of fewer than 2·w_max positions.</li>
 * </ul>
 * The state's size is fixed by the configuration ({@link #stateBytes(AttentionConfig)}) and never grows with N; it
 * lives in memory or in a file mapped from {@link StreamOptions#stateDirectory()}.
 *
 * <pre>{@code
 * var config = AttentionConfig.preset("bench").heads(8).headDim(64).causal(true).build();
 * try (var stream = AttentionStream.open(config, StreamOptions.defaults(), (first, rows, count) -> use(rows))) {
 *     while (more()) stream.push(q, k, v, rows);     // rows·8·64 floats each
 *     stream.finish();
 * }
 * }</pre>
 * A stream is used from one thread at a time. A failed push (a bad argument aside) leaves it failed: it then refuses
 * everything but {@link #close()}.
 */
public final class AttentionStream implements AutoCloseable {
    private static final String FORMAT = "longnet-stream 1";

    private enum State { OPEN, FINISHED, FAILED, CLOSED }

    private final AttentionConfig config;
    private final StateMemory memory;
    private final StreamCore core;
    private State state = State.OPEN;
    private Throwable failure;

    private AttentionStream(AttentionConfig config, StreamOptions options, RowSink sink) throws IOException {
        if (sink == null) throw new IllegalArgumentException("a sink for the output rows is needed");
        requireStreamable(config);
        this.config = config;
        int sliceRows = sliceRows(config);
        this.memory = allocate(config, options);
        this.core = config.causal() ? new CausalCore(config, options, sink, sliceRows, memory)
                : new WindowCore(config, options, sink, sliceRows, memory);
    }

    /**
     * Under torchscale semantics a level whose segment length is not a multiple of its dilation rate shifts the
     * outputs of its later segments once the sequence passes one segment (SPEC.md): an output row then depends on
     * input rows further back the longer the stream, which no fixed state holds. Such configurations are refused
     * (IllegalArgumentException, one line).
     */
    public static void requireStreamable(AttentionConfig config) {
        if (config.semantics() != Semantics.TORCHSCALE) return;
        for (Level level : config.levels()) {
            if (level.segmentLength() % level.dilation() != 0) {
                throw new IllegalArgumentException("the stream computes torchscale semantics only when every segment"
                        + " length is a multiple of its dilation rate: level " + level + " shifts its later segments"
                        + " (run it with attend)");
            }
        }
    }

    /** The state's memory; a configuration whose state cannot be held gets one line saying how much it needs. */
    private static StateMemory allocate(AttentionConfig config, StreamOptions options) throws IOException {
        long bytes;
        try {
            bytes = stateBytes(config);
        } catch (ArithmeticException e) {
            throw new IllegalArgumentException("the stream's state for " + config + " would exceed 2^63 bytes: the"
                    + " segment lengths are too large for a stream", e);
        }
        try {
            if (options.stateDirectory() == null) {
                // Allocated and zeroed at once: refuse what the machine cannot hold before touching it.
                dev.longnet.engine.job.MemoryBudget.requireNative(bytes, "the state", "use smaller segments, or map"
                        + " the state on disk (StreamOptions with a state directory; stream --state DIR)");
            }
            return StateMemory.allocate(bytes, options.stateDirectory());
        } catch (OutOfMemoryError | IllegalArgumentException | IOException e) {
            throw new IOException("cannot hold the stream's state of " + bytes + " bytes (fixed by the configuration: "
                    + config + ") " + (options.stateDirectory() == null ? "in memory" : "in " + options.stateDirectory())
                    + ": " + e.getMessage(), e);
        }
    }

    /** A new stream at position 0. */
    public static AttentionStream open(AttentionConfig config, StreamOptions options, RowSink sink) throws IOException {
        return new AttentionStream(config, options, sink);
    }

    /** A stream continuing exactly where the snapshot was taken; its configuration comes from the snapshot. */
    public static AttentionStream restore(Path snapshot, StreamOptions options, RowSink sink) throws IOException {
        return restore(snapshot, null, options, sink);
    }

    /**
     * As {@link #restore(Path, StreamOptions, RowSink)}, refusing a snapshot whose configuration is not
     * {@code expected} (null accepts any).
     */
    public static AttentionStream restore(Path snapshot, AttentionConfig expected, StreamOptions options, RowSink sink)
            throws IOException {
        try (SnapshotFile.Reader reader = SnapshotFile.open(snapshot)) {
            Map<String, String> header = reader.header();
            if (!FORMAT.equals(header.get("format"))) {
                throw new TensorFormatException(snapshot, "not a stream snapshot (format '" + header.get("format") + "')");
            }
            AttentionConfig config = parseConfig(snapshot, header);
            if (expected != null && !expected.equals(config)) {
                throw new IllegalArgumentException(snapshot + ": the snapshot is of another configuration (" + config
                        + "; expected " + expected + ")");
            }
            AttentionStream stream = new AttentionStream(config, options, sink);
            try {
                stream.core.position = StreamCore.longField(snapshot, header, "position");
                stream.core.load(header, reader);
                reader.finish();
                return stream;
            } catch (IOException | RuntimeException e) {
                stream.close();
                throw e;
            }
        }
    }

    /** Bytes of state a stream of this configuration holds, whatever the length of the sequence. */
    public static long stateBytes(AttentionConfig config) {
        int slice = sliceRows(config);
        return config.causal() ? CausalCore.stateBytes(config, slice) : WindowCore.stateBytes(config, slice);
    }

    /**
     * Rows finished together: up to 65,536, at most 32 MiB of output rows; causal slices never cross a segment
     * boundary, so they need no more than the smallest segment.
     */
    private static int sliceRows(AttentionConfig config) {
        long rowBytes = (long) config.heads() * config.headDim() * 4 + config.heads() * 4L;
        long rows = Math.clamp((32L << 20) / rowBytes, 1, 65536);
        if (config.causal()) {
            for (Level level : config.levels()) rows = Math.min(rows, level.segmentLength());
        }
        return (int) rows;
    }

    public AttentionConfig config() { return config; }

    /** Rows pushed so far. */
    public long position() { return core.position; }

    /** Rows delivered to the sink so far (causal: all pushed rows; otherwise those whose segments are complete). */
    public long delivered() { return core.delivered; }

    /** Bytes of state of this stream. */
    public long stateBytes() { return stateBytes(config); }

    /** Pushes {@code rows} rows: q, k and v hold rows·heads·headDim f32 values each, (row, head, dim) order. */
    public void push(float[] q, float[] k, float[] v, int rows) throws IOException {
        requireRows("q", q.length * 4L, rows);
        requireRows("k", k.length * 4L, rows);
        requireRows("v", v.length * 4L, rows);
        push(MemorySegment.ofArray(q), MemorySegment.ofArray(k), MemorySegment.ofArray(v), rows);
    }

    /**
     * Pushes {@code rows} rows held in segments of rows·heads·headDim little-endian f32 values each (any segment:
     * the rows are copied in on the caller's thread).
     */
    public void push(MemorySegment q, MemorySegment k, MemorySegment v, long rows) throws IOException {
        requireOpen();
        requireRows("q", q.byteSize(), rows);
        requireRows("k", k.byteSize(), rows);
        requireRows("v", v.byteSize(), rows);
        try {
            core.push(q, k, v, 0, rows);
        } catch (IOException | RuntimeException | Error e) {
            fail(e);
            throw e;
        }
    }

    /** Ends the sequence at {@link #position()}: every row not yet final is finished and delivered. */
    public void finish() throws IOException {
        requireOpen();
        try {
            core.finish();
            state = State.FINISHED;
        } catch (IOException | RuntimeException | Error e) {
            fail(e);
            throw e;
        }
    }

    /**
     * Writes the whole state to {@code file} atomically (beside it, forced, renamed): a stream restored from it, in
     * this process or another, continues to exactly the same bits.
     */
    public void snapshot(Path file) throws IOException {
        snapshot(file, Map.of());
    }

    /**
     * As {@link #snapshot(Path)}, recording {@code extra} fields in the snapshot's header (a job's identity, read
     * back with {@link dev.longnet.storage.SnapshotFile#open}); their names must not be the stream's own.
     */
    public void snapshot(Path file, Map<String, String> extra) throws IOException {
        requireOpen();
        Map<String, String> header = new LinkedHashMap<>(extra);
        header.put("format", FORMAT);
        header.put("config", config.toText());
        header.put("position", Long.toString(core.position));
        header.putAll(core.stateFields());
        SnapshotFile.write(file, header, core.payload().toArray(MemorySegment[]::new));
    }

    @Override
    public void close() throws IOException {
        if (state == State.CLOSED) return;
        state = State.CLOSED;
        core.close();
        memory.close();
    }

    private void requireOpen() {
        switch (state) {
            case OPEN -> { }
            case FINISHED -> throw new IllegalStateException("the stream is finished: nothing can be pushed after finish()");
            case FAILED -> throw new IllegalStateException("the stream failed earlier (" + failure + ") and cannot go on;"
                    + " restore it from a snapshot");
            case CLOSED -> throw new IllegalStateException("the stream is closed");
        }
    }

    private void fail(Throwable e) {
        state = State.FAILED;
        failure = e;
    }

    private void requireRows(String name, long bytes, long rows) {
        long rowBytes = (long) config.heads() * config.headDim() * 4;
        if (rows < 0) throw new IllegalArgumentException("rows must be >= 0, got " + rows);
        if (rows > Long.MAX_VALUE / rowBytes || bytes != rows * rowBytes) {
            throw new IllegalArgumentException(name + " holds " + bytes + " bytes, but " + rows + " rows of "
                    + config.heads() + " heads × " + config.headDim() + " f32 values need " + rows * rowBytes
                    + " (rows of the wrong width?)");
        }
    }

    /**
     * The snapshot's configuration: its text form in the field "config", or, in a snapshot written before there was
     * one, the same fields one by one (the scale as its float bits in hex, the semantics exact when absent).
     */
    private static AttentionConfig parseConfig(Path file, Map<String, String> header) throws TensorFormatException {
        try {
            String text = header.get("config");
            return AttentionConfig.parse(text != null ? text : legacyText(header));
        } catch (IllegalArgumentException e) {
            throw new TensorFormatException(file, "corrupt snapshot (its configuration is invalid: " + e.getMessage() + ")");
        }
    }

    private static String legacyText(Map<String, String> header) {
        StringBuilder text = new StringBuilder();
        for (String name : AttentionConfig.FIELDS) {
            String value = name.equals("semantics") ? header.getOrDefault(name, "exact") : field(header, name);
            if (name.equals("scale")) {
                try {
                    value = Float.toString(Float.intBitsToFloat(Integer.parseUnsignedInt(value, 16)));
                } catch (NumberFormatException e) {
                    throw new IllegalArgumentException("scale: '" + value + "' is not a float's bits in hex");
                }
            }
            text.append(text.isEmpty() ? "" : " ").append(name).append('=').append(value);
        }
        return text.toString();
    }

    private static String field(Map<String, String> header, String key) {
        String value = header.get(key);
        if (value == null) throw new IllegalArgumentException("no field " + key);
        return value;
    }
}
