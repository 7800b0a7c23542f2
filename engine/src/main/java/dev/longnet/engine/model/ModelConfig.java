package dev.longnet.engine.model;

import dev.longnet.engine.AttentionConfig;
import dev.longnet.engine.HeadOffsetRule;
import dev.longnet.engine.Semantics;
import java.io.StringWriter;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import tools.jackson.core.JacksonException;
import tools.jackson.core.JsonGenerator;
import tools.jackson.core.JsonParser;
import tools.jackson.core.JsonToken;
import tools.jackson.core.ObjectReadContext;
import tools.jackson.core.ObjectWriteContext;
import tools.jackson.core.json.JsonFactory;

/**
 * The configuration of torchscale's LongNetDecoder at inference, with DecoderConfig's field names. Stored as JSON
 * under the safetensors {@code __metadata__} key {@value #METADATA_KEY}. Options that change the model in ways this
 * engine does not run (MoE, deepnorm, multiway, relative position buckets, ...) are refused by name; options that
 * only matter for training (dropout, checkpointing, ...) are accepted and ignored.
 *
 * <p>Two fields are this engine's own: {@code semantics} ("torchscale" when absent: a DecoderConfig describes a
 * torchscale model, whose weights expect torchscale's attention; "exact" for SPEC.md's operator) and
 * {@code padding_idx} (fairseq's dictionary padding index, 1 when absent), which places the rows of learned
 * positions ({@code decoder_learned_pos}, {@code max_target_positions}: fairseq's LearnedPositionalEmbedding, whose
 * position i is row padding_idx + 1 + i).
 *
 * @param learnedPositions the number of learned positions (max_target_positions), or 0 for none
 */
