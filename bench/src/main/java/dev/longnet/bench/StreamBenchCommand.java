package dev.longnet.bench;

import dev.longnet.cli.ConfigOptions;
import dev.longnet.engine.Generator;
import dev.longnet.cli.ProgressDisplay;
import dev.longnet.cli.Sizes;
import dev.longnet.cli.ThreadOptions;
import dev.longnet.engine.Verifier;
import dev.longnet.engine.AttentionConfig;
import dev.longnet.engine.Parallel;
import dev.longnet.engine.ReferenceAttention;
import dev.longnet.engine.stream.AttentionStream;
import dev.longnet.engine.stream.RowSink;
import dev.longnet.engine.stream.StreamOptions;
import dev.longnet.storage.DType;
import dev.longnet.storage.Disk;
import dev.longnet.storage.Json;
import dev.longnet.storage.ProcSelf;
import dev.longnet.storage.SnapshotFile;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import java.util.concurrent.ExecutorService;
import java.util.zip.CRC32C;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/**
 * {@code longnet bench stream}: N tokens through the stream with no file at all. Inputs come from gen's counter-based
 * generator, a chunk at a time (so any input row can be recomputed), outputs are checksummed, and sampled rows
 * (first, last, random) are checked against the double reference, which recomputes just the input rows it needs.
 */
@Command(name = "stream", mixinStandardHelpOptions = true,
        description = {"Streams N generated tokens through dilated attention: tokens/s, GFLOPS, fraction of the FMA peak,",
                "peak RSS and the state size; sampled rows are checked against the double reference."})
final class StreamBenchCommand implements Callable<Integer> {
    @Option(names = "--n", paramLabel = "N", description = "Tokens (default 2^20); 1048576, 2^20 or 1M.")
    String n = "2^20";

    @Option(names = "--heads", paramLabel = "H", description = "Heads (default 1).")
    int heads = 1;

    @Option(names = "--head-dim", paramLabel = "D", description = "Head dimension (default 16).")
    int headDim = 16;

    @Mixin
    ConfigOptions levels;                                // default: --preset bench

    @Option(names = "--dtype", paramLabel = "TYPE", description = "Inputs rounded to f32 (default) or f16, as gen stores them.")
    String dtype = "f32";

    @Mixin
    ThreadOptions threadOptions;

    @Option(names = "--chunk", paramLabel = "TOKENS", description = "Tokens per push (default: 65536, at most 16 MiB of each of q, k, v).")
    Integer chunk;

    @Option(names = "--seed", paramLabel = "SEED", description = "Generator seed (default 1).")
    long seed = 1;

    @Option(names = "--samples", paramLabel = "ROWS", description = "Rows checked against the reference (default 16).")
    int samples = 16;

    @Option(names = "--peak-gflops", paramLabel = "GFLOPS", description = "All-core FMA peak in GFLOPS; measured with JMH when not given.")
    Double peakGflops;

    @Option(names = "--snapshot", paramLabel = "FILE", description = "Before finishing, snapshot the state into this file and report its"
            + " compression ratio and write time.")
    Path snapshot;

    @Option(names = "--warmup", paramLabel = "TOKENS", description = "Tokens streamed first through a stream of their own, untimed, so that"
            + " the timed run starts with the kernel compiled (default 0: the JIT's warm-up is part of the time).")
    String warmup = "0";

    @Option(names = "--json", description = "One JSON object on stdout.")
    boolean json;

    @Option(names = "--quiet", description = "No progress bar.")
    boolean quiet;

