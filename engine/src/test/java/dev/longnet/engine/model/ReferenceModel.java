package dev.longnet.engine.model;

import java.util.Map;

/**
 * torchscale's LongNetDecoder (decoder.py, dilated_attention.py, multihead_attention.py, feedforward_network.py,
 * xpos_relative_position.py) at inference, causal, written out plainly in double: the model's reference. The dilated
 * attention follows SPEC.md's definition (real positions only, torchscale's head groups); xPos is applied in the
 * form its q·k product takes, ζ^((n-m)/B)·(q · R((m-n)θ) k), so that it holds at any position.
 */
final class ReferenceModel {
    private final ModelConfig c;
    private final Map<String, TensorSource.Tensor> t;

    ReferenceModel(ModelConfig config, Map<String, TensorSource.Tensor> tensors) {
        this.c = config;
        this.t = tensors;
    }

    /** Logits [position][vocab] of every position of tokens. */
    double[][] logits(int[] tokens) {
        int n = tokens.length, e = c.embedDim();
        double[][] x = new double[n][e];
        double scale = c.noScaleEmbedding() ? 1 : Math.sqrt(e);
        float[] emb = w("embed_tokens.weight");
        for (int p = 0; p < n; p++) for (int i = 0; i < e; i++) x[p][i] = emb[tokens[p] * e + i] * scale;
        if (c.learnedPositions() > 0) {                   // fairseq: position p is row padding_idx + 1 + p
            float[] pos = w("embed_positions.weight");
            for (int p = 0; p < n; p++) for (int i = 0; i < e; i++) x[p][i] += pos[(c.paddingIdx() + 1 + p) * e + i];
        }
        for (int l = 0; l < c.layers(); l++) {
            String pre = "layers." + l + ".";
            double[][] h = c.normalizeBefore() ? ln(x, pre + "self_attn_layer_norm") : x;
            double[][] a = attention(h, pre + "self_attn.");
            if (c.subln()) a = ln(a, pre + "self_attn.inner_attn_ln");
            a = linear(a, pre + "self_attn.out_proj");
            x = add(x, a);
            if (!c.normalizeBefore()) x = ln(x, pre + "self_attn_layer_norm");
            h = c.normalizeBefore() ? ln(x, pre + "final_layer_norm") : x;
            double[][] f = linear(h, pre + "ffn.fc1");
            for (double[] row : f) for (int i = 0; i < row.length; i++) row[i] = activation(row[i]);
            if (c.subln()) f = ln(f, pre + "ffn.ffn_layernorm");
            x = add(x, linear(f, pre + "ffn.fc2"));
            if (!c.normalizeBefore()) x = ln(x, pre + "final_layer_norm");
        }
        if (c.normalizeBefore()) x = ln(x, "layer_norm");
        float[] out = w(c.shareEmbeddings() ? "embed_tokens.weight" : "output_projection.weight");
        double[][] logits = new double[n][c.vocabSize()];
        for (int p = 0; p < n; p++) {
            for (int v = 0; v < c.vocabSize(); v++) {
                double s = 0;
                for (int i = 0; i < e; i++) s += x[p][i] * out[v * e + i];
                logits[p][v] = s;
            }
        }
        return logits;
    }

    private double[][] attention(double[][] h, String prefix) {
        int n = h.length, heads = c.heads(), d = c.headDim();
        double[][] q = linear(h, prefix + "q_proj"), k = linear(h, prefix + "k_proj"), v = linear(h, prefix + "v_proj");
        double[] zeta = c.xpos() ? (t.containsKey(prefix + "xpos.scale") ? toDouble(w(prefix + "xpos.scale")) : Xpos.zeta(d)) : null;
        double[] theta = Xpos.theta(d);
        double scale = (float) (1.0 / Math.sqrt(d));
        double[][] out = new double[n][heads * d];
        for (int p = 0; p < n; p++) {
            for (int hd = 0; hd < heads; hd++) {
                // One softmax over the multiset union of every level's keys (SPEC.md), in log space.
                java.util.List<double[]> scored = new java.util.ArrayList<>();   // {score, key position}
                long[] segments = c.segmentLength();
                int[] ratios = c.dilatedRatio();
                for (int lv = 0; lv < segments.length; lv++) {
                    long wlen = segments[lv];
                    int r = ratios[lv];
                    int o = hd / ((heads + r - 1) / r);
                    long seg = p / wlen;
                    long u = p - seg * wlen;
                    if (u % r != o) continue;
                    for (long m = seg * wlen; m <= p; m++) {
                        if ((m - seg * wlen) % r != o) continue;
                        scored.add(new double[]{score(q[p], k[(int) m], hd, d, p - m, zeta, theta, c.xposScaleBase()) * scale, m});
                    }
                }
                if (scored.isEmpty()) continue;
                double max = Double.NEGATIVE_INFINITY;
                for (double[] s : scored) max = Math.max(max, s[0]);
                double z = 0;
                for (double[] s : scored) z += Math.exp(s[0] - max);
                for (double[] s : scored) {
                    double pr = Math.exp(s[0] - max) / z;
                    int m = (int) s[1];
                    for (int i = 0; i < d; i++) out[p][hd * d + i] += pr * v[m][hd * d + i];
                }
            }
        }
        return out;
    }

