package dev.longnet.engine.model;

import java.util.Arrays;

/**
 * xPos (torchscale's XPOS): each pair (2j, 2j+1) of a head's q is rotated by n·θ_j and scaled by ζ_j^(n/B) at
 * position n, each pair of k rotated by m·θ_j and scaled by ζ_j^(-m/B), so that q'·k' = Σ_j ζ_j^((n-m)/B)
 * (q_j · R((m-n)·θ_j) k_j): the score depends only on the distance n - m.
 *
 * <p>torchscale evaluates ζ^(±n/B) in float32 at absolute n, which overflows past ~70k positions. Here every
 * position is taken relative to the centre c of its block of {@link #block} positions (the least common multiple
 * of the segment lengths): a query and a key that share a segment of any level share the block, and the common
 * factor ζ^(c/B) and rotation c·θ cancel in their product exactly. Factors then stay within ζ^(±block/2B) at any
 * position, and angles are computed in double from the distance to the centre.
 */
public final class Xpos {
    /**
     * The largest |ln factor| allowed (nats): the attention kernel bounds |q·scale| and |k| by 2^55 (e^38), so
     * factors up to e^30 leave a margin of e^8 for the values themselves.
     */
    static final double MAX_LOG_FACTOR = 30;

    private final int pairs;
    private final double[] theta;
    private final double[] logZetaOverBase;
    private final long block;
    // Per-row tables of the chunk being prepared: cos, sin, and the q and k factors.
    private double[] cos = new double[0], sin = cos, qFactor = cos, kFactor = cos;
    private long preparedFirst = -1;
    private int preparedRows;

    /**
     * @param zeta the per-pair decay ζ_j (torchscale's {@code xpos.scale} buffer), headDim/2 values
     */
    public Xpos(int headDim, double scaleBase, double[] zeta, long[] segmentLengths) {
        if (headDim % 2 != 0) throw new IllegalArgumentException("xPos needs an even head dimension, got " + headDim);
        pairs = headDim / 2;
        if (zeta.length != pairs) throw new IllegalArgumentException("xPos scale has " + zeta.length + " values, expected " + pairs);
        theta = theta(headDim);
        logZetaOverBase = new double[pairs];
        block = block(segmentLengths);
        for (int j = 0; j < pairs; j++) {
            if (!(zeta[j] > 0) || Double.isInfinite(zeta[j])) {
                throw new IllegalArgumentException("xPos scale value " + j + " must be positive and finite, got " + zeta[j]);
            }
            logZetaOverBase[j] = Math.log(zeta[j]) / scaleBase;
        }
        check(zeta, scaleBase, segmentLengths);
    }

    /** Refuses segment lengths whose block needs factors beyond e^{@value #MAX_LOG_FACTOR}. */
    static void check(double[] zeta, double scaleBase, long[] segmentLengths) {
        long block = block(segmentLengths);
        double worst = 0;
        for (double z : zeta) worst = Math.max(worst, Math.abs(Math.log(z) / scaleBase) * (block / 2.0));
        if (worst > MAX_LOG_FACTOR) {
            throw new IllegalArgumentException(String.format(java.util.Locale.ROOT, "xPos over segments %s needs factors"
                    + " up to e^%.1f within a block of %d positions (their least common multiple), beyond the float"
                    + " range the attention kernel keeps exact (e^%.0f): use shorter segments or a larger"
                    + " xpos_scale_base", Arrays.toString(segmentLengths), worst, block, MAX_LOG_FACTOR));
        }
    }

    /** torchscale's ζ_j = (2j + 0.4·d) / (1.4·d), evaluated in float32 as torch does. */
    public static double[] zeta(int headDim) {
        double[] z = new double[headDim / 2];
        for (int j = 0; j < z.length; j++) z[j] = ((float) (2 * j) + (float) (0.4 * headDim)) / (float) (1.4 * headDim);
        return z;
    }

    /** torchscale's rotation frequencies θ_j = 1 / 10000^(j / (d/2)), evaluated in float32 as torch does. */
    public static double[] theta(int headDim) {
        int half = headDim / 2;
        double[] t = new double[half];
        for (int j = 0; j < half; j++) t[j] = 1f / (float) Math.pow(10000, (float) j / half);
        return t;
    }

    /** The least common multiple of the segment lengths: every segment of every level lies inside one block. */
    static long block(long[] segmentLengths) {
        long l = 1;
        for (long w : segmentLengths) {
            long g = gcd(l, w);
            l = Math.multiplyExact(l / g, w);
        }
        return l;
    }

    private static long gcd(long a, long b) { return b == 0 ? a : gcd(b, a % b); }

    public long block() { return block; }

    /** Computes the tables of positions [first, first + rows) (nothing to do when they are the last prepared). */
    public void prepare(long first, int rows) {
        if (first == preparedFirst && rows == preparedRows) return;
        preparedFirst = first;
        preparedRows = rows;
        int size = rows * pairs;
        if (cos.length < size) {
            cos = new double[size];
            sin = new double[size];
            qFactor = new double[size];
            kFactor = new double[size];
        }
        for (int r = 0; r < rows; r++) {
            long n = first + r;
            double e = Math.floorMod(n, block) - block / 2.0;           // distance to the block's centre, exact
            for (int j = 0, at = r * pairs; j < pairs; j++, at++) {
                double angle = e * theta[j];
                cos[at] = Math.cos(angle);
                sin[at] = Math.sin(angle);
                qFactor[at] = Math.exp(e * logZetaOverBase[j]);
                kFactor[at] = Math.exp(-e * logZetaOverBase[j]);
            }
        }
    }

    /** Applies xPos in place to rows·heads·headDim values of q (key false) or k (key true) at the prepared positions. */
    public void apply(float[] x, int rows, int heads, boolean key) {
        double[] factor = key ? kFactor : qFactor;
        int d = 2 * pairs;
        for (int r = 0; r < rows; r++) {
            for (int h = 0; h < heads; h++) {
                int base = (r * heads + h) * d;
                for (int j = 0, at = r * pairs; j < pairs; j++, at++) {
                    double x0 = x[base + 2 * j];
                    double x1 = x[base + 2 * j + 1];
                    double c = cos[at] * factor[at];
                    double s = sin[at] * factor[at];
                    x[base + 2 * j] = (float) (x0 * c - x1 * s);
                    x[base + 2 * j + 1] = (float) (x1 * c + x0 * s);
                }
            }
        }
    }
}
