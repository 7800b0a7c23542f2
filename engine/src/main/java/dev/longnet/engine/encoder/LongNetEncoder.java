package dev.longnet.engine.encoder;

import dev.longnet.engine.DilatedAttention;
import dev.longnet.engine.model.Ops;
import dev.longnet.engine.model.TensorSource;
import dev.longnet.storage.DType;
import dev.longnet.storage.NpyFile;
import dev.longnet.storage.Advice;
import dev.longnet.storage.RowWindow;
import dev.longnet.storage.TensorRows;
import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * torchscale's LongNetEncoder at inference, out of core: the hidden states x (n, dim) live in a mapped f32 file
 * and the layers run one after the other over it. A layer's weights are loaded for its turn only; its q, k, v and
 * attention output go through mapped (n, H, d) work files, so that resident memory is one layer's weights, a chunk
 * of rows per thread and the attention's window budget, whatever n is.
 *
 * <p>Per layer (pre-LN with sub-LN, as torchscale's EncoderConfig defaults):
 * <pre>
 * x = x + out_proj(inner_attn_ln(attention(q_proj(h), k_proj(h), v_proj(h)))),  h = self_attn_layer_norm(x)
 * x = x + fc2(ffn_layernorm(gelu(fc1(final_layer_norm(x)))))
 * </pre>
 * then layer_norm over the last state when the encoder has one ({@link #finalNorm}).
 */
public final class LongNetEncoder implements AutoCloseable {
    /**
     * @param threads           worker threads for the row work and the attention
     * @param chunkRows         rows mapped and processed at once by the row work
     * @param windowBudgetBytes the attention's window budget
     */
    public record Options(int threads, int chunkRows, long windowBudgetBytes) {
        public Options {
            if (threads < 1) throw new IllegalArgumentException("threads must be >= 1, got " + threads);
            if (chunkRows < 1) throw new IllegalArgumentException("chunk rows must be >= 1, got " + chunkRows);
            if (windowBudgetBytes < 1) throw new IllegalArgumentException("window budget must be positive");
        }

        /**
         * All cores, chunks of 512 rows per thread, 256 MiB of attention windows. Each chunk's linear layers stream
         * their weights once, so short chunks pay for it: GigaPath's 12-layer model at 10,000 tiles on 2 cores spent
         * 16-17 s in row work with 64-row chunks, 12-13 s with 256, 10-14 s with 1,024 and 10.3-10.5 s with 2,048
         * (resident memory +25 MB at 1,024 and +100 MB at 2,048 over 256).
         */
        public static Options defaults() {
            int cores = Runtime.getRuntime().availableProcessors();
            return new Options(cores, 512 * cores, 256L << 20);
        }

        public Options withThreads(int t) { return new Options(t, chunkRows, windowBudgetBytes); }
        public Options withChunkRows(int c) { return new Options(threads, c, windowBudgetBytes); }
        public Options withBudget(long b) { return new Options(threads, chunkRows, b); }
    }

    /** Sees the hidden states: index 0 is the input (torchscale's first encoder_states entry), i the output of layer i. */
    public interface StateListener {
        void state(int index, TensorRows x) throws IOException;
    }

    /** Progress: the fraction of the run's weight and attention work done, from 0 to 1. */
    public interface Progress {
        Progress NONE = fraction -> { };

        void update(double fraction);
    }

    private final EncoderConfig config;
    private final TensorSource weights;
    private final String prefix;
    private final Options options;
    private final float[] normWeight;
    private final float[] normBias;
    private final RowChunks chunks;
    private final DilatedAttention.Options attentionOptions;
    private long rowNanos;
    private long attentionNanos;

    /**
     * @param weights tensors with torchscale's state_dict names under {@code prefix} ("encoder." for a GigaPath
     *                slide encoder, "" for a bare encoder); each layer's are read when its turn comes
     */
    public LongNetEncoder(EncoderConfig config, TensorSource weights, String prefix, Options options) throws IOException {
        dev.longnet.engine.AttentionKernels.requireVectorApi("the LongNet encoder");
        this.config = config;
        this.weights = weights;
        this.prefix = prefix;
        this.options = options;
        this.normWeight = config.finalNorm() ? weights.read(prefix + "layer_norm.weight", config.dim()) : null;
        this.normBias = config.finalNorm() ? weights.read(prefix + "layer_norm.bias", config.dim()) : null;
        this.chunks = new RowChunks(options.threads());
        this.attentionOptions = DilatedAttention.Options.defaults().withThreads(options.threads())
                .withBudget(options.windowBudgetBytes());
    }

    public EncoderConfig config() { return config; }

    /** The tensors an encoder of this configuration has, under prefix. */
    public static List<String> tensorNames(EncoderConfig config, String prefix) {
        List<String> names = new ArrayList<>();
        for (int i = 0; i < config.layers(); i++) names.addAll(EncoderLayer.names(prefix, i));
        if (config.finalNorm()) {
            names.add(prefix + "layer_norm.weight");
            names.add(prefix + "layer_norm.bias");
        }
        return names;
    }

    /**
     * Bytes of work files {@link #run} writes for n rows: q, k, v, the attention output and its lse, and the keys
     * and values the attention gathers head by head for the levels whose segments exceed its window budget.
     */
    public static long workBytes(EncoderConfig config, long n) {
        return n * (4L * config.dim() * 4 + config.heads() * 4L)
                + DilatedAttention.scratchBytes(config.attention(), n, DType.F32, DType.F32);
    }

    /**
     * Runs every layer in place over x, (n, dim) f32 and writable, with work files in {@code workDir} (deleted
     * before returning). The listener sees x before the first layer and after each one.
     */
    public void run(TensorRows x, Path workDir, StateListener listener, Progress progress) throws IOException {
        long[] shape = x.shape();
        if (x.dtype() != DType.F32 || shape.length != 2 || shape[1] != config.dim() || !x.writable()) {
            throw new IllegalArgumentException("hidden states must be a writable f32 (n, " + config.dim() + ") tensor, got "
                    + x.dtype() + " " + Arrays.toString(shape));
        }
        long n = shape[0];
        listener.state(0, x);
        if (n == 0 || config.layers() == 0) return;
        int h = config.heads(), d = config.headDim();
        List<NpyFile> work = new ArrayList<>();
        try (DilatedAttention attention = new DilatedAttention(config.attention(),
                attentionOptions.withScratch(workDir))) {
            NpyFile q = create(work, workDir.resolve("q.npy"), n, h, d);
            NpyFile k = create(work, workDir.resolve("k.npy"), n, h, d);
            NpyFile v = create(work, workDir.resolve("v.npy"), n, h, d);
            NpyFile att = create(work, workDir.resolve("attention.npy"), n, h, d);
            NpyFile lse = create(work, workDir.resolve("lse.npy"), n, h);
            double weightFlops = (8.0 * config.dim() * config.dim() + 4.0 * config.dim() * config.ffnDim()) * n;
            double attentionFlops = config.attention().flops(n);
            double layerFlops = weightFlops + attentionFlops;
            double qkvShare = 6.0 * config.dim() * config.dim() * n / layerFlops;
            double attShare = attentionFlops / layerFlops;
            EncoderLayer layer = null;
            for (int i = 0; i < config.layers(); i++) {
                layer = EncoderLayer.load(weights, prefix, i, config, layer);       // the previous one is spent
                double base = (double) i / config.layers();
                double per = 1.0 / config.layers();
                long t0 = System.nanoTime();
                project(layer, x, q, k, v, f -> progress.update(base + per * qkvShare * f));
                long t1 = System.nanoTime();
                attention.attend(q, k, v, att, lse);
                long t2 = System.nanoTime();
                progress.update(base + per * (qkvShare + attShare));
                mix(layer, x, att, lse, f -> progress.update(base + per * (qkvShare + attShare + (1 - qkvShare - attShare) * f)));
                rowNanos += t1 - t0 + System.nanoTime() - t2;
                attentionNanos += t2 - t1;
                listener.state(i + 1, x);
            }
        } finally {
            for (NpyFile f : work) f.discard();
        }
    }

    private static NpyFile create(List<NpyFile> work, Path file, long... shape) throws IOException {
        NpyFile f = NpyFile.create(file, DType.F32, shape);
        work.add(f);
        return f;
    }

    /** q, k, v = the projections of self_attn_layer_norm(x), chunk by chunk. */
    private void project(EncoderLayer w, TensorRows x, TensorRows q, TensorRows k, TensorRows v, Progress progress)
            throws IOException {
        int e = config.dim();
        long n = x.rows();
        for (long r0 = 0; r0 < n; r0 += options.chunkRows()) {
            int c = (int) Math.min(options.chunkRows(), n - r0);
            try (RowWindow xw = x.window(r0, c); RowWindow qw = q.window(r0, c); RowWindow kw = k.window(r0, c);
                 RowWindow vw = v.window(r0, c)) {
                populate(xw, qw, kw, vw);
                MemorySegment xs = xw.segment(), qs = qw.segment(), ks = kw.segment(), vs = vw.segment();
                chunks.run(c, (from, to, b) -> {
                    int rows = to - from;
                    float[] xb = b.get(0, rows * e), hb = b.get(1, rows * e), ob = b.get(2, rows * e);
                    RowChunks.read(xs, from, e, xb, rows);
                    Ops.layerNorm(xb, hb, rows, e, w.attnLnW(), w.attnLnB(), EncoderConfig.LAYER_NORM_EPS, b.lanes);
                    b.apply(w.q(), hb, rows, ob);
                    RowChunks.write(ob, rows, qs, from, e);
                    b.apply(w.k(), hb, rows, ob);
                    RowChunks.write(ob, rows, ks, from, e);
                    b.apply(w.v(), hb, rows, ob);
                    RowChunks.write(ob, rows, vs, from, e);
                });
            }
            progress.update((double) (r0 + c) / n);
        }
    }

    /**
     * x += out_proj(inner_attn_ln(att)); x += fc2(ffn_layernorm(gelu(fc1(final_layer_norm(x))))), chunk by chunk;
     * the attention output and lse rows are zeroed for the next layer.
     */
    private void mix(EncoderLayer w, TensorRows x, TensorRows att, TensorRows lse, Progress progress) throws IOException {
        int e = config.dim(), f = config.ffnDim(), h = config.heads();
        long n = x.rows();
        for (long r0 = 0; r0 < n; r0 += options.chunkRows()) {
            int c = (int) Math.min(options.chunkRows(), n - r0);
            try (RowWindow xw = x.window(r0, c); RowWindow aw = att.window(r0, c); RowWindow lw = lse.window(r0, c)) {
                populate(xw, aw, lw);
                MemorySegment xs = xw.segment(), as = aw.segment();
                chunks.run(c, (from, to, b) -> {
                    int rows = to - from;
                    float[] xb = b.get(0, rows * e), hb = b.get(1, rows * e), ob = b.get(2, rows * e);
                    float[] fb = b.get(3, rows * f);
                    RowChunks.read(as, from, e, hb, rows);
                    Ops.layerNorm(hb, hb, rows, e, w.innerLnW(), w.innerLnB(), EncoderConfig.LAYER_NORM_EPS, b.lanes);
                    b.apply(w.out(), hb, rows, ob);
                    RowChunks.read(xs, from, e, xb, rows);
                    for (int i = 0; i < rows * e; i++) xb[i] += ob[i];
                    Ops.layerNorm(xb, hb, rows, e, w.ffnInLnW(), w.ffnInLnB(), EncoderConfig.LAYER_NORM_EPS, b.lanes);
                    b.apply(w.fc1(), hb, rows, fb);
                    Ops.gelu(fb, 0, rows * f);
                    Ops.layerNorm(fb, fb, rows, f, w.ffnLnW(), w.ffnLnB(), EncoderConfig.LAYER_NORM_EPS, b.lanes);
                    b.apply(w.fc2(), fb, rows, ob);
                    for (int i = 0; i < rows * e; i++) xb[i] += ob[i];
                    RowChunks.write(xb, rows, xs, from, e);
                });
                as.fill((byte) 0);
                lw.segment().fill((byte) 0);
            }
            progress.update((double) (r0 + c) / n);
        }
    }

    /**
     * Maps every page of a chunk's windows in one call each (MADV_POPULATE_WRITE: they are all read or written
     * whole), instead of a fault per page from the worker threads.
     */
    private static void populate(RowWindow... windows) {
        for (RowWindow w : windows) w.advise(Advice.POPULATE_WRITE);
    }

    /**
     * Seconds spent so far in the row work (layer norms, projections, FFN) and in the attention; the flops of the
     * linear layers within the row work and the seconds they took (the threads' time in them over the threads).
     */
    public record Timings(double rowSeconds, double attentionSeconds, long linearFlops, double linearSeconds) {
        /** The linear layers' flops per second while in them. */
        public double linearFlopsPerSecond() { return linearFlops / linearSeconds; }
    }

    public Timings timings() {
        RowChunks.LinearTime linear = chunks.linearTime();
        return new Timings(rowNanos / 1e9, attentionNanos / 1e9, linear.flops(), linear.seconds());
    }

    /** The encoder's layer_norm over rows (count·dim floats) in place; a no-op when the encoder has none. */
    public void finalNorm(float[] rows, int count) {
        if (normWeight == null) return;
        Ops.layerNorm(rows, rows, count, config.dim(), normWeight, normBias, EncoderConfig.LAYER_NORM_EPS, Ops.lanes());
    }

    @Override
    public void close() {
        chunks.close();
    }
}
