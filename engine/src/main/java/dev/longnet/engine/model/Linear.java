package dev.longnet.engine.model;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;

/**
 * A linear layer y = x·Wᵀ + b (torch's nn.Linear: W is (out, in)) on the Vector API. W is packed once into panels
 * of {@link #NR} output columns, panel[p][i][c] = W[p·NR + c][i] (zero past out), so that the micro-kernel reads a
 * panel front to back while {@value #MR} rows of x are broadcast: {@value #MR} rows × 2 vectors of accumulators,
 * as in the attention kernel. Every output element is Σ_i x[i]·W[o][i] accumulated by fused multiply-adds in the
 * order i = 0, 1, ..., then + b[o], whichever kernel (full block or tail row) computes it: a row's result does not
 * depend on the rows around it, so chunked and one-shot forwards agree bit for bit.
 */
public final class Linear {
    private static final VectorSpecies<Float> SPECIES = FloatVector.SPECIES_PREFERRED;
    private static final int LANES = SPECIES.length();
    /** Output columns per panel: two vectors. */
    static final int NR = 2 * LANES;
    /** Rows per micro-block. */
    static final int MR = 6;
    /** Rows per micro-block, for callers that cut rows among threads (whole blocks keep every thread busy). */
    public static final int MR_ROWS = MR;

    private final int in;
    private final int out;
    private final int panelCount;
    private final float[] panels;
    private final float[] bias;               // padded to panelCount·NR; zeros when the layer has none

    /**
     * @param weight (out, in) row-major, torch's layout
     * @param bias   out values, or null
     */
    public Linear(float[] weight, float[] bias, int out, int in) {
        this(weight, bias, out, in, null);
    }

    /**
     * As {@link #Linear(float[], float[], int, int)}, packing into the arrays of {@code spent} when it has the same
     * shape: a layer whose turn is over, which must not be used again. Loading layer after layer then allocates no
     * new long-lived arrays, which would otherwise outlive their layer in the old generation of the Java heap (and
     * in resident memory) until a full collection.
     */
    public Linear(float[] weight, float[] bias, int out, int in, Linear spent) {
        if (weight.length != (long) out * in) {
            throw new IllegalArgumentException("weight has " + weight.length + " values, expected " + out + "×" + in);
        }
        if (bias != null && bias.length != out) throw new IllegalArgumentException("bias has " + bias.length + " values, expected " + out);
        this.in = in;
        this.out = out;
        this.panelCount = (out + NR - 1) / NR;
        boolean reuse = spent != null && spent.in == in && spent.out == out;
        // A spent layer of the same shape has zeros past out too: every other element is written here.
        this.panels = reuse ? spent.panels : new float[panelCount * in * NR];
        for (int o = 0; o < out; o++) {
            int base = (o / NR) * in * NR + o % NR;
            for (int i = 0; i < in; i++) panels[base + i * NR] = weight[o * in + i];
        }
        this.bias = reuse ? spent.bias : new float[panelCount * NR];
        if (bias != null) System.arraycopy(bias, 0, this.bias, 0, out);
        else if (reuse) java.util.Arrays.fill(this.bias, 0f);
    }

    public int in() { return in; }

    /** Whether this layer packs its weights into the same arrays as {@code other} (tests). */
    boolean sharesArraysWith(Linear other) { return panels == other.panels && bias == other.bias; }

    public int out() { return out; }

    /** Multiply-add flops of one row. */
    public long flopsPerRow() { return 2L * in * out; }

    /** y[r·out + o] = Σ_i x[r·in + i]·W[o][i] + b[o] for rows r in [0, rows); tmp holds at least MR·NR floats. */
    public void apply(float[] x, int rows, float[] y, float[] tmp) {
        apply(x, 0, rows, y, tmp);
    }

    /**
     * As {@link #apply(float[], int, float[], float[])} for rows [from, to) only: each row's result is the same.
     * Panels are the outer loop: one panel (in·NR floats, within L2) serves every block of rows before the next is
     * read, so W streams from memory once per call rather than once per {@value #MR} rows. When {@value #GROUP_ROWS}
     * rows of x fit in {@value #GROUP_BYTES} bytes, rows go in groups of that many, each taking every panel in turn,
     * so that the group's rows stay in L2 across the panels (768 inputs: 512 rows, 1.5 MiB, streamed from L3 for
     * every panel ran at 70% of one core's peak; in groups of 96 rows, 96%). Wider inputs keep one group: their W
     * is larger, and streaming it once per group cost more than the rows' reloads.
     */
    public void apply(float[] x, int from, int to, float[] y, float[] tmp) {
        int step = (long) GROUP_ROWS * in * Float.BYTES <= GROUP_BYTES ? GROUP_ROWS : Math.max(1, to - from);
        for (int g = from; g < to; g += step) group(x, g, Math.min(to, g + step), y, tmp);
    }

