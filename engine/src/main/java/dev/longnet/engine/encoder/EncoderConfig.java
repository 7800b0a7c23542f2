package dev.longnet.engine.encoder;

import dev.longnet.engine.AttentionConfig;
import dev.longnet.engine.Level;
import dev.longnet.engine.Semantics;
import java.util.List;
import java.util.stream.Collectors;

/**
 * torchscale's LongNetEncoder as it runs at inference with EncoderConfig's defaults: pre-LN layers with sub-LN
 * (inner_attn_ln, ffn_layernorm), erf gelu, layer norms of eps 1e-5, no embedding scale, no xPos, bidirectional
 * dilated attention of scale 1/√d with torchscale's head grouping, and the final layer_norm when the checkpoint
 * has one.
 *
 * @param finalNorm whether the encoder ends with layer_norm (torchscale's normalize_output)
 */
public record EncoderConfig(int dim, int layers, int heads, int ffnDim, List<Level> levels, Semantics semantics,
                            boolean finalNorm) {
    /** torchscale's layernorm_eps. */
    public static final double LAYER_NORM_EPS = 1e-5;

    public EncoderConfig {
        if (dim < 1 || layers < 0 || heads < 1 || ffnDim < 1) {
            throw new IllegalArgumentException("encoder dim " + dim + ", layers " + layers + ", heads " + heads
                    + ", ffn " + ffnDim + ": all must be positive");
        }
        if (dim % heads != 0) throw new IllegalArgumentException("encoder dim " + dim + " is not a multiple of " + heads + " heads");
        levels = List.copyOf(levels);
        if (levels.isEmpty()) throw new IllegalArgumentException("at least one level is needed");
        if (semantics == null) semantics = Semantics.TORCHSCALE;
    }

    public int headDim() { return dim / heads; }

    /** The layers' attention: bidirectional, torchscale's head offsets, scale 1/√d. */
    public AttentionConfig attention() {
        return AttentionConfig.builder().levels(levels).heads(heads).headDim(headDim()).causal(false)
                .semantics(semantics).build();
    }

    /** Weight flops per token (2 per multiply-add): q, k, v, out and the two FFN layers. */
    public long weightFlopsPerToken() { return (long) layers * (8L * dim * dim + 4L * dim * ffnDim); }

    @Override
    public String toString() {
        return "dim " + dim + ", " + layers + " layers, " + heads + " heads, ffn " + ffnDim + ", segments "
                + levels.stream().map(l -> Long.toString(l.segmentLength())).collect(Collectors.joining(","))
                + ", dilations " + levels.stream().map(l -> Integer.toString(l.dilation())).collect(Collectors.joining(","))
                + ", semantics " + semantics.name().toLowerCase(java.util.Locale.ROOT);
    }
}
