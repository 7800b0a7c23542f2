package dev.longnet.engine.model;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.longnet.storage.DType;
import dev.longnet.storage.SafetensorsWriter;
import dev.longnet.storage.TensorFormatException;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ModelConfigTest {
    @TempDir
    Path dir;

    private static String error(String json) {
        return assertThrows(IllegalArgumentException.class, () -> ModelConfig.parse(json)).getMessage();
    }

    @Test
    void jsonRoundTripsAndReadsTorchscalesStringLists() {
        ModelConfig c = ModelConfig.of(256, 128, 4, 2, 512, new long[]{2048, 4096}, new int[]{1, 2}, true);
        assertEquals(c, ModelConfig.parse(c.toJson()));
        ModelConfig t = ModelConfig.parse("{\"vocab_size\": 256, \"decoder_embed_dim\": 128, \"decoder_attention_heads\": 4,"
                + " \"decoder_layers\": 2, \"decoder_ffn_embed_dim\": 512, \"segment_length\": \"[2048, 4096]\","
                + " \"dilated_ratio\": \"[1,2]\", \"xpos_rel_pos\": true, \"dropout\": 0.1, \"flash_attention\": true,"
                + " \"deepnorm\": false, \"moe_freq\": 0}");
        assertEquals(c, t);
        assertArrayEquals(new long[]{2048, 4096}, t.segmentLength());
        assertEquals(1e-5, t.layernormEps());
        assertTrue(t.subln() && t.noScaleEmbedding() && t.normalizeBefore() && !t.shareEmbeddings());
    }

    @Test
    void badConfigurationsAreNamed() {
        String base = "\"vocab_size\": 256, \"decoder_embed_dim\": 128, \"decoder_attention_heads\": 4, \"decoder_layers\": 2,"
                + " \"decoder_ffn_embed_dim\": 512, \"segment_length\": [16], \"dilated_ratio\": [1]";
        assertTrue(error("{" + base + ", \"deepnorm\": true}").contains("deepnorm=true is not supported"));
        assertTrue(error("{" + base + ", \"moe_freq\": 2}").contains("moe_freq=2 is not supported"));
        assertTrue(error("{" + base + ", \"multiway\": true}").contains("multiway=true"));
        assertTrue(error("{" + base + ", \"rel_pos_buckets\": 32}").contains("rel_pos_buckets=32"));
        assertTrue(error("{" + base + ", \"colour\": 1}").contains("unknown option \"colour\""));
        assertTrue(error("{" + base + ", \"activation_fn\": \"tanh\"}").contains("activation_fn \"tanh\""));
        assertTrue(error("{" + base + ", \"decoder_layers\": \"two\"}").contains("field \"decoder_layers\" must be an integer"));
        assertTrue(error("{" + base.replace("[16]", "[16, 32]") + "}").contains("same number of entries"));
        assertTrue(error("{" + base.replace("\"decoder_attention_heads\": 4", "\"decoder_attention_heads\": 5") + "}")
                .contains("not a multiple of decoder_attention_heads 5"));
        assertTrue(error("{" + base).contains("not valid JSON"));
        assertTrue(error("{" + base.replace("[16]", "[2048, 32768]").replace("[1]", "[1, 12]") + ", \"xpos_rel_pos\": true}")
                .contains("xPos over segments [2048, 32768] needs factors up to e^40.1"));
        assertTrue(error("[1]").contains("not a JSON object"));
    }

    private Path write(ModelConfig config, Map<String, TensorSource.Tensor> tensors) throws Exception {
        Path file = dir.resolve("m.safetensors");
        ModelInit.write(file, config, tensors, DType.F32);
        return file;
    }

    @Test
    void weightsThatDisagreeWithTheConfigurationAreNamed() throws Exception {
        ModelConfig c = ModelConfig.of(50, 16, 2, 2, 24, new long[]{8}, new int[]{1}, false);
        Map<String, TensorSource.Tensor> good = ModelInit.tensors(c, 1);
        ModelFile.load(write(c, good));                                    // loads

        Map<String, TensorSource.Tensor> missing = new LinkedHashMap<>(good);
        missing.remove("layers.1.ffn.fc2.bias");
        var e = assertThrows(TensorFormatException.class, () -> ModelFile.load(write(c, missing)));
        assertTrue(e.getMessage().contains("missing tensor \"layers.1.ffn.fc2.bias\""), e.getMessage());

        Map<String, TensorSource.Tensor> misshaped = new LinkedHashMap<>(good);
        misshaped.put("layers.0.self_attn.q_proj.weight", new TensorSource.Tensor(new long[]{16, 15}, new float[240]));
        e = assertThrows(TensorFormatException.class, () -> ModelFile.load(write(c, misshaped)));
        assertTrue(e.getMessage().contains("\"layers.0.self_attn.q_proj.weight\" has shape [16, 15], expected [16, 16]"), e.getMessage());

        ModelConfig fewer = ModelConfig.of(50, 16, 2, 1, 24, new long[]{8}, new int[]{1}, false);
        e = assertThrows(TensorFormatException.class, () -> {
            Path file = dir.resolve("fewer.safetensors");
            ModelInit.write(file, fewer, good, DType.F32);
            ModelFile.load(file);
        });
        assertTrue(e.getMessage().contains("tensor \"layers.1."), e.getMessage());
        assertTrue(e.getMessage().contains("has no place in the configuration"), e.getMessage());

        Path bare = dir.resolve("bare.safetensors");
        new SafetensorsWriter().tensor("x", DType.F32, new long[]{1}, new float[1]).write(bare);
        e = assertThrows(TensorFormatException.class, () -> ModelFile.load(bare));
        assertTrue(e.getMessage().contains("no model configuration"), e.getMessage());
    }

    @Test
    void narrowWeightsLoadAsStored() throws Exception {
        ModelConfig c = ModelConfig.of(30, 16, 2, 1, 24, new long[]{8}, new int[]{1}, true);
        Map<String, TensorSource.Tensor> t = ModelInit.tensors(c, 2);
        for (DType type : new DType[]{DType.F16, DType.BF16}) {
            Path file = dir.resolve(type + ".safetensors");
            ModelInit.write(file, c, t, type);
            LongNetModel m = ModelFile.load(file);
            assertEquals(c, m.config());
        }
    }

    @Test
    void initialisationFollowsTorchscale() {
        ModelConfig c = ModelConfig.of(40, 64, 4, 3, 128, new long[]{8}, new int[]{1}, true);
        Map<String, TensorSource.Tensor> t = ModelInit.tensors(c, 3);
        assertEquals(LongNetModel.tensorNames(c).size() + c.layers(), t.size());   // plus the xPos buffers
        double subln = Math.sqrt(Math.log(6));
        assertEquals(subln / 8, maxAbs(t.get("layers.0.ffn.fc1.weight")), 0.01 * subln / 8);    // U(±1/√64)·√ln 6
        assertEquals(subln / Math.sqrt(128), maxAbs(t.get("layers.2.ffn.fc2.weight")), 0.01);
        assertEquals(1.0 / 8, maxAbs(t.get("layers.1.self_attn.q_proj.weight")), 0.01 / 8);     // not scaled
        assertEquals(subln / 8, maxAbs(t.get("layers.1.self_attn.v_proj.bias")), 0.2 * subln / 8);
        assertEquals(0.125, std(t.get("embed_tokens.weight")), 0.01);                            // N(0, 1/√64)
        double[] zeta = Xpos.zeta(16);
        assertEquals((0.4 * 16) / (1.4 * 16), zeta[0], 1e-7);
        assertEquals((14 + 0.4 * 16) / (1.4 * 16), zeta[7], 1e-7);
        long count = t.values().stream().mapToLong(x -> x.values().length).sum() - c.layers() * 8L;
        assertEquals(c.parameterCount(), count);
    }

    private static double maxAbs(TensorSource.Tensor t) {
        double m = 0;
        for (float v : t.values()) m = Math.max(m, Math.abs(v));
        return m;
    }

    private static double std(TensorSource.Tensor t) {
        double s = 0;
        for (float v : t.values()) s += v * v;
        return Math.sqrt(s / t.values().length);
    }
}
