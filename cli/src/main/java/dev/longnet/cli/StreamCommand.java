package dev.longnet.cli;

import dev.longnet.storage.Disk;
import dev.longnet.storage.Json;
import dev.longnet.engine.AttentionConfig;
import dev.longnet.engine.job.Identity;
import dev.longnet.engine.job.Job;
import dev.longnet.engine.job.JobConflictException;
import dev.longnet.engine.job.MemoryBudget;
import dev.longnet.storage.SnapshotFile;
import dev.longnet.storage.TensorFormatException;
import dev.longnet.engine.stream.AttentionStream;
import dev.longnet.engine.stream.RowSink;
import dev.longnet.engine.stream.StreamOptions;
import dev.longnet.storage.Convert;
import dev.longnet.storage.DType;
import dev.longnet.storage.ProcSelf;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.nio.channels.Channels;
import java.nio.channels.FileChannel;
import java.nio.channels.ReadableByteChannel;
import java.nio.channels.WritableByteChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Locale;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/** longnet stream: dilated attention as a stream of rows, from a file or a pipe to a file or a pipe. */
@Command(name = "stream", description = {
        "Streams dilated attention: tokens in, output rows out, in memory fixed by the configuration.",
        "Reads tokens (for each: q, then k, then v, each heads·headDim little-endian values of --dtype) and writes "
                + "each token's output row (heads·headDim values of --dtype) as soon as it is final, in order. Memory "
                + "is fixed by the configuration, whatever the length of the input.",
        "Causal: a row is written as soon as its token is read. Otherwise: when every segment holding it is complete, "
                + "or at the end of the input.",
        "With --snapshot-every N --state DIR the stream's state is saved to DIR every N tokens; the same command "
                + "resumes from the last snapshot (the tokens it had read are skipped; a file output is cut back to "
                + "the rows it had written)."})
final class StreamCommand extends BaseCommand {
    static final String SNAPSHOT = "stream.snapshot";

    @Mixin
    ConfigOptions config;

    @Option(names = "--heads", required = true, paramLabel = "H", converter = Sizes.IntConverter.class,
            description = "Heads per token.")
    int heads;

    @Option(names = "--head-dim", required = true, paramLabel = "D", converter = Sizes.IntConverter.class,
            description = "Values per head.")
    int headDim;

    @Option(names = "--dtype", paramLabel = "TYPE", defaultValue = "f32", converter = NpyTypeConverter.class,
            completionCandidates = NpyTypeConverter.Names.class,
            description = "f32 or f16, for the input and the output (default: ${DEFAULT-VALUE}).")
    DType dtype;

    @Option(names = "--in", paramLabel = "FILE", defaultValue = "-", description = "The tokens; - reads standard input (default).")
    String in;

    @Option(names = "--out", paramLabel = "FILE", defaultValue = "-", description = "The output rows; - writes standard "
            + "output (default). A file appears under its name only when the input has ended.")
    String out;

    @Option(names = "--lengths", split = ",", paramLabel = "L", converter = Sizes.LongConverter.class,
            description = "A batch: the input holds sequences of these lengths one after another, and each is "
                    + "streamed alone (its rows are those of a stream of that sequence by itself).")
    long[] lengths;

    @Option(names = "--snapshot-every", paramLabel = "N", converter = Sizes.LongConverter.class,
            description = "Save the state every N tokens (needs --state).")
    Long snapshotEvery;

    @Option(names = "--state", paramLabel = "DIR", description = "Where the state is mapped and snapshots are kept "
            + "(default: the state stays in memory).")
    Path state;

    @Option(names = "--restart", description = "Ignore a snapshot left in --state and start from the first token.")
    boolean restart;

    @Option(names = "--json", description = "Print the summary as one JSON object.")
    boolean jsonSummary;

    @Mixin
    ThreadOptions threads;

    @Mixin
    ForceOption force;

    @Override
    boolean json() { return jsonSummary; }