    /** q·k of one head at distance delta = n - m, with xPos when zeta is given. */
    static double score(double[] q, double[] k, int head, int d, long delta, double[] zeta, double[] theta,
                        double scaleBase) {
        int base = head * d;
        double s = 0;
        if (zeta == null) {
            for (int i = 0; i < d; i++) s += q[base + i] * k[base + i];
            return s;
        }
        for (int j = 0; j < d / 2; j++) {
            double phi = -delta * theta[j];                 // k rotated by (m - n)·θ
            double k0 = k[base + 2 * j], k1 = k[base + 2 * j + 1];
            double r0 = k0 * Math.cos(phi) - k1 * Math.sin(phi);
            double r1 = k0 * Math.sin(phi) + k1 * Math.cos(phi);
            s += Math.exp(delta * Math.log(zeta[j]) / scaleBase) * (q[base + 2 * j] * r0 + q[base + 2 * j + 1] * r1);
        }
        return s;
    }

    double activation(double x) {
        return switch (c.activation()) {
            case GELU -> 0.5 * x * (1 + erf(x / Math.sqrt(2)));
            case RELU -> Math.max(x, 0);
            case SWISH -> x / (1 + Math.exp(-x));
        };
    }

    /** erf to double precision: its Taylor series below 3, the continued fraction of erfc above. */
    static double erf(double x) {
        double z = Math.abs(x);
        double r;
        if (z < 3) {
            double term = z, sum = z;
            for (int n = 1; n < 200 && Math.abs(term) > 1e-18 * Math.abs(sum); n++) {
                term *= -z * z / n;
                sum += term / (2 * n + 1);
            }
            r = 2 / Math.sqrt(Math.PI) * sum;
        } else {
            double f = 0;                                   // erfc(z) = exp(-z²)/√π · 1/(z + 1/2/(z + 1/(z + 3/2/(z + ...))))
            for (int n = 60; n >= 1; n--) f = (n / 2.0) / (z + f);
            r = 1 - Math.exp(-z * z) / Math.sqrt(Math.PI) / (z + f);
        }
        return x < 0 ? -r : r;
    }

    private double[][] ln(double[][] x, String name) {
        float[] g = w(name + ".weight"), b = w(name + ".bias");
        double[][] y = new double[x.length][];
        for (int p = 0; p < x.length; p++) {
            int n = x[p].length;
            double mean = 0;
            for (double v : x[p]) mean += v;
            mean /= n;
            double var = 0;
            for (double v : x[p]) var += (v - mean) * (v - mean);
            var /= n;
            y[p] = new double[n];
            for (int i = 0; i < n; i++) y[p][i] = (x[p][i] - mean) / Math.sqrt(var + c.layernormEps()) * g[i] + b[i];
        }
        return y;
    }

    private double[][] linear(double[][] x, String name) {
        TensorSource.Tensor wt = t.get(name + ".weight");
        int out = (int) wt.shape()[0], in = (int) wt.shape()[1];
        float[] b = w(name + ".bias");
        double[][] y = new double[x.length][out];
        for (int p = 0; p < x.length; p++) {
            for (int o = 0; o < out; o++) {
                double s = b[o];
                for (int i = 0; i < in; i++) s += x[p][i] * wt.values()[o * in + i];
                y[p][o] = s;
            }
        }
        return y;
    }

    private static double[][] add(double[][] a, double[][] b) {
        double[][] y = new double[a.length][];
        for (int p = 0; p < a.length; p++) {
            y[p] = a[p].clone();
            for (int i = 0; i < y[p].length; i++) y[p][i] += b[p][i];
        }
        return y;
    }

    private float[] w(String name) {
        TensorSource.Tensor x = t.get(name);
        if (x == null) throw new AssertionError("no tensor " + name);
        return x.values();
    }

    private static double[] toDouble(float[] x) {
        double[] y = new double[x.length];
        for (int i = 0; i < x.length; i++) y[i] = x[i];
        return y;
    }
}
