package dev.longnet.engine.model;

import dev.longnet.engine.AttentionConfig;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * The model run over a sequence, depth-first, chunk by chunk: each chunk of tokens goes through every layer before
 * the next chunk comes, and each layer's attention keeps its own streaming state. Memory is the weights, the
 * attention states and a few chunk-sized buffers, whatever the sequence's length. Chunking never changes a result:
 * every row's output is the same bit for bit whether its tokens come one at a time or all at once.
 */
public final class ModelStream implements AutoCloseable {
    /** Rows per internal step: bounds the buffers. */
    public static final int MAX_CHUNK = 256;

    private final LongNetModel model;
    private final ModelConfig config;
    private final List<LayerAttention> attention;
    private final Xpos[] xpos;
    private final float embedScale;
    private final float[] x, h, q, k, v, a, f, logitRows, lanes = Ops.lanes();
    private final LinearRunner linear;
    private long position;

    private ModelStream(LongNetModel model, List<LayerAttention> attention, int threads) {
        this.model = model;
        this.config = model.config();
        this.attention = attention;
        this.xpos = new Xpos[config.layers()];
        if (config.xpos()) {
            for (int i = 0; i < xpos.length; i++) {          // layers with the same ζ share the tables
                double[] zeta = model.layers().get(i).zeta();
                xpos[i] = i > 0 && java.util.Arrays.equals(zeta, model.layers().get(i - 1).zeta()) ? xpos[i - 1]
                        : new Xpos(config.headDim(), config.xposScaleBase(), zeta, config.segmentLength());
            }
        }
        this.embedScale = config.noScaleEmbedding() ? 1f : (float) Math.sqrt(config.embedDim());
        int rows = MAX_CHUNK * config.embedDim();
        x = new float[rows];
        h = new float[rows];
        q = new float[rows];
        k = new float[rows];
        v = new float[rows];
        a = new float[rows];
        f = new float[MAX_CHUNK * config.ffnDim()];
        logitRows = new float[MAX_CHUNK * config.vocabSize()];
        this.position = attention.isEmpty() ? 0 : attention.getFirst().position();
        this.linear = new LinearRunner(threads);
    }

    /** A stream at position 0; the linear layers on one thread. */
    public static ModelStream open(LongNetModel model, LayerAttention.Factory factory) throws IOException {
        return open(model, factory, 1);
    }

    /** A stream at position 0, the linear layers on the given number of threads. */
    public static ModelStream open(LongNetModel model, LayerAttention.Factory factory, int threads) throws IOException {
        AttentionConfig c = model.config().attention();
        List<LayerAttention> layers = new ArrayList<>();
        try {
            for (int i = 0; i < model.config().layers(); i++) layers.add(factory.open(c));
            return new ModelStream(model, layers, threads);
        } catch (IOException | RuntimeException e) {
            closeAll(layers);
            throw e;
        }
    }

    /** The stream as {@link #snapshot} left it in directory dir; the linear layers on the given number of threads. */
    public static ModelStream restore(LongNetModel model, LayerAttention.Factory factory, Path dir, int threads)
            throws IOException {
        AttentionConfig c = model.config().attention();
        List<LayerAttention> layers = new ArrayList<>();
        try {
            for (int i = 0; i < model.config().layers(); i++) {
                Path file = layerFile(dir, i);
                if (!Files.isRegularFile(file)) throw new IOException(dir + ": snapshot has no state for layer " + i);
                layers.add(factory.restore(c, file));
                if (layers.get(i).position() != layers.getFirst().position()) {
                    throw new IOException(dir + ": layer " + i + " is at position " + layers.get(i).position()
                            + ", layer 0 at " + layers.getFirst().position());
                }
            }
            return new ModelStream(model, layers, threads);
        } catch (IOException | RuntimeException e) {
            closeAll(layers);
            throw e;
        }
    }

    /** Writes every layer's state into directory dir (created if needed); the position is theirs. */
    public void snapshot(Path dir) throws IOException {
        Files.createDirectories(dir);
        for (int i = 0; i < attention.size(); i++) attention.get(i).snapshot(layerFile(dir, i));
    }

    private static Path layerFile(Path dir, int layer) { return dir.resolve("layer-" + layer + ".state"); }

    /** Tokens consumed so far. */
    public long position() { return position; }

    public LongNetModel model() { return model; }

    /** Bytes of attention state over all layers. */
    public long stateBytes() {
        long sum = 0;
        for (LayerAttention l : attention) sum += l.stateBytes();
        return sum;
    }