    @Override
    protected int execute() throws Exception {
        AttentionConfig attention = config.build(heads, headDim);
        try {
            AttentionStream.requireStreamable(attention);
        } catch (IllegalArgumentException e) {
            throw usage(e.getMessage());
        }
        if (snapshotEvery != null && (snapshotEvery < 1 || state == null)) {
            throw usage(snapshotEvery < 1 ? "--snapshot-every must be >= 1" : "--snapshot-every needs --state DIR");
        }
        if (out.isEmpty() || in.isEmpty()) throw usage("--in and --out need a file name or -");
        if (lengths != null) {
            for (long length : lengths) if (length < 1) throw usage("--lengths must be >= 1 each, got " + length);
        }
        long rowValues = (long) heads * headDim;
        long tokenBytes = 3 * rowValues * dtype.bytes();
        StreamOptions options = new StreamOptions(threads.threads(), null, state);
        Path snapshot = state == null ? null : state.resolve(SNAPSHOT);
        Path source = in.equals("-") ? null : Path.of(in);
        Path target = out.equals("-") ? null : Path.of(out);
        if (target != null && Files.isDirectory(target)) throw usage("--out " + target + " is a directory");
        long stateBytes;
        try {
            stateBytes = AttentionStream.stateBytes(attention);
        } catch (ArithmeticException e) {
            throw new IllegalArgumentException("the stream's state for " + attention + " would exceed 2^63 bytes: the"
                    + " segment lengths are too large for a stream");
        }
        if (state == null) {
            MemoryBudget.requireNative(stateBytes, "the stream's state for " + attention, "map it on disk with --state DIR");
        }
        note("stream: state " + Disk.human(stateBytes) + " (fixed by the configuration), "
                + (attention.causal() ? "causal" : "not causal") + ", " + attention);

        long start = System.nanoTime();
        try (Job job = Job.builder("longnet stream").input(source).output(target).state(state).force(force.force)
                .resumable(snapshotEvery != null).start()) {
            Path partial = target == null ? null : Job.partial(target);
            try (Output output = new Output(target == null ? Channels.newChannel(System.out)
                         : FileChannel.open(partial, StandardOpenOption.CREATE, StandardOpenOption.WRITE), rowValues, dtype);
                 ReadableByteChannel input = source == null ? Channels.newChannel(System.in)
                         : FileChannel.open(source, StandardOpenOption.READ);
                 // a bar of the input's tokens (of unknown length from a pipe) on a terminal
                 ProgressDisplay bar = ProgressDisplay.start("stream", source == null ? -1 : Files.size(source) / tokenBytes,
                         chatty())) {
                Start at = open(attention, options, snapshot, output, source, tokenBytes);
                long resumedAt = at.sequenceStart + at.stream.position();
                try {
                    if (resumedAt > 0) {
                        note("stream: resuming at token " + resumedAt + (lengths == null ? "" : " (sequence "
                                + at.sequence + ")") + " from " + snapshot);
                        skip(input, resumedAt * tokenBytes);
                    }
                    output.resumeAt(at.sequenceStart + at.stream.delivered());
                } catch (IOException | RuntimeException | Error e) {
                    at.stream.close();                                    // the loop below closes it otherwise
                    throw e;
                }
                Input reader = new Input(input, source, rowValues, dtype, tokenBytes);
                long every = snapshotEvery == null ? Long.MAX_VALUE : snapshotEvery;
                long sequenceStart = at.sequenceStart;
                AttentionStream stream = at.stream;
                // Each sequence of a batch (--lengths) streams alone: a fresh stream from its first token.
                for (int b = at.sequence; b < sequences(); b++) {
                    if (stream == null) stream = AttentionStream.open(attention, options, output);
                    try {
                        long length = lengths == null ? Long.MAX_VALUE : lengths[b];
                        for (long rows; stream.position() < length && (rows = reader.next(Math.min(
                                every - (sequenceStart + stream.position()) % every, length - stream.position()))) > 0; ) {
                            stream.push(reader.q, reader.k, reader.v, rows);
                            long read = sequenceStart + stream.position();
                            bar.update(read);
                            if (read % every == 0) {
                                output.force();
                                java.util.Map<String, String> header = new java.util.LinkedHashMap<>(
                                        identity(source, read * tokenBytes).fields(JOB));
                                header.put(SEQUENCE, Integer.toString(b));
                                header.put(SEQUENCE_START, Long.toString(sequenceStart));
                                stream.snapshot(snapshot, header);
                            }
                        }
                        reader.requireWholeTokens(sequenceStart + stream.position());
                        if (lengths != null && stream.position() < length) {
                            throw new IllegalArgumentException(inputName(source) + ": the input ends at token "
                                    + (sequenceStart + stream.position()) + ", inside sequence " + b + " (" + stream.position()
                                    + " of its " + length + " tokens)");
                        }
                        stream.finish();
                        sequenceStart += stream.position();
                    } finally {
                        stream.close();
                        stream = null;
                    }
                }
                if (lengths != null && reader.next(1) > 0) {
                    throw new IllegalArgumentException(inputName(source) + ": the input holds more than the " + sequenceStart
                            + " tokens of the --lengths");
                }
                output.force();
                long tokens = sequenceStart;
                double seconds = (System.nanoTime() - start) / 1e9;
                output.close();
                if (target != null) job.commit(target);
                if (snapshot != null) Files.deleteIfExists(snapshot);
                job.completed();
                summary(attention, tokens - resumedAt, seconds, stateBytes, target == null);
            } catch (IOException | RuntimeException | Error e) {
                // Without a snapshot to resume from, the partial output is worth nothing: leave nothing.
                if (partial != null && (snapshot == null || !Files.exists(snapshot))) Files.deleteIfExists(partial);
                if (e instanceof IOException io) throw job.failure(io, target != null ? partial : state);
                throw e;
            }
        }
        return 0;
    }