    @Override
    public Integer call() throws Exception {
        long tokens = Sizes.parse(n);
        DType type = DType.valueOf(dtype.toUpperCase(Locale.ROOT));
        AttentionConfig config = levels.build(heads, headDim, "bench");
        int threads = threadOptions.threads();
        double peak = peakGflops != null ? peakGflops : Jmh.peak(true)[1];
        long rowValues = (long) heads * headDim;
        int chunk = this.chunk != null ? this.chunk : (int) Math.clamp((16L << 20) / (rowValues * 4), 1, 65536);
        long[] sampled = Verifier.sample(tokens, samples, seed);
        Sampler sampler = new Sampler(sampled, rowValues, seed);
        long[] keys = {Generator.streamKey(seed, 0), Generator.streamKey(seed, 1), Generator.streamKey(seed, 2)};
        ExecutorService generators = Parallel.pool(threads, "longnet-gen");
        double generateSeconds, streamSeconds, snapshotSeconds = 0, warmupSeconds = 0;
        long snapshotBytes = 0, snapshotRaw = 0;
        long stateBytes;
        long warmupTokens = Sizes.parse(warmup);
        long start;
        try (Arena arena = Arena.ofShared();
             ProgressDisplay progress = ProgressDisplay.start("stream", tokens, !quiet && !json)) {
            Feed feed = new Feed(generators, arena, keys, type, rowValues, chunk);
            if (warmupTokens > 0) {
                long w = System.nanoTime();
                try (AttentionStream warm = AttentionStream.open(config, new StreamOptions(threads, null, null),
                        RowSink.DISCARD)) {
                    feed.push(warm, warmupTokens, null);
                    warm.finish();
                }
                warmupSeconds = (System.nanoTime() - w) / 1e9;
            }
            start = System.nanoTime();
            try (AttentionStream stream = AttentionStream.open(config, new StreamOptions(threads, null, null), sampler)) {
                stateBytes = stream.stateBytes();
                if (!json) {
                    System.out.printf(Locale.ROOT, "stream: %s, N=%d, %s inputs, state %s, peak %.1f GFLOPS%n", config,
                            tokens, type, Disk.human(stateBytes), peak);
                }
                generateSeconds = feed.push(stream, tokens, progress);
                if (snapshot != null) {
                    long t = System.nanoTime();
                    stream.snapshot(snapshot);
                    snapshotSeconds = (System.nanoTime() - t) / 1e9;
                    snapshotBytes = Files.size(snapshot);
                    try (SnapshotFile.Reader reader = SnapshotFile.open(snapshot)) {
                        snapshotRaw = Long.parseLong(reader.header().get(SnapshotFile.PAYLOAD_BYTES));
                    }
                    generateSeconds += snapshotSeconds;             // not the stream's time
                }
                stream.finish();
                progress.update(tokens);
            }
        } finally {
            if (generators != null) generators.shutdownNow();
        }
        double seconds = (System.nanoTime() - start) / 1e9;
        streamSeconds = seconds - generateSeconds;
        double error = sampler.maxError(config, tokens, type);
        double gflops = config.flops(tokens) / streamSeconds / 1e9;
        long peakRss = ProcSelf.peakRssBytes();
        if (json) {
            System.out.println(Json.object().put("tokens", tokens).put("seconds", seconds).put("streamSeconds", streamSeconds)
                    .put("generateSeconds", generateSeconds).put("tokensPerSecond", tokens / streamSeconds)
                    .put("usPerToken", streamSeconds / tokens * 1e6).put("gflops", gflops).put("peakGflops", peak)
                    .put("fractionOfPeak", gflops / peak).put("stateBytes", stateBytes).put("peakRssBytes", peakRss)
                    .put("checksum", Long.toHexString(sampler.crc.getValue())).put("sampledRows", sampled.length)
                    .put("maxAbsError", error).put("config", config).put("dtype", type.label())
                    .put("threads", threads).put("snapshotBytes", snapshotBytes).put("snapshotPayloadBytes", snapshotRaw)
                    .put("snapshotSeconds", snapshotSeconds).put("warmupTokens", warmupTokens)
                    .put("warmupSeconds", warmupSeconds));
        } else {
            System.out.printf(Locale.ROOT, "stream: %d tokens in %.1f s (%.1f s generating inputs): %,.0f tokens/s,"
                            + " %.3f us/token, %.1f GFLOPS (%.1f%% of peak), state %s, peak RSS %s%n", tokens, seconds,
                    generateSeconds, tokens / streamSeconds, streamSeconds / tokens * 1e6, gflops, 100 * gflops / peak,
                    Disk.human(stateBytes), Disk.human(peakRss));
            System.out.printf(Locale.ROOT, "stream: output CRC32C %s; %d sampled rows, max abs error %.2e against the"
                    + " double reference%n", Long.toHexString(sampler.crc.getValue()), sampled.length, error);
            if (snapshot != null) {
                System.out.printf(Locale.ROOT, "stream: snapshot %s of %s of state (ratio %.3f) in %.3f s%n",
                        Disk.human(snapshotBytes), Disk.human(snapshotRaw), (double) snapshotRaw / snapshotBytes,
                        snapshotSeconds);
            }
        }
        return error <= 1e-4 ? 0 : 1;
    }

    /** gen's inputs for a stream, a chunk at a time: q, k, v buffers of {@code chunk} rows, filled in parallel. */
    private static final class Feed {
        private final ExecutorService generators;
        private final MemorySegment[] inputs = new MemorySegment[3];
        private final long[] keys;
        private final DType type;
        private final long rowValues;
        private final int chunk;

