package dev.longnet.engine.encoder;

import dev.longnet.engine.model.Linear;
import dev.longnet.engine.model.TensorSource;
import java.io.IOException;
import java.util.List;

/** One encoder layer's weights, packed for the kernels; loaded for its turn and dropped after it. */
record EncoderLayer(float[] attnLnW, float[] attnLnB, Linear q, Linear k, Linear v, float[] innerLnW,
                    float[] innerLnB, Linear out, float[] ffnInLnW, float[] ffnInLnB, Linear fc1, float[] ffnLnW,
                    float[] ffnLnB, Linear fc2) {

    /** The tensor names of layer i under prefix (e.g. "encoder." for GigaPath). */
    static List<String> names(String prefix, int i) {
        String p = prefix + "layers." + i + ".";
        List<String> names = new java.util.ArrayList<>();
        for (String m : new String[]{"self_attn.q_proj", "self_attn.k_proj", "self_attn.v_proj", "self_attn.out_proj",
                "self_attn.inner_attn_ln", "self_attn_layer_norm", "ffn.fc1", "ffn.fc2", "ffn.ffn_layernorm",
                "final_layer_norm"}) {
            names.add(p + m + ".weight");
            names.add(p + m + ".bias");
        }
        return names;
    }

    /**
     * Layer i's weights; {@code spent} (or null) is the layer whose turn is over, whose arrays are reused (it must
     * not be used again).
     */
    static EncoderLayer load(TensorSource s, String prefix, int i, EncoderConfig c, EncoderLayer spent)
            throws IOException {
        String p = prefix + "layers." + i + ".";
        int e = c.dim(), f = c.ffnDim();
        boolean reuse = spent != null;
        return new EncoderLayer(s.read(p + "self_attn_layer_norm.weight", e), s.read(p + "self_attn_layer_norm.bias", e),
                linear(s, p + "self_attn.q_proj", e, e, reuse ? spent.q() : null),
                linear(s, p + "self_attn.k_proj", e, e, reuse ? spent.k() : null),
                linear(s, p + "self_attn.v_proj", e, e, reuse ? spent.v() : null),
                s.read(p + "self_attn.inner_attn_ln.weight", e), s.read(p + "self_attn.inner_attn_ln.bias", e),
                linear(s, p + "self_attn.out_proj", e, e, reuse ? spent.out() : null),
                s.read(p + "final_layer_norm.weight", e), s.read(p + "final_layer_norm.bias", e),
                linear(s, p + "ffn.fc1", f, e, reuse ? spent.fc1() : null),
                s.read(p + "ffn.ffn_layernorm.weight", f), s.read(p + "ffn.ffn_layernorm.bias", f),
                linear(s, p + "ffn.fc2", e, f, reuse ? spent.fc2() : null));
    }

    static Linear linear(TensorSource s, String name, int out, int in, Linear spent) throws IOException {
        return new Linear(s.read(name + ".weight", out, in), s.read(name + ".bias", out), out, in, spent);
    }
}