    /** The header fields' prefix of the job's identity in a snapshot. */
    private static final String JOB = "job.";

    /**
     * What a snapshot of this run is a snapshot of: the dtype, the lengths of a batch's sequences, and the input's
     * first {@code read} bytes.
     */
    private Identity identity(Path source, long read) throws IOException {
        Identity identity = Identity.of("longnet-stream 1").put("dtype", dtype.name());
        if (lengths != null) identity.put("lengths", java.util.Arrays.toString(lengths));
        if (source != null) identity.filePrefix("in", source, read);
        return identity;
    }

    /** Where a run starts: the sequence, the tokens before it, and its stream (null: a fresh one). */
    private record Start(int sequence, long sequenceStart, AttentionStream stream) { }

    /** The header fields of a snapshot saying which sequence of a batch it holds, and the tokens before it. */
    private static final String SEQUENCE = "batch.sequence";
    private static final String SEQUENCE_START = "batch.sequenceStart";

    /** Sequences in the input: those of --lengths, or one of any length. */
    private int sequences() { return lengths == null ? 1 : lengths.length; }

    private Start open(AttentionConfig attention, StreamOptions options, Path snapshot, RowSink sink,
                       Path source, long tokenBytes) throws IOException {
        if (snapshot != null && Files.exists(snapshot) && !restart) {
            try {
                java.util.Map<String, String> header;
                try (SnapshotFile.Reader reader = SnapshotFile.open(snapshot)) {
                    header = reader.header();
                }
                int sequence = Integer.parseInt(header.getOrDefault(SEQUENCE, "0"));
                long sequenceStart = Long.parseLong(header.getOrDefault(SEQUENCE_START, "0"));
                long position = sequenceStart + Long.parseLong(header.getOrDefault("position", "0"));
                Identity now = identity(source != null && !"stdin".equals(header.get(JOB + "in")) ? source : null,
                        position * tokenBytes);
                now.requireSame(state, header, JOB);
                if (sequence < 0 || sequence >= sequences()) throw new NumberFormatException("sequence " + sequence);
                return new Start(sequence, sequenceStart, AttentionStream.restore(snapshot, attention, options, sink));
            } catch (TensorFormatException | NumberFormatException e) {
                throw new JobConflictException("cannot resume from " + snapshot + ": " + e.getMessage()
                        + "; use --restart to start over");
            }
        }
        if (snapshot != null) Files.deleteIfExists(snapshot);
        return new Start(0, 0, AttentionStream.open(attention, options, sink));
    }

    private static String inputName(Path source) { return source == null ? "standard input" : source.toString(); }

    private void summary(AttentionConfig attention, long tokens, double seconds, long stateBytes, boolean dataOnStdout) {
        double flops = attention.flops(tokens);
        long peak = ProcSelf.peakRssBytes();
        String text = jsonSummary
                ? Json.object().put("tokens", tokens).put("seconds", seconds).put("tokensPerSecond", tokens / seconds)
                        .put("gflops", flops / seconds / 1e9).put("stateBytes", stateBytes).put("peakRssBytes", peak)
                        .put("config", attention).toString()
                : String.format(Locale.ROOT, "%d tokens in %.2f s: %,.0f tokens/s, %.1f GFLOPS, state %s, peak RSS %s",
                        tokens, seconds, tokens / seconds, flops / seconds / 1e9, Disk.human(stateBytes),
                        Disk.human(peak));
        if (dataOnStdout) {
            if (!common.quiet) {
                err().println(text);
                err().flush();
            }
        } else {
            result(text);
        }
    }

    /** Skips {@code bytes} of input (a file seeks; a pipe is read and dropped). */
    private static void skip(ReadableByteChannel input, long bytes) throws IOException {
        if (input instanceof FileChannel file) {
            if (file.size() < bytes) {
                throw new JobConflictException("the input is shorter than the " + bytes + " bytes the snapshot had"
                        + " read: is it the same input? (--restart starts over)");
            }
            file.position(bytes);
            return;
        }
        ByteBuffer drop = ByteBuffer.allocate(1 << 16);
        for (long left = bytes; left > 0; ) {
            drop.clear().limit((int) Math.min(drop.capacity(), left));
            int n = input.read(drop);
            if (n < 0) {
                throw new JobConflictException("the input ended before the " + bytes + " bytes the snapshot had read"
                        + " (--restart starts over)");
            }
            left -= n;
        }
    }