        Feed(ExecutorService generators, Arena arena, long[] keys, DType type, long rowValues, int chunk) {
            this.generators = generators;
            this.keys = keys;
            this.type = type;
            this.rowValues = rowValues;
            this.chunk = chunk;
            for (int t = 0; t < 3; t++) inputs[t] = arena.allocate(chunk * rowValues * 4, 64);
        }

        /** Pushes tokens [0, tokens) through the stream; returns the seconds spent generating them. */
        double push(AttentionStream stream, long tokens, ProgressDisplay progress) throws IOException {
            double generateSeconds = 0;
            for (long first = 0; first < tokens; first += chunk) {
                long rows = Math.min(chunk, tokens - first);
                long g = System.nanoTime();
                generate(first * rowValues, rows * rowValues);
                generateSeconds += (System.nanoTime() - g) / 1e9;
                stream.push(inputs[0].asSlice(0, rows * rowValues * 4), inputs[1].asSlice(0, rows * rowValues * 4),
                        inputs[2].asSlice(0, rows * rowValues * 4), rows);
                if (progress != null) progress.update(stream.delivered());
            }
            return generateSeconds;
        }

        /** Fills the three input chunks with elements [first, first + count) of q, k, v, rounded to {@code type}. */
        private void generate(long first, long count) throws IOException {
            List<Callable<Void>> tasks = new ArrayList<>();
            long piece = Math.max(2, (count / 8 + 1) & ~1L);          // even: gen's pairs are never split
            for (int t = 0; t < 3; t++) {
                MemorySegment segment = inputs[t];
                long key = keys[t];
                for (long from = 0; from < count; from += piece) {
                    long at = from;
                    long length = Math.min(piece, count - from);
                    tasks.add(() -> {
                        MemorySegment part = segment.asSlice(at * 4, length * 4);
                        Generator.fill(part, DType.F32, key, first + at, length);
                        if (type != DType.F32) {
                            for (long i = 0; i < length; i++) {
                                float x = part.getAtIndex(ValueLayout.JAVA_FLOAT, i);
                                part.setAtIndex(ValueLayout.JAVA_FLOAT, i, rounded(type, x));
                            }
                        }
                        return null;
                    });
                }
            }
            Parallel.runAll(generators, tasks);
        }
    }

    /** x as gen stores it in {@code type} (f32 or f16) and reads it back. */
    private static float rounded(DType type, float x) {
        return type == DType.F32 ? x : Float.float16ToFloat(Float.floatToFloat16(x));
    }

    /** The sink: a CRC32C of every output byte, and the sampled rows kept for the reference. */
    private static final class Sampler implements RowSink {
        final CRC32C crc = new CRC32C();
        private final long[] positions;
        private final float[][] rows;
        private final long rowValues;
        private final long seed;

        Sampler(long[] positions, long rowValues, long seed) {
            this.positions = positions;
            this.rows = new float[positions.length][];
            this.rowValues = rowValues;
            this.seed = seed;
        }

        @Override
        public void accept(long firstRow, MemorySegment segment, int count) {
            crc.update(segment.asByteBuffer());
            int i = Arrays.binarySearch(positions, firstRow);
            for (i = i < 0 ? -i - 1 : i; i < positions.length && positions[i] < firstRow + count; i++) {
                long offset = (positions[i] - firstRow) * rowValues * 4;
                rows[i] = segment.asSlice(offset, rowValues * 4).toArray(ValueLayout.JAVA_FLOAT);
            }
        }

        /** The largest difference between a sampled row and the double reference on regenerated inputs. */
        double maxError(AttentionConfig config, long n, DType type) {
            int d = config.headDim();
            double max = 0;
            for (int i = 0; i < positions.length; i++) {
                for (int h = 0; h < config.heads(); h++) {
                    double[] expected = ReferenceAttention.attendRow(config, n, input(0, type, config), input(1, type, config),
                            input(2, type, config), positions[i], h, null);
                    for (int c = 0; c < d; c++) {
                        double e = Math.abs(expected[c] - rows[i][h * d + c]);
                        if (!(e <= max)) max = e;                // NaN wins
                    }
                }
            }
            return max;
        }

        private ReferenceAttention.RowAccess input(int tensor, DType type, AttentionConfig config) {
            return (p, h) -> {
                double[] row = new double[config.headDim()];
                for (int c = 0; c < row.length; c++) {
                    float x = (float) Generator.normal(seed, tensor, (p * config.heads() + h) * config.headDim() + c);
                    row[c] = rounded(type, x);
                }
                return row;
            };
        }
    }
}
