package dev.longnet.engine.model;

import java.io.IOException;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.stream.IntStream;

/**
 * torchscale's LongNetDecoder at inference: the weights, checked against the configuration and packed for the
 * kernels. Immutable and shared; a {@link ModelStream} runs it over a sequence.
 */
public final class LongNetModel {
    /** fairseq's learned positional embedding, present when the configuration has decoder_learned_pos. */
    static final String POSITIONS = "embed_positions.weight";

    /** One decoder layer's weights. */
    record Layer(float[] attnLnWeight, float[] attnLnBias, Linear q, Linear k, Linear v, Linear out,
                 float[] innerLnWeight, float[] innerLnBias, float[] ffnInLnWeight, float[] ffnInLnBias,
                 Linear fc1, Linear fc2, float[] ffnLnWeight, float[] ffnLnBias, double[] zeta) { }

    private final ModelConfig config;
    private final float[] embedding;
    private final float[] positions;          // learned positions (positionRows × dim), or null
    private final List<Layer> layers;
    private final float[] normWeight;
    private final float[] normBias;
    private final Linear output;

    private LongNetModel(ModelConfig config, float[] embedding, float[] positions, List<Layer> layers,
                         float[] normWeight, float[] normBias, Linear output) {
        this.config = config;
        this.embedding = embedding;
        this.positions = positions;
        this.layers = layers;
        this.normWeight = normWeight;
        this.normBias = normBias;
        this.output = output;
    }

    /**
     * Builds the model from tensors with torchscale's state_dict names. A missing or misshaped tensor, or a tensor
     * the configuration has no place for, is an error naming it.
     */
    public static LongNetModel load(ModelConfig config, TensorSource source) throws IOException {
        dev.longnet.engine.AttentionKernels.requireVectorApi("the language model");
        long v = config.vocabSize(), e = config.embedDim(), f = config.ffnDim();
        Set<String> expected = new HashSet<>(tensorNames(config));
        Set<String> unexpected = new HashSet<>(source.names());
        unexpected.removeAll(expected);
        if (config.shareEmbeddings()) unexpected.remove("output_projection.weight");   // a tied copy may be stored
        if (config.xpos()) {
            for (int i = 0; i < config.layers(); i++) unexpected.remove("layers." + i + ".self_attn.xpos.scale");
        }
        if (!unexpected.isEmpty()) {
            throw new IllegalArgumentException("tensor \"" + unexpected.stream().sorted().findFirst().orElseThrow()
                    + "\" has no place in the configuration (" + config + ")" + (unexpected.size() > 1
                    ? " (and " + (unexpected.size() - 1) + " more)" : ""));
        }
        float[] embedding = source.read("embed_tokens.weight", v, e);
        float[] positions = config.learnedPositions() > 0
                ? source.read(POSITIONS, config.positionRows(), e) : null;
        Layer[] layers = new Layer[config.layers()];
        for (int i = 0; i < layers.length; i++) {
            String p = "layers." + i + ".";
            String a = p + "self_attn.";
            double[] zeta = null;
            if (config.xpos()) {
                String name = a + "xpos.scale";
                zeta = source.names().contains(name) ? toDouble(source.read(name, e / config.heads() / 2))
                        : Xpos.zeta(config.headDim());
                try {
                    new Xpos(config.headDim(), config.xposScaleBase(), zeta, config.segmentLength());
                } catch (IllegalArgumentException bad) {
                    throw new IllegalArgumentException("tensor \"" + name + "\": " + bad.getMessage());
                }
            }
            layers[i] = new Layer(source.read(p + "self_attn_layer_norm.weight", e), source.read(p + "self_attn_layer_norm.bias", e),
                    linear(source, a + "q_proj", e, e), linear(source, a + "k_proj", e, e), linear(source, a + "v_proj", e, e),
                    linear(source, a + "out_proj", e, e),
                    config.subln() ? source.read(a + "inner_attn_ln.weight", e) : null,
                    config.subln() ? source.read(a + "inner_attn_ln.bias", e) : null,
                    source.read(p + "final_layer_norm.weight", e), source.read(p + "final_layer_norm.bias", e),
                    linear(source, p + "ffn.fc1", f, e), linear(source, p + "ffn.fc2", e, f),
                    config.subln() ? source.read(p + "ffn.ffn_layernorm.weight", f) : null,
                    config.subln() ? source.read(p + "ffn.ffn_layernorm.bias", f) : null, zeta);
        }
        float[] normWeight = config.normalizeBefore() ? source.read("layer_norm.weight", e) : null;
        float[] normBias = config.normalizeBefore() ? source.read("layer_norm.bias", e) : null;
        float[] out = config.shareEmbeddings() ? embedding : source.read("output_projection.weight", v, e);
        return new LongNetModel(config, embedding, positions, List.of(layers), normWeight, normBias,
                new Linear(out, null, (int) v, (int) e));
    }

    /** The tensors a model of this configuration has (the xPos scale buffers, optional, not included). */
    public static List<String> tensorNames(ModelConfig config) {
        List<String> names = new java.util.ArrayList<>();
        names.add("embed_tokens.weight");
        if (config.learnedPositions() > 0) names.add(POSITIONS);
        for (int i = 0; i < config.layers(); i++) {
            String p = "layers." + i + ".";
            for (String proj : new String[]{"q_proj", "k_proj", "v_proj", "out_proj"}) {
                names.add(p + "self_attn." + proj + ".weight");
                names.add(p + "self_attn." + proj + ".bias");
            }
            if (config.subln()) {
                names.add(p + "self_attn.inner_attn_ln.weight");
                names.add(p + "self_attn.inner_attn_ln.bias");
            }
            names.add(p + "self_attn_layer_norm.weight");
            names.add(p + "self_attn_layer_norm.bias");
            names.add(p + "ffn.fc1.weight");
            names.add(p + "ffn.fc1.bias");
            names.add(p + "ffn.fc2.weight");
            names.add(p + "ffn.fc2.bias");
            if (config.subln()) {
                names.add(p + "ffn.ffn_layernorm.weight");
                names.add(p + "ffn.ffn_layernorm.bias");
            }
            names.add(p + "final_layer_norm.weight");
            names.add(p + "final_layer_norm.bias");
        }
        if (config.normalizeBefore()) {
            names.add("layer_norm.weight");
            names.add("layer_norm.bias");
        }
        if (!config.shareEmbeddings()) names.add("output_projection.weight");
        return names;
    }

    private static Linear linear(TensorSource source, String name, long out, long in) throws IOException {
        return new Linear(source.read(name + ".weight", out, in), source.read(name + ".bias", out), (int) out, (int) in);
    }

    private static double[] toDouble(float[] x) {
        return IntStream.range(0, x.length).mapToDouble(i -> x[i]).toArray();
    }

    public ModelConfig config() { return config; }

    List<Layer> layers() { return layers; }

    float[] embedding() { return embedding; }

    /** The learned position table (fairseq's layout: position i is row padding_idx + 1 + i), or null. */
    float[] positions() { return positions; }

    float[] normWeight() { return normWeight; }

    float[] normBias() { return normBias; }

    Linear output() { return output; }

    /** Weight flops per token: the projections, the FFN and the output layer (2 per multiply-add). */
    public long weightFlopsPerToken() {
        long e = config.embedDim(), f = config.ffnDim();
        return config.layers() * (2 * 4 * e * e + 2 * 2 * e * f) + 2L * config.vocabSize() * e;
    }
}