    /** Tokens read a chunk at a time and split into q, k and v rows of f32. */
    private static final class Input {
        private static final long CHUNK_BYTES = 4L << 20;
        private final ReadableByteChannel channel;
        private final Path source;
        private final long rowValues;
        private final DType dtype;
        private final long tokenBytes;
        private final ByteBuffer raw;
        private final MemorySegment rawSegment;
        private final float[] widened = new float[4096];
        private final MemorySegment qAll, kAll, vAll;
        MemorySegment q, k, v;
        private final long capacityRows;
        private long leftover;

        Input(ReadableByteChannel channel, Path source, long rowValues, DType dtype, long tokenBytes) {
            this.channel = channel;
            this.source = source;
            this.rowValues = rowValues;
            this.dtype = dtype;
            this.tokenBytes = tokenBytes;
            long rows = Math.max(1, CHUNK_BYTES / tokenBytes);
            capacityRows = rows;
            raw = ByteBuffer.allocateDirect(Math.toIntExact(rows * tokenBytes));
            rawSegment = MemorySegment.ofBuffer(raw);
            Arena arena = Arena.ofAuto();
            qAll = arena.allocate(rows * rowValues * 4, 64);
            kAll = arena.allocate(rows * rowValues * 4, 64);
            vAll = arena.allocate(rows * rowValues * 4, 64);
        }

        /** Reads the next whole tokens, at most {@code most}; 0 at the end of the input. */
        long next(long most) throws IOException {
            raw.clear();
            raw.limit((int) Math.min(raw.capacity(), Math.max(leftover, Math.min(most, capacityRows) * tokenBytes)));
            raw.position((int) leftover);
            while (raw.hasRemaining()) {
                if (channel.read(raw) < 0) break;
            }
            long bytes = raw.position();
            long rows = bytes / tokenBytes;
            for (long row = 0; row < rows; row++) {
                for (int t = 0; t < 3; t++) {
                    MemorySegment to = t == 0 ? qAll : t == 1 ? kAll : vAll;
                    long from = (row * 3 + t) * rowValues;
                    if (dtype == DType.F32) {
                        MemorySegment.copy(rawSegment, from * 4, to, row * rowValues * 4, rowValues * 4);
                    } else {
                        Convert.copy(dtype, rawSegment, from, DType.F32, to, row * rowValues, rowValues, widened);
                    }
                }
            }
            leftover = bytes - rows * tokenBytes;
            MemorySegment.copy(rawSegment, rows * tokenBytes, rawSegment, 0, leftover);
            q = qAll.asSlice(0, rows * rowValues * 4);
            k = kAll.asSlice(0, rows * rowValues * 4);
            v = vAll.asSlice(0, rows * rowValues * 4);
            return rows;
        }

        void requireWholeTokens(long tokens) {
            if (leftover != 0) {
                throw new IllegalArgumentException((source == null ? "standard input" : source.toString())
                        + ": the input ends inside a token: " + leftover + " bytes follow token " + tokens
                        + " (a token is q, k and v: " + tokenBytes + " bytes)");
            }
        }
    }

    /** The sink: rows converted to the output type and written in order. */
    private static final class Output implements RowSink, AutoCloseable {
        private final WritableByteChannel channel;
        private final long rowValues;
        private final DType dtype;
        private ByteBuffer buffer = ByteBuffer.allocateDirect(0);
        private final float[] narrowed = new float[4096];

        Output(WritableByteChannel channel, long rowValues, DType dtype) {
            this.channel = channel;
            this.rowValues = rowValues;
            this.dtype = dtype;
        }

        /** Cuts a file output back to the rows already delivered, and writes after them. */
        void resumeAt(long rows) throws IOException {
            if (!(channel instanceof FileChannel file)) return;
            long bytes = rows * rowValues * dtype.bytes();
            if (file.size() < bytes) {
                throw new JobConflictException("the partial output holds " + file.size() + " bytes, fewer than the "
                        + bytes + " the snapshot had written: it was changed or removed (--restart starts over)");
            }
            file.truncate(bytes);
            file.position(bytes);
        }

        @Override
        public void accept(long firstRow, MemorySegment rows, int count) throws IOException {
            long values = count * rowValues;
            int bytes = Math.toIntExact(values * dtype.bytes());
            if (buffer.capacity() < bytes) buffer = ByteBuffer.allocateDirect(bytes);
            buffer.clear().limit(bytes);
            MemorySegment to = MemorySegment.ofBuffer(buffer);
            if (dtype == DType.F32) {
                MemorySegment.copy(rows, 0, to, 0, bytes);
            } else {
                Convert.copy(DType.F32, rows, 0, dtype, to, 0, values, narrowed);
            }
            while (buffer.hasRemaining()) channel.write(buffer);
        }

        void force() throws IOException {
            if (channel instanceof FileChannel file) file.force(true);
        }

        @Override
        public void close() throws IOException {
            if (channel instanceof FileChannel && channel.isOpen()) channel.close();   // stdout stays open for the summary
        }
    }
}
