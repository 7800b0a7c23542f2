package dev.longnet.engine.model;

import dev.longnet.storage.DType;
import dev.longnet.storage.SafetensorsWriter;
import java.io.IOException;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.SplittableRandom;

/**
 * A randomly initialised model, as torchscale initialises one: torch's nn.Linear default (weights and biases
 * uniform in ±1/√fan_in), embedding and output projection normal with σ = dim^-1/2, layer norms 1 and 0, then
 * the sub-LN scaling: fc1, fc2, out_proj and v_proj (weights and biases) times √ln(2·layers). The random stream is
 * Java's (SplittableRandom from the seed), not torch's: the same seed gives the same model here, not in torch.
 */
public final class ModelInit {
    private ModelInit() { }

    /** The tensors, in state_dict order, with torchscale's names; xPos scale buffers included. */
    public static Map<String, TensorSource.Tensor> tensors(ModelConfig config, long seed) {
        SplittableRandom random = new SplittableRandom(seed);
        int v = config.vocabSize(), e = config.embedDim(), f = config.ffnDim();
        double subln = config.subln() ? Math.sqrt(Math.log(config.layers() * 2.0)) : 1;
        Map<String, TensorSource.Tensor> t = new LinkedHashMap<>();
        t.put("embed_tokens.weight", normal(random, v, e, Math.pow(e, -0.5)));
        if (!config.shareEmbeddings()) t.put("output_projection.weight", normal(random, v, e, Math.pow(e, -0.5)));
        for (int i = 0; i < config.layers(); i++) {
            String p = "layers." + i + ".";
            String a = p + "self_attn.";
            linear(t, random, a + "k_proj", e, e, 1);
            linear(t, random, a + "v_proj", e, e, subln);
            linear(t, random, a + "q_proj", e, e, 1);
            linear(t, random, a + "out_proj", e, e, subln);
            if (config.subln()) norm(t, a + "inner_attn_ln", e);
            if (config.xpos()) {
                double[] z = Xpos.zeta(config.headDim());
                float[] zf = new float[z.length];
                for (int j = 0; j < z.length; j++) zf[j] = (float) z[j];
                t.put(a + "xpos.scale", new TensorSource.Tensor(new long[]{zf.length}, zf));
            }
            norm(t, p + "self_attn_layer_norm", e);
            linear(t, random, p + "ffn.fc1", f, e, subln);
            linear(t, random, p + "ffn.fc2", e, f, subln);
            if (config.subln()) norm(t, p + "ffn.ffn_layernorm", f);
            norm(t, p + "final_layer_norm", e);
        }
        if (config.normalizeBefore()) norm(t, "layer_norm", e);
        if (config.learnedPositions() > 0) {                   // fairseq: normal, σ = dim^-1/2, padding row zero
            TensorSource.Tensor positions = normal(random, Math.toIntExact(config.positionRows()), e, Math.pow(e, -0.5));
            java.util.Arrays.fill(positions.values(), config.paddingIdx() * e, (config.paddingIdx() + 1) * e, 0f);
            t.put(LongNetModel.POSITIONS, positions);
        }
        return t;
    }

    /** Writes tensors and config to a safetensors file (atomically), every tensor as dtype. */
    public static void write(Path target, ModelConfig config, Map<String, TensorSource.Tensor> tensors, DType dtype)
            throws IOException {
        SafetensorsWriter writer = new SafetensorsWriter().metadata(ModelConfig.METADATA_KEY, config.toJson())
                .metadata("format", "pt");
        for (Map.Entry<String, TensorSource.Tensor> entry : tensors.entrySet()) {
            writer.tensor(entry.getKey(), dtype, entry.getValue().shape(), entry.getValue().values());
        }
        writer.write(target);
    }

    private static TensorSource.Tensor normal(SplittableRandom random, int rows, int cols, double sigma) {
        float[] x = new float[rows * cols];
        for (int i = 0; i < x.length; i++) x[i] = (float) (nextGaussian(random) * sigma);
        return new TensorSource.Tensor(new long[]{rows, cols}, x);
    }

    private static void linear(Map<String, TensorSource.Tensor> t, SplittableRandom random, String name, int out, int in,
                               double scale) {
        double bound = 1 / Math.sqrt(in);
        float[] w = new float[out * in];
        for (int i = 0; i < w.length; i++) w[i] = (float) (random.nextDouble(-bound, bound) * scale);
        float[] b = new float[out];
        for (int i = 0; i < b.length; i++) b[i] = (float) (random.nextDouble(-bound, bound) * scale);
        t.put(name + ".weight", new TensorSource.Tensor(new long[]{out, in}, w));
        t.put(name + ".bias", new TensorSource.Tensor(new long[]{out}, b));
    }

    private static void norm(Map<String, TensorSource.Tensor> t, String name, int n) {
        float[] w = new float[n];
        java.util.Arrays.fill(w, 1f);
        t.put(name + ".weight", new TensorSource.Tensor(new long[]{n}, w));
        t.put(name + ".bias", new TensorSource.Tensor(new long[]{n}, new float[n]));
    }

    private static double nextGaussian(SplittableRandom random) {
        double u = random.nextDouble();
        double w = random.nextDouble();
        return Math.sqrt(-2 * Math.log1p(-u)) * Math.cos(2 * Math.PI * w);
    }
}