    /** Rows per group of {@link #apply}: a multiple of {@value #MR}. */
    static final int GROUP_ROWS = 16 * MR;
    /** The most bytes of x rows a group holds (with a panel, within a 1 MiB L2). */
    static final int GROUP_BYTES = 512 * 1024;

    private void group(float[] x, int from, int to, float[] y, float[] tmp) {
        int full = to - (to - from) % MR;
        for (int p = 0; p < panelCount; p++) {
            int col = p * NR;
            int panel = p * in * NR;
            boolean whole = col + NR <= out;
            for (int r = from; r < full; r += MR) {
                if (whole) block(x, r * in, panel, col, y, r * out + col, out);
                else {
                    block(x, r * in, panel, col, tmp, 0, NR);
                    for (int i = 0; i < MR; i++) System.arraycopy(tmp, i * NR, y, (r + i) * out + col, out - col);
                }
            }
            for (int r = full; r < to; r++) {
                if (whole) row(x, r * in, panel, col, y, r * out + col);
                else {
                    row(x, r * in, panel, col, tmp, 0);
                    System.arraycopy(tmp, 0, y, r * out + col, out - col);
                }
            }
        }
    }

    /** Scratch that {@link #apply} needs. */
    public static float[] scratch() { return new float[MR * NR]; }

    private void block(float[] x, int xBase, int panel, int col, float[] y, int yBase, int yStride) {
        FloatVector a00 = FloatVector.zero(SPECIES), a01 = a00, a10 = a00, a11 = a00, a20 = a00, a21 = a00;
        FloatVector a30 = a00, a31 = a00, a40 = a00, a41 = a00, a50 = a00, a51 = a00;
        int w = panel;
        int x0 = xBase, x1 = x0 + in, x2 = x1 + in, x3 = x2 + in, x4 = x3 + in, x5 = x4 + in;
        for (int i = 0; i < in; i++, w += NR) {
            FloatVector w0 = FloatVector.fromArray(SPECIES, panels, w);
            FloatVector w1 = FloatVector.fromArray(SPECIES, panels, w + LANES);
            FloatVector b = FloatVector.broadcast(SPECIES, x[x0 + i]);
            a00 = w0.fma(b, a00); a01 = w1.fma(b, a01);
            b = FloatVector.broadcast(SPECIES, x[x1 + i]);
            a10 = w0.fma(b, a10); a11 = w1.fma(b, a11);
            b = FloatVector.broadcast(SPECIES, x[x2 + i]);
            a20 = w0.fma(b, a20); a21 = w1.fma(b, a21);
            b = FloatVector.broadcast(SPECIES, x[x3 + i]);
            a30 = w0.fma(b, a30); a31 = w1.fma(b, a31);
            b = FloatVector.broadcast(SPECIES, x[x4 + i]);
            a40 = w0.fma(b, a40); a41 = w1.fma(b, a41);
            b = FloatVector.broadcast(SPECIES, x[x5 + i]);
            a50 = w0.fma(b, a50); a51 = w1.fma(b, a51);
        }
        FloatVector b0 = FloatVector.fromArray(SPECIES, bias, col);
        FloatVector b1 = FloatVector.fromArray(SPECIES, bias, col + LANES);
        store(a00, a01, b0, b1, y, yBase);
        store(a10, a11, b0, b1, y, yBase + yStride);
        store(a20, a21, b0, b1, y, yBase + 2 * yStride);
        store(a30, a31, b0, b1, y, yBase + 3 * yStride);
        store(a40, a41, b0, b1, y, yBase + 4 * yStride);
        store(a50, a51, b0, b1, y, yBase + 5 * yStride);
    }

    private void row(float[] x, int xBase, int panel, int col, float[] y, int yBase) {
        FloatVector a0 = FloatVector.zero(SPECIES), a1 = a0;
        int w = panel;
        for (int i = 0; i < in; i++, w += NR) {
            FloatVector b = FloatVector.broadcast(SPECIES, x[xBase + i]);
            a0 = FloatVector.fromArray(SPECIES, panels, w).fma(b, a0);
            a1 = FloatVector.fromArray(SPECIES, panels, w + LANES).fma(b, a1);
        }
        FloatVector b0 = FloatVector.fromArray(SPECIES, bias, col);
        FloatVector b1 = FloatVector.fromArray(SPECIES, bias, col + LANES);
        store(a0, a1, b0, b1, y, yBase);
    }

    private static void store(FloatVector a0, FloatVector a1, FloatVector b0, FloatVector b1, float[] y, int at) {
        a0.add(b0).intoArray(y, at);
        a1.add(b1).intoArray(y, at + LANES);
    }
}
