package dev.longnet.engine.encoder;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.longnet.engine.AttentionConfig;
import dev.longnet.engine.ReferenceAttention;
import dev.longnet.engine.Semantics;
import dev.longnet.engine.model.TensorSource;
import dev.longnet.storage.DType;
import dev.longnet.storage.NpyFile;
import dev.longnet.storage.RowWindow;
import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Two encoder layers and the final norm against the same math in double (exact semantics, N not a multiple of any segment). */
class EncoderReferenceTest {
    static final int DIM = 16, HEADS = 4, FFN = 40, LAYERS = 2, N = 37;

    @TempDir
    Path tmp;

    final Random random = new Random(11);
    final Map<String, TensorSource.Tensor> tensors = new HashMap<>();

    float[] put(String name, double scale, double offset, long... shape) {
        int count = 1;
        for (long s : shape) count *= (int) s;
        float[] v = new float[count];
        for (int i = 0; i < count; i++) v[i] = (float) (offset + scale * random.nextGaussian());
        tensors.put(name, new TensorSource.Tensor(shape, v));
        return v;
    }

    @Test
    void layersMatchADoubleReference() throws IOException {
        EncoderConfig config = new EncoderConfig(DIM, LAYERS, HEADS, FFN,
                AttentionConfig.levels(new long[]{8, 16, 32}, new int[]{1, 2, 4}), Semantics.EXACT, true);
        for (String name : LongNetEncoder.tensorNames(config, "")) {
            boolean norm = name.contains("layer_norm") || name.contains("_ln") || name.contains("layernorm");
            boolean weight = name.endsWith(".weight");
            long out = name.contains("fc1") || name.contains("ffn_layernorm") ? FFN : DIM;
            long in = name.contains("fc2") ? FFN : DIM;
            if (norm) put(name, 0.1, weight ? 1 : 0, out);
            else if (weight) put(name, 1 / Math.sqrt(in), 0, out, in);
            else put(name, 0.1, 0, out);
        }
        float[] x0 = new float[N * DIM];
        for (int i = 0; i < x0.length; i++) x0[i] = (float) random.nextGaussian();

        double[] x = new double[x0.length];
        for (int i = 0; i < x.length; i++) x[i] = x0[i];
        AttentionConfig att = config.attention();
        for (int l = 0; l < LAYERS; l++) {
            String p = "layers." + l + ".";
            double[] h = ln(x, N, DIM, p + "self_attn_layer_norm", 1e-5);
            double[] q = lin(h, N, p + "self_attn.q_proj", DIM, DIM);
            double[] k = lin(h, N, p + "self_attn.k_proj", DIM, DIM);
            double[] v = lin(h, N, p + "self_attn.v_proj", DIM, DIM);
            double[] a = ReferenceAttention.attend(att, N, q, k, v).out();
            double[] o = lin(ln(a, N, DIM, p + "self_attn.inner_attn_ln", 1e-5), N, p + "self_attn.out_proj", DIM, DIM);
            for (int i = 0; i < x.length; i++) x[i] += o[i];
            double[] f = lin(ln(x, N, DIM, p + "final_layer_norm", 1e-5), N, p + "ffn.fc1", FFN, DIM);
            for (int i = 0; i < f.length; i++) f[i] = 0.5 * f[i] * (1 + erf(f[i] / Math.sqrt(2)));
            double[] g = lin(ln(f, N, FFN, p + "ffn.ffn_layernorm", 1e-5), N, p + "ffn.fc2", DIM, FFN);
            for (int i = 0; i < x.length; i++) x[i] += g[i];
        }
        double[] expected = ln(x, N, DIM, "layer_norm", 1e-5);

        float[] got = new float[N * DIM];
        try (NpyFile file = NpyFile.create(tmp.resolve("x.npy"), DType.F32, N, DIM);
             LongNetEncoder enc = new LongNetEncoder(config, TensorSource.of(tensors), "", new LongNetEncoder.Options(2, 10, 1 << 20))) {
            try (RowWindow w = file.window(0, N)) {
                MemorySegment.copy(x0, 0, w.segment(), RowChunks.FLOAT, 0, x0.length);
            }
            enc.run(file, tmp, (i, s) -> { }, LongNetEncoder.Progress.NONE);
            try (RowWindow w = file.window(0, N)) {
                MemorySegment.copy(w.segment(), RowChunks.FLOAT, 0, got, 0, got.length);
            }
            enc.finalNorm(got, N);
            LongNetEncoder.Timings t = enc.timings();
            assertEquals(config.weightFlopsPerToken() * N, t.linearFlops(), "every linear layer's flops are counted once");
            assertTrue(t.linearSeconds() > 0 && t.linearSeconds() <= t.rowSeconds(), t.toString());
        }
        double worst = 0;
        for (int i = 0; i < got.length; i++) worst = Math.max(worst, Math.abs(got[i] - expected[i]));
        assertTrue(worst < 2e-5, "encoder differs from the double reference by " + worst);
    }

    private double[] ln(double[] x, int rows, int n, String name, double eps) {
        float[] w = tensors.get(name + ".weight").values(), b = tensors.get(name + ".bias").values();
        double[] y = new double[rows * n];
        for (int r = 0; r < rows; r++) {
            double mean = 0, var = 0;
            for (int i = 0; i < n; i++) mean += x[r * n + i];
            mean /= n;
            for (int i = 0; i < n; i++) var += (x[r * n + i] - mean) * (x[r * n + i] - mean);
            double rstd = 1 / Math.sqrt(var / n + eps);
            for (int i = 0; i < n; i++) y[r * n + i] = (x[r * n + i] - mean) * rstd * w[i] + b[i];
        }
        return y;
    }

    private double[] lin(double[] x, int rows, String name, int out, int in) {
        float[] w = tensors.get(name + ".weight").values(), b = tensors.get(name + ".bias").values();
        double[] y = new double[rows * out];
        for (int r = 0; r < rows; r++) {
            for (int o = 0; o < out; o++) {
                double s = b[o];
                for (int i = 0; i < in; i++) s += x[r * in + i] * w[o * in + i];
                y[r * out + o] = s;
            }
        }
        return y;
    }

    /** erf by its Taylor series (|x| < 4; about 1e-9 there; erf(4) = 1 - 1.5e-8), ±1 beyond. */
    static double erf(double x) {
        if (Math.abs(x) >= 4) return Math.signum(x);
        double sum = 0, term = x;
        for (int n = 0; n < 200; n++) {
            sum += term / (2 * n + 1);
            term *= -x * x / (n + 1);
        }
        return 2 / Math.sqrt(Math.PI) * sum;
    }

}
