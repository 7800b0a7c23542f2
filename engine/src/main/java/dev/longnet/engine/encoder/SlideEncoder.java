package dev.longnet.engine.encoder;

import dev.longnet.engine.AttentionConfig;
import dev.longnet.engine.Level;
import dev.longnet.engine.Semantics;
import dev.longnet.engine.model.Linear;
import dev.longnet.engine.model.Ops;
import dev.longnet.engine.model.TensorSource;
import dev.longnet.storage.DType;
import dev.longnet.storage.Disk;
import dev.longnet.storage.NpyFile;
import dev.longnet.storage.RowWindow;
import dev.longnet.storage.TensorRows;
import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Prov-GigaPath's slide encoder (LongNetViT) at inference: tile embeddings (N, in_chans) and their pixel
 * coordinates to one slide embedding. patch_embed.proj, plus the fixed 2-D sin-cos position of each tile
 * ({@link SlidePositions}); the CLS token (cls_token, position 0 of the table: zeros) in front; torchscale's
 * LongNetEncoder over the N + 1 rows ({@link LongNetEncoder}, out of core); then norm (eps 1e-6) of the CLS row,
 * or of the mean of the tile rows with global pooling. With all layers, every encoder state (the input and each
 * layer's output, without the encoder's final layer_norm, as gigapath's all_layer_embed) goes through the same
 * pooling and norm.
 */
public final class SlideEncoder {
    /** gigapath's norm_layer eps. */
    public static final double NORM_EPS = 1e-6;

    /** What the checkpoint's shapes say, and the name gigapath registers it under when it is one of its three. */
    public record Architecture(String name, int inChans, int dim, int depth, int ffnDim, String prefix) {
        @Override
        public String toString() {
            return name + " (in_chans " + inChans + ", dim " + dim + ", depth " + depth + ", ffn " + ffnDim + ")";
        }
    }

    /** What a checkpoint does not hold: the heads, the levels and the attention's semantics. */
    public record Settings(int heads, List<Level> levels, Semantics semantics) {
        /** GigaPath's: 16 heads, get_optimal_segment_length(262144, 256), dilations 1, 2, 4, 8, 16, torchscale's semantics. */
        public static Settings gigapath() {
            return new Settings(16, AttentionConfig.levels(segmentLengths(262144, 256), new int[]{1, 2, 4, 8, 16}),
                    Semantics.TORCHSCALE);
        }
    }

    /**
     * gigapath's get_optimal_segment_length: 2^linspace(10, ⌊log2((maxWsiSize/tileSize)²)⌋, 5), truncated to
     * integers ([1024, 5792, 32768, 185363, 1048576] for 262144 and 256).
     */
    public static long[] segmentLengths(long maxWsiSize, int tileSize) {
        long side = maxWsiSize / tileSize;
        double stop = Math.floor(Math.log(side * (double) side) / Math.log(2));
        long[] out = new long[5];
        double step = (stop - 10) / 4;
        for (int i = 0; i < 5; i++) out[i] = (long) Math.pow(2, i == 4 ? stop : 10 + i * step);
        return out;
    }

    /** The embeddings: the final one (dim floats) and, when asked for, one per encoder state ((depth + 1) × dim). */
    public record Result(float[] embedding, float[][] layers, long tiles, double seconds, LongNetEncoder.Timings timings) { }

    private final Architecture architecture;
    private final TensorSource source;
    private final EncoderConfig config;
    private final LongNetEncoder.Options options;

    public SlideEncoder(ShapedTensors source, Settings settings, LongNetEncoder.Options options) throws IOException {
        dev.longnet.engine.AttentionKernels.requireVectorApi("the slide encoder");
        this.architecture = inspect(source);
        this.source = source;
        this.options = options;
        this.config = new EncoderConfig(architecture.dim(), architecture.depth(), settings.heads(), architecture.ffnDim(),
                settings.levels(), settings.semantics(), true);
    }

    public Architecture architecture() { return architecture; }

    public EncoderConfig config() { return config; }

    private static final Pattern LAYER = Pattern.compile("encoder\\.layers\\.(\\d+)\\.");

    /**
     * Reads the architecture from the tensors' shapes and checks that the checkpoint holds exactly the tensors of
     * a LongNetViT of that shape (gigapath's non-persistent pos_embed table, if stored, is allowed and unused).
     * Tensor names may share a prefix (e.g. "model.").
     */
    public static Architecture inspect(ShapedTensors source) throws IOException {
        String key = "patch_embed.proj.weight";
        List<String> found = source.names().stream().filter(n -> n.endsWith(key)).sorted().toList();
        if (found.size() != 1) {
            throw new IllegalArgumentException(found.isEmpty()
                    ? "not a GigaPath slide encoder: no tensor " + key + " (the checkpoint has " + source.names().size()
                            + " tensors, e.g. " + sample(source.names()) + ")"
                    : "several tensors named *" + key + ": " + found);
        }
        String prefix = found.getFirst().substring(0, found.getFirst().length() - key.length());
        long[] patch = source.shape(prefix + key);
        if (patch.length != 2) throw new IllegalArgumentException("tensor " + prefix + key + " has shape " + Arrays.toString(patch) + ", expected (dim, in_chans)");
        int dim = Math.toIntExact(patch[0]), in = Math.toIntExact(patch[1]);
        int depth = 0;
        for (String n : source.names()) {
            if (!n.startsWith(prefix)) continue;
            Matcher m = LAYER.matcher(n.substring(prefix.length()));
            if (m.lookingAt()) depth = Math.max(depth, Integer.parseInt(m.group(1)) + 1);
        }
        String fc1 = prefix + "encoder.layers.0.ffn.fc1.weight";
        long[] ffnShape = source.names().contains(fc1) ? source.shape(fc1) : new long[]{4L * dim, dim};
        int ffn = Math.toIntExact(ffnShape[0]);
        String name = switch (dim + "/" + depth + "/" + ffn + "/" + in) {
            case "768/12/3072/1536" -> "gigapath_slide_enc12l768d";
            case "1024/24/4096/1536" -> "gigapath_slide_enc24l1024d";
            case "1536/12/6144/1536" -> "gigapath_slide_enc12l1536d";
            default -> "LongNetViT";
        };
        Architecture a = new Architecture(name, in, dim, depth, ffn, prefix);
        Set<String> expected = new HashSet<>(tensorNames(a));
        Set<String> missing = new TreeSet<>(expected);
        missing.removeAll(source.names());
        Set<String> extra = new TreeSet<>(source.names());
        extra.removeAll(expected);
        extra.remove(prefix + "pos_embed");
        if (!missing.isEmpty() || !extra.isEmpty()) {
            StringBuilder b = new StringBuilder("not a GigaPath slide encoder of its patch embedding's shape (" + a + "):");
            if (!missing.isEmpty()) b.append(" ").append(missing.size()).append(" missing tensors (").append(sample(missing)).append(")");
            if (!missing.isEmpty() && !extra.isEmpty()) b.append(";");
            if (!extra.isEmpty()) b.append(" ").append(extra.size()).append(" unexpected tensors (").append(sample(extra)).append(")");
            throw new IllegalArgumentException(b.toString());
        }
        return a;
    }

    private static String sample(Set<String> names) {
        List<String> sorted = new TreeSet<>(names).stream().limit(4).toList();
        return String.join(", ", sorted) + (names.size() > sorted.size() ? ", ..." : "");
    }

    /** The tensors a LongNetViT of this architecture has. */
    static List<String> tensorNames(Architecture a) {
        List<String> names = new ArrayList<>();
        String p = a.prefix();
        for (String n : new String[]{"patch_embed.proj.weight", "patch_embed.proj.bias", "cls_token", "norm.weight", "norm.bias"}) {
            names.add(p + n);
        }
        EncoderConfig shape = new EncoderConfig(a.dim(), a.depth(), 1, a.ffnDim(), List.of(new Level(1, 1)), null, true);
        names.addAll(LongNetEncoder.tensorNames(shape, p + "encoder."));
        return names;
    }

    /** Bytes of work files an embedding of n tiles writes (deleted when it ends). */
    public long workBytes(long n) {
        return (n + 1) * config.dim() * 4L + LongNetEncoder.workBytes(config, n + 1);
    }

    /**
     * Embeds one slide: tiles (N, in_chans) f32, f16 or bf16 and their grid cells ({@link TileCoords#cells}),
     * with work files in workDir (which must exist; the files are deleted before returning).
     */
    public Result embed(TensorRows tiles, String tilesName, int[] cells, Path workDir, boolean globalPool,
                        boolean allLayers, LongNetEncoder.Progress progress) throws IOException {
        long start = System.nanoTime();
        long[] shape = tiles.shape();
        if (shape.length != 2 || shape[1] != architecture.inChans()) {
            throw new IllegalArgumentException(tilesName + ": tiles must have shape (N, " + architecture.inChans()
                    + "), got " + Arrays.toString(shape));
        }
        long n = shape[0];
        if (n == 0) throw new IllegalArgumentException(tilesName + ": no tiles (N = 0); a slide needs at least one");
        if (cells.length != n) {
            throw new IllegalArgumentException(tilesName + ": " + n + " tiles but " + cells.length + " coordinates");
        }
        Disk.requireSpace(workDir.resolve("x.npy"), workBytes(n), "the encoder's work files");
        int dim = config.dim();
        float[][] layers = allLayers ? new float[config.layers() + 1][] : null;
        NpyFile x = NpyFile.create(workDir.resolve("x.npy"), DType.F32, n + 1, dim);
        try (LongNetEncoder encoder = new LongNetEncoder(config, source, architecture.prefix() + "encoder.", options)) {
            embedTiles(tiles, tilesName, cells, x);
            float[] normW = source.read(architecture.prefix() + "norm.weight", dim);
            float[] normB = source.read(architecture.prefix() + "norm.bias", dim);
            double embedShare = 0.02;
            encoder.run(x, workDir, (index, states) -> {
                if (allLayers) layers[index] = pool(states, globalPool, null, normW, normB);
            }, f -> progress.update(embedShare + (1 - embedShare) * f));
            float[] out = pool(x, globalPool, encoder, normW, normB);
            return new Result(out, layers, n, (System.nanoTime() - start) / 1e9, encoder.timings());
        } finally {
            x.discard();
        }
    }

    /** x rows 1..N are patch_embed.proj(tiles) + their positions; row 0 is the CLS token. */
    private void embedTiles(TensorRows tiles, String tilesName, int[] cells, TensorRows x) throws IOException {
        int dim = config.dim(), in = architecture.inChans();
        String p = architecture.prefix();
        Linear proj = EncoderLayer.linear(source, p + "patch_embed.proj", dim, in, null);
        float[] cls = source.read(p + "cls_token", 1, 1, dim);
        SlidePositions positions = new SlidePositions(dim);
        try (RowWindow w = x.window(0, 1)) {
            float[] row = cls.clone();
            for (int i = 0; i < dim; i++) row[i] += 0f;                 // + pos_embed[0], zeros
            RowChunks.write(row, 1, w.segment(), 0, dim);
        }
        long n = tiles.rows();
        DType type = tiles.dtype();
        try (RowChunks chunks = new RowChunks(options.threads())) {
            for (long r0 = 0; r0 < n; r0 += options.chunkRows()) {
                int c = (int) Math.min(options.chunkRows(), n - r0);
                long first = r0;
                try (RowWindow tw = tiles.window(r0, c); RowWindow xw = x.window(r0 + 1, c)) {
                    MemorySegment ts = tw.segment(), xs = xw.segment();
                    chunks.run(c, (from, to, b) -> {
                        int rows = to - from;
                        float[] tb = b.get(0, rows * in), ob = b.get(1, rows * dim);
                        if (type == DType.F32) RowChunks.read(ts, from, in, tb, rows);
                        else for (int i = 0; i < rows * in; i++) tb[i] = type.get(ts, (long) from * in + i);
                        for (int i = 0; i < rows * in; i++) {
                            if (!Float.isFinite(tb[i])) {
                                throw new IllegalArgumentException(tilesName + ": row " + (first + from + i / in) + " holds "
                                        + tb[i] + " (column " + i % in + "); tile embeddings must be finite");
                            }
                        }
                        proj.apply(tb, rows, ob, b.tmp);
                        for (int r = 0; r < rows; r++) positions.add(cells[(int) (first + from + r)], ob, r * dim);
                        RowChunks.write(ob, rows, xs, from, dim);
                    });
                }
            }
        }
    }

    /**
     * One state's embedding: norm of row 0 (the CLS token), or norm of the mean of rows 1..N; the encoder's final
     * layer_norm first when {@code encoder} is given.
     */
    private float[] pool(TensorRows x, boolean globalPool, LongNetEncoder encoder, float[] normW, float[] normB)
            throws IOException {
        int dim = config.dim();
        float[] out = new float[dim];
        if (!globalPool) {
            try (RowWindow w = x.window(0, 1)) {
                RowChunks.read(w.segment(), 0, dim, out, 1);
            }
            if (encoder != null) encoder.finalNorm(out, 1);
        } else {
            long n = x.rows() - 1;
            double[] sum = new double[dim];
            int chunk = 1024;
            float[] buf = new float[chunk * dim];
            for (long r0 = 1; r0 <= n; r0 += chunk) {
                int c = (int) Math.min(chunk, n + 1 - r0);
                try (RowWindow w = x.window(r0, c)) {
                    RowChunks.read(w.segment(), 0, dim, buf, c);
                }
                if (encoder != null) encoder.finalNorm(buf, c);
                for (int r = 0; r < c; r++) for (int i = 0; i < dim; i++) sum[i] += buf[r * dim + i];
            }
            for (int i = 0; i < dim; i++) out[i] = (float) (sum[i] / n);
        }
        Ops.layerNorm(out, out, 1, dim, normW, normB, NORM_EPS, Ops.lanes());
        return out;
    }
}