    /**
     * Runs tokens[offset, offset + count) at the next positions. logits (count·vocab, or null) receives each
     * token's next-token logits; hidden (count·dim, or null) the final hidden states (after the last layer norm).
     */
    public void forward(int[] tokens, int offset, int count, float[] logits, float[] hidden) throws IOException {
        int e = config.embedDim();
        int vocab = config.vocabSize();
        for (int done = 0; done < count; done += MAX_CHUNK) {
            int n = Math.min(MAX_CHUNK, count - done);
            step(tokens, offset + done, n);
            if (hidden != null) System.arraycopy(h, 0, hidden, done * e, n * e);
            if (logits != null) {
                linear.apply(model.output(), h, n, logitRows);
                System.arraycopy(logitRows, 0, logits, done * vocab, n * vocab);
            }
        }
    }

    /** One chunk of n ≤ MAX_CHUNK tokens through every layer; leaves the final hidden states in h. */
    private void step(int[] tokens, int offset, int n) throws IOException {
        int e = config.embedDim();
        int ffn = config.ffnDim();
        float[] embedding = model.embedding();
        float[] positions = model.positions();
        for (int r = 0; r < n; r++) {
            int token = tokens[offset + r];
            if (token < 0 || token >= config.vocabSize()) {
                throw new IllegalArgumentException("token id " + token + " at position " + (position + r)
                        + " is outside the vocabulary [0, " + config.vocabSize() + ")");
            }
            for (int i = 0; i < e; i++) x[r * e + i] = embedding[token * e + i] * embedScale;
            if (positions != null) {
                long row = config.paddingIdx() + 1 + position + r;
                if (position + r >= config.learnedPositions()) {
                    throw new IllegalArgumentException("position " + (position + r) + " is past the model's "
                            + config.learnedPositions() + " learned positions (max_target_positions)");
                }
                for (int i = 0; i < e; i++) x[r * e + i] += positions[(int) row * e + i];
            }
        }
        boolean pre = config.normalizeBefore();
        double eps = config.layernormEps();
        for (int l = 0; l < config.layers(); l++) {
            LongNetModel.Layer layer = model.layers().get(l);
            // x + out_proj(inner_attn_ln(attention(LN(x))))
            normOrCopy(pre, x, h, n, e, layer.attnLnWeight(), layer.attnLnBias(), eps);
            linear.apply(layer.q(), h, n, q);
            linear.apply(layer.k(), h, n, k);
            linear.apply(layer.v(), h, n, v);
            if (xpos[l] != null) {
                xpos[l].prepare(position, n);
                xpos[l].apply(q, n, config.heads(), false);
                xpos[l].apply(k, n, config.heads(), true);
            }
            attention.get(l).push(q, k, v, n, a);
            if (layer.innerLnWeight() != null) Ops.layerNorm(a, a, n, e, layer.innerLnWeight(), layer.innerLnBias(), eps, lanes);
            linear.apply(layer.out(), a, n, h);
            residual(layer.attnLnWeight(), layer.attnLnBias(), n);
            // x + fc2(ffn_layernorm(act(fc1(LN(x)))))
            normOrCopy(pre, x, h, n, e, layer.ffnInLnWeight(), layer.ffnInLnBias(), eps);
            linear.apply(layer.fc1(), h, n, f);
            Ops.activate(config.activation(), f, n, ffn);
            if (layer.ffnLnWeight() != null) Ops.layerNorm(f, f, n, ffn, layer.ffnLnWeight(), layer.ffnLnBias(), eps, lanes);
            linear.apply(layer.fc2(), f, n, h);
            residual(layer.ffnInLnWeight(), layer.ffnInLnBias(), n);
        }
        if (pre) Ops.layerNorm(x, h, n, e, model.normWeight(), model.normBias(), eps, lanes);
        else System.arraycopy(x, 0, h, 0, n * e);
        position += n;
    }

    /** h = LN(x) before the sublayer (pre-LN), or a copy of x (post-LN). */
    private void normOrCopy(boolean pre, float[] x, float[] h, int n, int e, float[] w, float[] b, double eps) {
        if (pre) Ops.layerNorm(x, h, n, e, w, b, eps, lanes);
        else System.arraycopy(x, 0, h, 0, n * e);
    }

    /** x += h; post-LN then normalises x with the sublayer's norm. */
    private void residual(float[] w, float[] b, int n) {
        int e = config.embedDim();
        for (int i = 0; i < n * e; i++) x[i] += h[i];
        if (!config.normalizeBefore()) Ops.layerNorm(x, x, n, e, w, b, config.layernormEps(), lanes);
    }

    @Override
    public void close() throws IOException {
        linear.close();
        closeAll(attention);
    }

    private static void closeAll(List<LayerAttention> layers) throws IOException {
        IOException first = null;
        for (LayerAttention l : layers) {
            try {
                l.close();
            } catch (IOException e) {
                if (first == null) first = e;
            }
        }
        if (first != null) throw first;
    }
}
