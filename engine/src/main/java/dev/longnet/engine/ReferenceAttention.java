package dev.longnet.engine;

import java.util.Arrays;

/**
 * The judge: SPEC.md's definition computed line by line, in double, with no tiling or shortcuts. Used by the tests
 * and by {@code verify}; it is O(N·w/r·d) per level and meant for small N or a few sampled rows.
 */
public final class ReferenceAttention {
    private ReferenceAttention() { }

    /** The output and each level's log-sum-exp, [level][p·H + h] (-inf where the level does not select (p, h)). */
    public record Result(double[] out, double[][] levelLse) { }

    /** Attends q, k, v of shape (n, H, d), flattened in C order. */
    public static Result attend(AttentionConfig config, int n, double[] q, double[] k, double[] v) {
        int heads = config.heads();
        int d = config.headDim();
        checkLength("q", q, (long) n * heads * d);
        checkLength("k", k, (long) n * heads * d);
        checkLength("v", v, (long) n * heads * d);
        double[] out = new double[n * heads * d];
        double[][] lse = new double[config.levels().size()][n * heads];
        double[] rowLse = new double[config.levels().size()];
        for (int p = 0; p < n; p++) {
            for (int h = 0; h < heads; h++) {
                double[] row = attendRow(config, n, RowAccess.of(q, heads, d), RowAccess.of(k, heads, d),
                        RowAccess.of(v, heads, d), p, h, rowLse);
                System.arraycopy(row, 0, out, (p * heads + h) * d, d);
                for (int i = 0; i < rowLse.length; i++) lse[i][p * heads + h] = rowLse[i];
            }
        }
        return new Result(out, lse);
    }

    /**
     * out[p, h] alone (d values), for sampled verification of large outputs. When {@code levelLse} is not null it
     * receives each level's lse for (p, h).
     */
    public static double[] attendRow(AttentionConfig config, long n, RowAccess q, RowAccess k, RowAccess v,
                                     long p, int h, double[] levelLse) {
        int d = config.headDim();
        int levels = config.levels().size();
        double[][] levelOut = new double[levels][d];
        double[] lse = levelLse != null ? levelLse : new double[levels];
        double[] qRow = q.row(p, h);
        for (int i = 0; i < levels; i++) {
            Level level = config.levels().get(i);
            lse[i] = Double.NEGATIVE_INFINITY;
            if (config.semantics() == Semantics.TORCHSCALE) {
                torchscaleLevel(config, level, n, q, k, v, p, h, levelOut[i], lse, i);
                continue;
            }
            long w = level.effectiveSegment(n);
            int r = level.dilation();
            int o = config.offset(level, h);
            long seg = p / w;
            if ((p - seg * w) % r != o) continue;                  // (p, h) not selected at this level
            long first = seg * w + o;
            long end = config.causal() ? Math.min(p + 1, (seg + 1) * w) : Math.min(n, (seg + 1) * w);
            // Stable log-sum-exp: the maximum score first, then the shifted sum.
            double max = Double.NEGATIVE_INFINITY;
            for (long key = first; key < end; key += r) max = Math.max(max, dot(qRow, k.row(key, h)) * config.scale());
            double sum = 0;
            double[] acc = levelOut[i];
            for (long key = first; key < end; key += r) {
                double e = Math.exp(dot(qRow, k.row(key, h)) * config.scale() - max);
                sum += e;
                double[] vRow = v.row(key, h);
                for (int c = 0; c < d; c++) acc[c] += e * vRow[c];
            }
            for (int c = 0; c < d; c++) acc[c] /= sum;
            lse[i] = max + Math.log(sum);
        }
        return combine(levelOut, lse, d);
    }

    /**
     * One level under SPEC.md's torchscale semantics, straight from its padded layout: sl = min(w, N) input rows per
     * segment, each segment zero-padded to g = ceil(sl/r)·r rows; padded position p' = s·g + u holds input row
     * s·sl + u when u < sl and that row exists, else a zero row; output p is padded position p. The level attends
     * padded positions of the same segment and phase (and p'' <= p' when causal), zero rows included (score 0,
     * value 0). A level whose only key is one zero row is absent (torchscale masks its lse of exactly 0).
     */
    private static void torchscaleLevel(AttentionConfig config, Level level, long n, RowAccess q, RowAccess k,
                                        RowAccess v, long p, int h, double[] acc, double[] lse, int i) {
        int d = config.headDim();
        long sl = level.effectiveSegment(n);
        int r = level.dilation();
        long g = Math.ceilDiv(sl, r) * r;
        int o = config.offset(level, h);
        long s = p / g;
        long u = p - s * g;
        if (u % r != o) return;                                        // (p, h) not selected at this level
        double[] zero = new double[d];
        double[] qRow = u < sl ? q.row(s * sl + u, h) : zero;         // s·sl + u < N always holds here
        long end = config.causal() ? u + 1 : g;
        int keys = 0;
        int zeroKeys = 0;
        double max = Double.NEGATIVE_INFINITY;
        for (long key = o; key < end; key += r) {
            boolean real = key < sl && s * sl + key < n;
            max = Math.max(max, real ? dot(qRow, k.row(s * sl + key, h)) * config.scale() : 0.0);
            keys++;
            if (!real) zeroKeys++;
        }
        if (keys == 1 && zeroKeys == 1) return;                       // lse exactly 0 from one zero key: masked
        double sum = 0;
        for (long key = o; key < end; key += r) {
            boolean real = key < sl && s * sl + key < n;
            double e = Math.exp((real ? dot(qRow, k.row(s * sl + key, h)) * config.scale() : 0.0) - max);
            sum += e;
            if (!real) continue;
            double[] vRow = v.row(s * sl + key, h);
            for (int c = 0; c < d; c++) acc[c] += e * vRow[c];
        }
        for (int c = 0; c < d; c++) acc[c] /= sum;
        lse[i] = max + Math.log(sum);
    }

    /** Random access to q, k or v rows as doubles: row(p, h) is the d values of position p, head h. */
    @FunctionalInterface
    public interface RowAccess {
        double[] row(long position, int head);

        static RowAccess of(double[] data, int heads, int d) {
            return (p, h) -> Arrays.copyOfRange(data, (int) ((p * heads + h) * d), (int) ((p * heads + h) * d + d));
        }
    }

    /** SPEC.md Eq. 9-10: weights by softmax of the levels' lse; all -inf gives zeros. */
    private static double[] combine(double[][] levelOut, double[] levelLse, int d) {
        double max = Double.NEGATIVE_INFINITY;
        for (double l : levelLse) max = Math.max(max, l);
        double[] out = new double[d];
        if (max == Double.NEGATIVE_INFINITY) return out;
        double denominator = 0;
        for (double l : levelLse) denominator += Math.exp(l - max);
        for (int i = 0; i < levelLse.length; i++) {
            if (levelLse[i] == Double.NEGATIVE_INFINITY) continue;
            double alpha = Math.exp(levelLse[i] - max) / denominator;
            for (int c = 0; c < d; c++) out[c] += alpha * levelOut[i][c];
        }
        return out;
    }

    private static double dot(double[] a, double[] b) {
        double s = 0;
        for (int c = 0; c < a.length; c++) s += a[c] * b[c];
        return s;
    }

    private static void checkLength(String name, double[] data, long expected) {
        if (data.length != expected) {
            throw new IllegalArgumentException(name + " holds " + data.length + " values, expected " + expected);
        }
    }
}