public record ModelConfig(int vocabSize, int embedDim, int heads, int layers, int ffnDim, long[] segmentLength,
                          int[] dilatedRatio, boolean xpos, double xposScaleBase, double layernormEps,
                          Activation activation, boolean subln, boolean noScaleEmbedding, boolean shareEmbeddings,
                          boolean normalizeBefore, int learnedPositions, int paddingIdx, Semantics semantics) {
    public static final String METADATA_KEY = "longnet_config";

    /** The activations torchscale's FeedForwardNetwork knows. */
    public enum Activation { GELU, RELU, SWISH }

    /** DecoderConfig fields that do not change inference (or only matter with an option refused elsewhere). */
    private static final Set<String> IGNORED = Set.of("dropout", "drop_path_rate", "attention_dropout",
            "activation_dropout", "moe_top1_expert", "moe_gating_use_fp32", "moe_eval_capacity_token_fraction",
            "moe_second_expert_policy", "moe_normalize_gate_prob_before_dropping", "bert_init",
            "checkpoint_activations", "fsdp", "ddp_rank", "flash_attention", "seq_parallel");

    public ModelConfig {
        require(vocabSize > 0, "vocab_size must be > 0, got " + vocabSize);
        require(embedDim > 0, "decoder_embed_dim must be > 0, got " + embedDim);
        require(heads > 0, "decoder_attention_heads must be > 0, got " + heads);
        require(embedDim % heads == 0, "decoder_embed_dim " + embedDim + " is not a multiple of decoder_attention_heads "
                + heads);
        require(layers > 0, "decoder_layers must be > 0, got " + layers);
        require(ffnDim > 0, "decoder_ffn_embed_dim must be > 0, got " + ffnDim);
        require(segmentLength != null && dilatedRatio != null && segmentLength.length > 0,
                "segment_length and dilated_ratio are needed (one entry per level)");
        require(segmentLength.length == dilatedRatio.length, "segment_length " + Arrays.toString(segmentLength)
                + " and dilated_ratio " + Arrays.toString(dilatedRatio) + " must have the same number of entries");
        for (int i = 0; i < segmentLength.length; i++) {
            require(segmentLength[i] > 0, "segment_length entries must be > 0, got " + segmentLength[i]);
            require(dilatedRatio[i] > 0, "dilated_ratio entries must be > 0, got " + dilatedRatio[i]);
        }
        segmentLength = segmentLength.clone();
        dilatedRatio = dilatedRatio.clone();
        require(learnedPositions >= 0, "max_target_positions must be >= 0, got " + learnedPositions);
        require(paddingIdx >= 0 && (long) learnedPositions + paddingIdx + 1 <= Integer.MAX_VALUE,
                "padding_idx must be >= 0 and fit with max_target_positions, got " + paddingIdx);
        require(semantics != null, "semantics is needed (exact or torchscale)");
        require(xposScaleBase > 0 && Double.isFinite(xposScaleBase), "xpos_scale_base must be > 0, got " + xposScaleBase);
        require(layernormEps > 0 && Double.isFinite(layernormEps), "layernorm_eps must be > 0, got " + layernormEps);
        require(activation != null, "activation_fn is needed");
        require(!xpos || (embedDim / heads) % 2 == 0, "xpos_rel_pos needs an even head dimension, got "
                + embedDim / heads);
        if (xpos) {
            try {
                Xpos.check(Xpos.zeta(embedDim / heads), xposScaleBase, segmentLength);
            } catch (ArithmeticException e) {
                throw new IllegalArgumentException("xPos: the least common multiple of segment_length "
                        + Arrays.toString(segmentLength) + " overflows");
            }
        }
        if (semantics == Semantics.TORCHSCALE) {
            for (int i = 0; i < segmentLength.length; i++) {
                require(segmentLength[i] % dilatedRatio[i] == 0, "segment_length " + segmentLength[i]
                        + " is not a multiple of its dilated_ratio " + dilatedRatio[i] + ": under torchscale's"
                        + " semantics its later segments shift, which a causal stream cannot hold in bounded memory;"
                        + " set \"semantics\": \"exact\" to run SPEC.md's operator instead");
            }
        }
    }

    public int headDim() { return embedDim / heads; }

    @Override public long[] segmentLength() { return segmentLength.clone(); }

    @Override public int[] dilatedRatio() { return dilatedRatio.clone(); }

    /** The causal dilated attention of every layer: torchscale's head grouping and softmax scale 1/sqrt(d). */
    public AttentionConfig attention() {
        return AttentionConfig.builder().levels(segmentLength, dilatedRatio).heads(heads).headDim(headDim())
                .causal(true).offsetRule(HeadOffsetRule.TORCHSCALE).semantics(semantics).build();
    }

    /** Parameters with the output projection counted once when it is tied to the embedding. */
    public long parameterCount() {
        long e = embedDim;
        long f = ffnDim;
        long perLayer = 4 * (e * e + e) + 2 * e                        // q, k, v, out_proj; self_attn_layer_norm
                + (e * f + f) + (f * e + e) + 2 * e                    // fc1, fc2, final_layer_norm
                + (subln ? 2 * e + 2 * f : 0);                         // inner_attn_ln, ffn_layernorm
        long total = (long) vocabSize * e + layers * perLayer + (normalizeBefore ? 2 * e : 0)
                + (learnedPositions > 0 ? positionRows() * e : 0);
        return shareEmbeddings ? total : total + (long) vocabSize * e;
    }

    /** Rows of the learned position table: fairseq's max_target_positions + padding_idx + 1. */
    public long positionRows() { return learnedPositions == 0 ? 0 : (long) learnedPositions + paddingIdx + 1; }

    /**
     * A configuration with DecoderConfig's defaults for everything but the shape, no learned positions, and
     * torchscale's semantics.
     */
    public static ModelConfig of(int vocab, int dim, int heads, int layers, int ffn, long[] segments, int[] dilations,
                                 boolean xpos) {
        return new ModelConfig(vocab, dim, heads, layers, ffn, segments, dilations, xpos, 512, 1e-5, Activation.GELU,
                true, true, false, true, 0, 1, Semantics.TORCHSCALE);
    }

    /** This configuration with another semantics. */
    public ModelConfig withSemantics(Semantics s) {
        return new ModelConfig(vocabSize, embedDim, heads, layers, ffnDim, segmentLength, dilatedRatio, xpos,
                xposScaleBase, layernormEps, activation, subln, noScaleEmbedding, shareEmbeddings, normalizeBefore,
                learnedPositions, paddingIdx, s);
    }

    /** This configuration with {@code n} learned positions (fairseq's layout, padding index {@code padding}). */
    public ModelConfig withLearnedPositions(int n, int padding) {
        return new ModelConfig(vocabSize, embedDim, heads, layers, ffnDim, segmentLength, dilatedRatio, xpos,
                xposScaleBase, layernormEps, activation, subln, noScaleEmbedding, shareEmbeddings, normalizeBefore,
                n, padding, semantics);
    }

    /** Parses the JSON of {@value #METADATA_KEY}; errors name the field. */
    public static ModelConfig parse(String json) {
        Builder b = new Builder();
        try (JsonParser p = new JsonFactory().createParser(ObjectReadContext.empty(), json)) {
            if (p.nextToken() != JsonToken.START_OBJECT) throw new IllegalArgumentException("not a JSON object");
            for (String name = p.nextName(); name != null; name = p.nextName()) {
                JsonToken t = p.nextToken();
                b.set(name, t, p);
            }
            if (p.nextToken() != null) throw new IllegalArgumentException("text after the JSON object");
        } catch (JacksonException e) {
            throw new IllegalArgumentException("not valid JSON: " + e.getOriginalMessage());
        }
        return b.build();
    }

    /** The JSON of {@value #METADATA_KEY}, with DecoderConfig's field names. */
    public String toJson() {
        StringWriter out = new StringWriter();
        try (JsonGenerator g = new JsonFactory().createGenerator(ObjectWriteContext.empty(), out)) {
            g.writeStartObject();
            g.writeNumberProperty("vocab_size", vocabSize);
            g.writeNumberProperty("decoder_embed_dim", embedDim);
            g.writeNumberProperty("decoder_attention_heads", heads);
            g.writeNumberProperty("decoder_layers", layers);
            g.writeNumberProperty("decoder_ffn_embed_dim", ffnDim);
            g.writeName("segment_length");
            g.writeStartArray();
            for (long w : segmentLength) g.writeNumber(w);
            g.writeEndArray();
            g.writeName("dilated_ratio");
            g.writeStartArray();
            for (int r : dilatedRatio) g.writeNumber(r);
            g.writeEndArray();
            g.writeBooleanProperty("xpos_rel_pos", xpos);
            g.writeNumberProperty("xpos_scale_base", xposScaleBase);
            g.writeNumberProperty("layernorm_eps", layernormEps);
            g.writeStringProperty("activation_fn", activation.name().toLowerCase(Locale.ROOT));
            g.writeBooleanProperty("subln", subln);
            g.writeBooleanProperty("no_scale_embedding", noScaleEmbedding);
            g.writeBooleanProperty("share_decoder_input_output_embed", shareEmbeddings);
            g.writeBooleanProperty("decoder_normalize_before", normalizeBefore);
            if (learnedPositions > 0) {
                g.writeBooleanProperty("decoder_learned_pos", true);
                g.writeNumberProperty("max_target_positions", learnedPositions);
                g.writeNumberProperty("padding_idx", paddingIdx);
            }
            g.writeStringProperty("semantics", semantics.name().toLowerCase(Locale.ROOT));
            g.writeEndObject();
        }
        return out.toString();
    }

    @Override
    public String toString() {
        return "vocab=" + vocabSize + " dim=" + embedDim + " heads=" + heads + " layers=" + layers + " ffn=" + ffnDim
                + " segments=" + Arrays.toString(segmentLength) + " dilations=" + Arrays.toString(dilatedRatio)
                + " xpos=" + xpos + (xpos ? "(base " + xposScaleBase + ")" : "") + " activation="
                + activation.name().toLowerCase(Locale.ROOT) + " subln=" + subln + " tied=" + shareEmbeddings
                + (learnedPositions > 0 ? " learned positions=" + learnedPositions : "") + " semantics="
                + semantics.name().toLowerCase(Locale.ROOT);
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof ModelConfig c && toJson().equals(c.toJson());
    }

    @Override
    public int hashCode() { return toJson().hashCode(); }

    private static void require(boolean ok, String message) {
        if (!ok) throw new IllegalArgumentException(message);
    }

    /** DecoderConfig's defaults, overwritten field by field from JSON. */
    private static final class Builder {
        int vocab = -1, dim = 768, heads = 12, layers = 12, ffn = 3072;
        long[] segments;
        int[] dilations;
        boolean xpos, subln = true, noScale = true, share, normalizeBefore = true, learned;
        int maxPositions = 1024, paddingIdx = 1;
        Semantics semantics = Semantics.TORCHSCALE;
        double scaleBase = 512, eps = 1e-5;
        Activation activation = Activation.GELU;

        void set(String name, JsonToken t, JsonParser p) {
            switch (name) {
                case "vocab_size" -> vocab = integer(name, t, p);
                case "decoder_embed_dim" -> dim = integer(name, t, p);
                case "decoder_attention_heads" -> heads = integer(name, t, p);
                case "decoder_layers" -> layers = integer(name, t, p);
                case "decoder_ffn_embed_dim" -> ffn = integer(name, t, p);
                case "segment_length" -> segments = longs(name, t, p);
                case "dilated_ratio" -> dilations = Arrays.stream(longs(name, t, p)).mapToInt(v -> (int) Math.min(v, Integer.MAX_VALUE)).toArray();
                case "xpos_rel_pos" -> xpos = bool(name, t, p);
                case "xpos_scale_base" -> scaleBase = number(name, t, p);
                case "layernorm_eps" -> eps = number(name, t, p);
                case "activation_fn" -> activation = activation(string(name, t, p));
                case "subln" -> subln = bool(name, t, p);
                case "no_scale_embedding" -> noScale = bool(name, t, p);
                case "share_decoder_input_output_embed" -> share = bool(name, t, p);
                case "decoder_normalize_before" -> normalizeBefore = bool(name, t, p);
                case "decoder_learned_pos" -> learned = bool(name, t, p);
                case "max_target_positions" -> maxPositions = integer(name, t, p);
                case "padding_idx" -> paddingIdx = integer(name, t, p);
                case "semantics" -> semantics = Semantics.parse(string(name, t, p));
                case "deepnorm", "multiway", "layernorm_embedding", "use_xmoe", "no_output_layer" -> {
                    if (t != JsonToken.VALUE_NULL && bool(name, t, p)) unsupported(name + "=true");
                }
                case "moe_freq", "moe_expert_count", "rel_pos_buckets", "max_rel_pos" -> {
                    if (t != JsonToken.VALUE_NULL && integer(name, t, p) != 0) unsupported(name + "=" + p.getString());
                }
                default -> {
                    if (!IGNORED.contains(name)) {
                        throw new IllegalArgumentException("unknown option \"" + name + "\" (not a field of "
                                + "torchscale's DecoderConfig)");
                    }
                    p.skipChildren();
                }
            }
        }

        ModelConfig build() {
            if (learned && maxPositions <= 0) {
                throw new IllegalArgumentException("decoder_learned_pos needs max_target_positions > 0, got " + maxPositions);
            }
            return new ModelConfig(vocab, dim, heads, layers, ffn, segments, dilations, xpos, scaleBase, eps,
                    activation, subln, noScale, share, normalizeBefore, learned ? maxPositions : 0, paddingIdx,
                    semantics);
        }

        private static void unsupported(String what) {
            throw new IllegalArgumentException(what + " is not supported (this LongNet has no MoE, deepnorm, multiway,"
                    + " relative position buckets, embedding layernorm or missing output layer)");
        }

        private static Activation activation(String name) {
            return switch (name) {
                case "gelu" -> Activation.GELU;
                case "relu" -> Activation.RELU;
                case "swish" -> Activation.SWISH;
                default -> throw new IllegalArgumentException("activation_fn \"" + name + "\" is not one of gelu, relu, swish");
            };
        }

        private static int integer(String name, JsonToken t, JsonParser p) {
            if (t != JsonToken.VALUE_NUMBER_INT) throw type(name, "an integer", p);
            long v = p.getLongValue();
            if (v < Integer.MIN_VALUE || v > Integer.MAX_VALUE) throw type(name, "an int", p);
            return (int) v;
        }

        private static double number(String name, JsonToken t, JsonParser p) {
            if (t != JsonToken.VALUE_NUMBER_INT && t != JsonToken.VALUE_NUMBER_FLOAT) throw type(name, "a number", p);
            return p.getDoubleValue();
        }

        private static boolean bool(String name, JsonToken t, JsonParser p) {
            if (t == JsonToken.VALUE_TRUE) return true;
            if (t == JsonToken.VALUE_FALSE) return false;
            throw type(name, "true or false", p);
        }

        private static String string(String name, JsonToken t, JsonParser p) {
            if (t != JsonToken.VALUE_STRING) throw type(name, "a string", p);
            return p.getString();
        }

        /** A JSON array of integers, or torchscale's own form: a string holding a Python list ("[2048, 4096]"). */
        private static long[] longs(String name, JsonToken t, JsonParser p) {
            List<Long> values = new ArrayList<>();
            if (t == JsonToken.VALUE_STRING) {
                String text = p.getString().trim();
                if (!text.matches("\\[\\s*\\d+(\\s*,\\s*\\d+)*\\s*,?\\s*]")) {
                    throw new IllegalArgumentException("field \"" + name + "\" must be a list of integers, got \"" + text + "\"");
                }
                for (String part : text.substring(1, text.length() - 1).split(",")) {
                    if (!part.isBlank()) values.add(Long.parseLong(part.trim()));
                }
            } else if (t == JsonToken.START_ARRAY) {
                for (JsonToken e = p.nextToken(); e != JsonToken.END_ARRAY; e = p.nextToken()) {
                    if (e != JsonToken.VALUE_NUMBER_INT) throw type(name, "a list of integers", p);
                    values.add(p.getLongValue());
                }
            } else {
                throw type(name, "a list of integers", p);
            }
            return values.stream().mapToLong(Long::longValue).toArray();
        }

        private static IllegalArgumentException type(String name, String expected, JsonParser p) {
            return new IllegalArgumentException("field \"" + name + "\" must be " + expected + ", got " + p.getString());
        }
    }
}
