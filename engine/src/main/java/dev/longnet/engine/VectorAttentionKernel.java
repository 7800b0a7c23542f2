package dev.longnet.engine;

import java.util.Arrays;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/**
 * Flash-attention on the Vector API. Keys and values are packed a chunk at a time (K transposed, V row-major,
 * both zero-padded) into per-thread buffers; queries go through in micro-blocks of {@value #MR} rows whose
 * scores for the chunk live in a small buffer, never the full m×m matrix. Each micro-block keeps a running max,
 * sum and unnormalised output, as in flash-attention, and merges into the stored output once at the end.
 *
 * <p>Both products use a register-blocked micro-kernel of {@value #MR} rows × {@link Shape#vectors} vectors, the
 * shape chosen once per head dimension from the vector width ({@link Shape#of}): 6 × 2 (12 accumulators) fits the
 * 16 registers of AVX2 with room for two loads and a broadcast; 6 × 4 (24 accumulators, 4 loads, a broadcast) fits
 * the 32 of AVX-512 and halves the broadcasts and loads per FMA; 6 × 1 serves a d that one vector holds. Each
 * score is one FMA chain over c and each output one chain over the keys in order whatever the shape; the shapes
 * differ in how far keys are padded (zeros).
 */
public final class VectorAttentionKernel implements AttentionKernel {
    private static final VectorSpecies<Float> SPECIES = FloatVector.SPECIES_PREFERRED;
    private static final int LANES = SPECIES.length();
    /** Micro-tile height in rows. */
    static final int MR = 6;
    /** Floats of K (and of V) packed at once: 128 KiB each, so that both chunks stay in a 512 KiB L2. */
    static final int CHUNK_FLOATS = 32 * 1024;
    /** Most keys per chunk (bounds the score buffer for small d). */
    static final int MAX_KEY_CHUNK = 1024;


    /**
     * A micro-kernel's width in vectors. {@link #of} picks 1 when one vector holds a row of d (no zero columns in
     * P·V: d = 16 on AVX-512 would be padded to 32 by 2 vectors), 4 where the machine has 32 vector registers
     * (512-bit vectors: AVX-512) and 4 vectors pad d no further than 2 do, else 2 (AVX2's 16 registers).
     */
    public enum Shape {
        SINGLE(1), NARROW(2), WIDE(4);

        final int vectors;

        Shape(int vectors) { this.vectors = vectors; }

        /** Floats per micro-tile row (keys per strip of K, columns per pass over V). */
        int width() { return vectors * LANES; }

        public static Shape of(int d) {
            if (d <= LANES) return SINGLE;
            boolean registers32 = SPECIES.vectorBitSize() >= 512;
            return registers32 && Align.roundUp(d, WIDE.width()) == Align.roundUp(d, NARROW.width()) ? WIDE : NARROW;
        }
    }

    private final ThreadLocal<Workspace> workspaces = new ThreadLocal<>();
    /** The shape for every d, or null: chosen per d by {@link Shape#of}. */
    private final Shape forced;

    public VectorAttentionKernel() { this(null); }

    /** A kernel that uses {@code shape} for every head dimension (tests and benchmarks compare the shapes). */
    public VectorAttentionKernel(Shape shape) { this.forced = shape; }

    @Override
    public String name() {
        return "cpu-vector(" + SPECIES.vectorBitSize() + "-bit" + (forced == null ? "" : ", " + forced.vectors + " vectors") + ")";
    }

    /** The shape used for head dimension d. */
    Shape shape(int d) { return forced != null ? forced : Shape.of(d); }

    @Override
    public void attend(View q, View k, View v, View out, View lse, int qFrom, int qTo, boolean causal, float scale) {
        int rows = qTo - qFrom;
        if (rows <= 0) return;
        int d = q.cols();
        Workspace ws = workspace(d, Align.roundUp(rows, MR));
        int dPad = ws.dPad;
        int rowsPad = Align.roundUp(rows, MR);

        for (int i = 0; i < rowsPad; i++) {
            if (i < rows) {
                q.readRow(qFrom + i, ws.q, i * dPad, scale);
                if (!inBounds(ws.q, i * dPad, d, NonFiniteInputException.QK_BOUND)) {
                    throw new NonFiniteInputException("q", qFrom + i);
                }
            } else {
                Arrays.fill(ws.q, i * dPad, i * dPad + d, 0f);
            }
        }
        Arrays.fill(ws.o, 0, rowsPad * dPad, 0f);
        Arrays.fill(ws.max, 0, rowsPad, Float.NEGATIVE_INFINITY);
        Arrays.fill(ws.sum, 0, rowsPad, 0f);

        int keyEnd = causal ? qTo : k.rows();
        int chunk = ws.keyChunk;
        int nr = ws.nr;
        Shape shape = ws.shape;
        for (int k0 = 0; k0 < keyEnd; k0 += chunk) {
            int n = Math.min(chunk, keyEnd - k0);
            packKeys(k, v, k0, n, d, ws);
            for (int i0 = 0; i0 < rowsPad; i0 += MR) {
                int firstQuery = qFrom + i0;
                int visible = causal ? Math.min(n, firstQuery + MR - k0) : n;   // keys any row of the block sees
                if (visible <= 0) continue;
                int used = Align.roundUp(visible, nr);
                switch (shape) {
                    case SINGLE -> scores1(ws.q, i0 * dPad, dPad, d, ws.kt, ws.s, chunk, used);
                    case NARROW -> scores2(ws.q, i0 * dPad, dPad, d, ws.kt, ws.s, chunk, used);
                    case WIDE -> scores4(ws.q, i0 * dPad, dPad, d, ws.kt, ws.s, chunk, used);
                }
                for (int r = 0; r < MR; r++) {
                    int rowVisible = causal ? Math.min(n, firstQuery + r + 1 - k0) : n;
                    softmaxRow(ws, i0 + r, r * chunk, Math.max(rowVisible, 0), used, dPad);
                }
                switch (shape) {
                    case SINGLE -> accumulate1(ws.s, chunk, ws.v, ws.o, i0 * dPad, dPad, used);
                    case NARROW -> accumulate2(ws.s, chunk, ws.v, ws.o, i0 * dPad, dPad, used);
                    case WIDE -> accumulate4(ws.s, chunk, ws.v, ws.o, i0 * dPad, dPad, used);
                }
            }
        }

        for (int i = 0; i < rows; i++) {
            float sum = ws.sum[i];
            if (sum == 0f) continue;                      // no key: nothing to merge
            float inv = 1f / sum;
            int base = i * dPad;
            for (int c = 0; c < d; c++) ws.o[base + c] *= inv;
            float l = ws.max[i] + (float) StrictMath.log(sum);
            LogSumExp.merge(out, lse, qFrom + i, ws.o, base, l, ws.mergeRow);
        }
    }

    /**
     * K transposed in strips of nr keys, kt[(j/nr)·d·nr + c·nr + j%nr], so that the score kernel reads each strip
     * front to back; V into v[j·dPad + c]. Value rows past n are zeroed so that they add nothing.
     */
    private static void packKeys(View k, View v, int k0, int n, int d, Workspace ws) {
        float[] row = ws.mergeRow;
        int nr = ws.nr;
        for (int j = 0; j < n; j++) {
            k.readRow(k0 + j, row, 0, 1f);
            if (!inBounds(row, 0, d, NonFiniteInputException.QK_BOUND)) throw new NonFiniteInputException("k", k0 + j);
            int at = (j / nr) * d * nr + j % nr;
            for (int c = 0; c < d; c++) ws.kt[at + c * nr] = row[c];
            v.readRow(k0 + j, ws.v, j * ws.dPad, 1f);
            if (!inBounds(ws.v, j * ws.dPad, d, NonFiniteInputException.V_BOUND)) {
                throw new NonFiniteInputException("v", k0 + j);
            }
        }
        int padEnd = Align.roundUp(n, nr);
        Arrays.fill(ws.v, n * ws.dPad, padEnd * ws.dPad, 0f);
    }

    /** As {@link #scores2} with 6 × 1 vector (a row of d fits one vector). */
    private static void scores1(float[] q, int qBase, int dPad, int d, float[] kt, float[] s, int sStride, int used) {
        for (int j = 0; j < used; j += LANES) {
            FloatVector a0 = FloatVector.zero(SPECIES), a1 = a0, a2 = a0, a3 = a0, a4 = a0, a5 = a0;
            int qr = qBase;
            int kOff = j * d;                                   // strip j / LANES starts at j·d
            for (int c = 0; c < d; c++, qr++, kOff += LANES) {
                FloatVector k0 = FloatVector.fromArray(SPECIES, kt, kOff);
                a0 = k0.fma(FloatVector.broadcast(SPECIES, q[qr]), a0);
                a1 = k0.fma(FloatVector.broadcast(SPECIES, q[qr + dPad]), a1);
                a2 = k0.fma(FloatVector.broadcast(SPECIES, q[qr + 2 * dPad]), a2);
                a3 = k0.fma(FloatVector.broadcast(SPECIES, q[qr + 3 * dPad]), a3);
                a4 = k0.fma(FloatVector.broadcast(SPECIES, q[qr + 4 * dPad]), a4);
                a5 = k0.fma(FloatVector.broadcast(SPECIES, q[qr + 5 * dPad]), a5);
            }
            a0.intoArray(s, j); a1.intoArray(s, sStride + j); a2.intoArray(s, 2 * sStride + j);
            a3.intoArray(s, 3 * sStride + j); a4.intoArray(s, 4 * sStride + j); a5.intoArray(s, 5 * sStride + j);
        }
    }

    /** As {@link #accumulate2} with 6 × 1 vector (a row of d fits one vector). */
    private static void accumulate1(float[] p, int pStride, float[] v, float[] o, int oBase, int dPad, int used) {
        for (int c = 0; c < dPad; c += LANES) {
            int o0 = oBase + c, o1 = o0 + dPad, o2 = o1 + dPad, o3 = o2 + dPad, o4 = o3 + dPad, o5 = o4 + dPad;
            FloatVector a0 = FloatVector.fromArray(SPECIES, o, o0), a1 = FloatVector.fromArray(SPECIES, o, o1);
            FloatVector a2 = FloatVector.fromArray(SPECIES, o, o2), a3 = FloatVector.fromArray(SPECIES, o, o3);
            FloatVector a4 = FloatVector.fromArray(SPECIES, o, o4), a5 = FloatVector.fromArray(SPECIES, o, o5);
            for (int j = 0; j < used; j++) {
                FloatVector v0 = FloatVector.fromArray(SPECIES, v, j * dPad + c);
                a0 = v0.fma(FloatVector.broadcast(SPECIES, p[j]), a0);
                a1 = v0.fma(FloatVector.broadcast(SPECIES, p[pStride + j]), a1);
                a2 = v0.fma(FloatVector.broadcast(SPECIES, p[2 * pStride + j]), a2);
                a3 = v0.fma(FloatVector.broadcast(SPECIES, p[3 * pStride + j]), a3);
                a4 = v0.fma(FloatVector.broadcast(SPECIES, p[4 * pStride + j]), a4);
                a5 = v0.fma(FloatVector.broadcast(SPECIES, p[5 * pStride + j]), a5);
            }
            a0.intoArray(o, o0); a1.intoArray(o, o1); a2.intoArray(o, o2);
            a3.intoArray(o, o3); a4.intoArray(o, o4); a5.intoArray(o, o5);
        }
    }

    /** s[r·sStride + j] = Σ_c q[r][c]·k[j][c] for the MR rows at qBase and keys [0, used): 6 × 2 vectors. */
    private static void scores2(float[] q, int qBase, int dPad, int d, float[] kt, float[] s, int sStride, int used) {
        final int NR = 2 * LANES;
        for (int j = 0; j < used; j += NR) {
            FloatVector a00 = FloatVector.zero(SPECIES), a01 = a00, a10 = a00, a11 = a00, a20 = a00, a21 = a00;
            FloatVector a30 = a00, a31 = a00, a40 = a00, a41 = a00, a50 = a00, a51 = a00;
            int qr = qBase;
            int kOff = j * d;                                   // strip j / NR starts at (j / NR)·d·NR = j·d
            for (int c = 0; c < d; c++, qr++, kOff += NR) {
                FloatVector k0 = FloatVector.fromArray(SPECIES, kt, kOff);
                FloatVector k1 = FloatVector.fromArray(SPECIES, kt, kOff + LANES);
                FloatVector b = FloatVector.broadcast(SPECIES, q[qr]);
                a00 = k0.fma(b, a00); a01 = k1.fma(b, a01);
                b = FloatVector.broadcast(SPECIES, q[qr + dPad]);
                a10 = k0.fma(b, a10); a11 = k1.fma(b, a11);
                b = FloatVector.broadcast(SPECIES, q[qr + 2 * dPad]);
                a20 = k0.fma(b, a20); a21 = k1.fma(b, a21);
                b = FloatVector.broadcast(SPECIES, q[qr + 3 * dPad]);
                a30 = k0.fma(b, a30); a31 = k1.fma(b, a31);
                b = FloatVector.broadcast(SPECIES, q[qr + 4 * dPad]);
                a40 = k0.fma(b, a40); a41 = k1.fma(b, a41);
                b = FloatVector.broadcast(SPECIES, q[qr + 5 * dPad]);
                a50 = k0.fma(b, a50); a51 = k1.fma(b, a51);
            }
            a00.intoArray(s, j); a01.intoArray(s, j + LANES);
            a10.intoArray(s, sStride + j); a11.intoArray(s, sStride + j + LANES);
            a20.intoArray(s, 2 * sStride + j); a21.intoArray(s, 2 * sStride + j + LANES);
            a30.intoArray(s, 3 * sStride + j); a31.intoArray(s, 3 * sStride + j + LANES);
            a40.intoArray(s, 4 * sStride + j); a41.intoArray(s, 4 * sStride + j + LANES);
            a50.intoArray(s, 5 * sStride + j); a51.intoArray(s, 5 * sStride + j + LANES);
        }
    }

    /**
     * Turns scores [0, used) of one row into probabilities against the row's running max, masking keys at or past
     * {@code visible}, and rescales the row's sum and output when the max grows.
     */
    private static void softmaxRow(Workspace ws, int row, int sBase, int visible, int used, int dPad) {
        float[] s = ws.s;
        Arrays.fill(s, sBase + visible, sBase + used, Float.NEGATIVE_INFINITY);
        FloatVector maxV = FloatVector.broadcast(SPECIES, Float.NEGATIVE_INFINITY);
        for (int j = 0; j < used; j += LANES) {
            FloatVector x = FloatVector.fromArray(SPECIES, s, sBase + j);
            maxV = maxV.blend(x, maxV.lt(x));      // not max(): Java's NaN and -0.0 rules cost extra on AVX2
        }
        float oldMax = ws.max[row];
        float newMax = Math.max(oldMax, maxV.reduceLanes(VectorOperators.MAX));
        if (newMax == Float.NEGATIVE_INFINITY) {          // this row sees no key of the chunk yet
            Arrays.fill(s, sBase, sBase + used, 0f);
            return;
        }
        FloatVector shift = FloatVector.broadcast(SPECIES, newMax);
        FloatVector sumV = FloatVector.zero(SPECIES);
        for (int j = 0; j < used; j += LANES) {
            FloatVector p = FloatVector.fromArray(SPECIES, s, sBase + j).sub(shift);
            p = VectorExp.exp(p);
            p.intoArray(s, sBase + j);
            sumV = sumV.add(p);
        }
        // 0 when oldMax = -inf; exactly 1 (and no rescale) when the max did not move.
        float correction = oldMax == newMax ? 1f : (float) StrictMath.exp(oldMax - newMax);
        ws.sum[row] = ws.sum[row] * correction + sumLanes(sumV, ws.lanes);
        ws.max[row] = newMax;
        if (correction != 1f) {
            int base = row * dPad;
            for (int c = 0; c < dPad; c += LANES) {
                FloatVector.fromArray(SPECIES, ws.o, base + c).mul(correction).intoArray(ws.o, base + c);
            }
        }
    }

    /** o[r][c] += Σ_j p[r][j]·v[j][c] for the MR rows at oBase, keys [0, used), all dPad columns: 6 × 2 vectors. */
    private static void accumulate2(float[] p, int pStride, float[] v, float[] o, int oBase, int dPad, int used) {
        final int NR = 2 * LANES;
        for (int c = 0; c < dPad; c += NR) {
            int o0 = oBase + c, o1 = o0 + dPad, o2 = o1 + dPad, o3 = o2 + dPad, o4 = o3 + dPad, o5 = o4 + dPad;
            FloatVector a00 = FloatVector.fromArray(SPECIES, o, o0), a01 = FloatVector.fromArray(SPECIES, o, o0 + LANES);
            FloatVector a10 = FloatVector.fromArray(SPECIES, o, o1), a11 = FloatVector.fromArray(SPECIES, o, o1 + LANES);
            FloatVector a20 = FloatVector.fromArray(SPECIES, o, o2), a21 = FloatVector.fromArray(SPECIES, o, o2 + LANES);
            FloatVector a30 = FloatVector.fromArray(SPECIES, o, o3), a31 = FloatVector.fromArray(SPECIES, o, o3 + LANES);
            FloatVector a40 = FloatVector.fromArray(SPECIES, o, o4), a41 = FloatVector.fromArray(SPECIES, o, o4 + LANES);
            FloatVector a50 = FloatVector.fromArray(SPECIES, o, o5), a51 = FloatVector.fromArray(SPECIES, o, o5 + LANES);
            for (int j = 0; j < used; j++) {
                int vOff = j * dPad + c;
                FloatVector v0 = FloatVector.fromArray(SPECIES, v, vOff);
                FloatVector v1 = FloatVector.fromArray(SPECIES, v, vOff + LANES);
                FloatVector b = FloatVector.broadcast(SPECIES, p[j]);
                a00 = v0.fma(b, a00); a01 = v1.fma(b, a01);
                b = FloatVector.broadcast(SPECIES, p[pStride + j]);
                a10 = v0.fma(b, a10); a11 = v1.fma(b, a11);
                b = FloatVector.broadcast(SPECIES, p[2 * pStride + j]);
                a20 = v0.fma(b, a20); a21 = v1.fma(b, a21);
                b = FloatVector.broadcast(SPECIES, p[3 * pStride + j]);
                a30 = v0.fma(b, a30); a31 = v1.fma(b, a31);
                b = FloatVector.broadcast(SPECIES, p[4 * pStride + j]);
                a40 = v0.fma(b, a40); a41 = v1.fma(b, a41);
                b = FloatVector.broadcast(SPECIES, p[5 * pStride + j]);
                a50 = v0.fma(b, a50); a51 = v1.fma(b, a51);
            }
            a00.intoArray(o, o0); a01.intoArray(o, o0 + LANES);
            a10.intoArray(o, o1); a11.intoArray(o, o1 + LANES);
            a20.intoArray(o, o2); a21.intoArray(o, o2 + LANES);
            a30.intoArray(o, o3); a31.intoArray(o, o3 + LANES);
            a40.intoArray(o, o4); a41.intoArray(o, o4 + LANES);
            a50.intoArray(o, o5); a51.intoArray(o, o5 + LANES);
        }
    }

    /** As {@link #scores2} with 6 × 4 vectors (24 accumulators: AVX-512's 32 registers). */
    private static void scores4(float[] q, int qBase, int dPad, int d, float[] kt, float[] s, int sStride, int used) {
        final int NR = 4 * LANES;
        for (int j = 0; j < used; j += NR) {
            FloatVector a00 = FloatVector.zero(SPECIES), a01 = a00, a02 = a00, a03 = a00;
            FloatVector a10 = a00, a11 = a00, a12 = a00, a13 = a00;
            FloatVector a20 = a00, a21 = a00, a22 = a00, a23 = a00;
            FloatVector a30 = a00, a31 = a00, a32 = a00, a33 = a00;
            FloatVector a40 = a00, a41 = a00, a42 = a00, a43 = a00;
            FloatVector a50 = a00, a51 = a00, a52 = a00, a53 = a00;
            int qr = qBase;
            int kOff = j * d;                                   // strip j / NR starts at (j / NR)·d·NR = j·d
            for (int c = 0; c < d; c++, qr++, kOff += NR) {
                FloatVector k0 = FloatVector.fromArray(SPECIES, kt, kOff);
                FloatVector k1 = FloatVector.fromArray(SPECIES, kt, kOff + LANES);
                FloatVector k2 = FloatVector.fromArray(SPECIES, kt, kOff + 2 * LANES);
                FloatVector k3 = FloatVector.fromArray(SPECIES, kt, kOff + 3 * LANES);
                FloatVector b = FloatVector.broadcast(SPECIES, q[qr]);
                a00 = k0.fma(b, a00); a01 = k1.fma(b, a01); a02 = k2.fma(b, a02); a03 = k3.fma(b, a03);
                b = FloatVector.broadcast(SPECIES, q[qr + dPad]);
                a10 = k0.fma(b, a10); a11 = k1.fma(b, a11); a12 = k2.fma(b, a12); a13 = k3.fma(b, a13);
                b = FloatVector.broadcast(SPECIES, q[qr + 2 * dPad]);
                a20 = k0.fma(b, a20); a21 = k1.fma(b, a21); a22 = k2.fma(b, a22); a23 = k3.fma(b, a23);
                b = FloatVector.broadcast(SPECIES, q[qr + 3 * dPad]);
                a30 = k0.fma(b, a30); a31 = k1.fma(b, a31); a32 = k2.fma(b, a32); a33 = k3.fma(b, a33);
                b = FloatVector.broadcast(SPECIES, q[qr + 4 * dPad]);
                a40 = k0.fma(b, a40); a41 = k1.fma(b, a41); a42 = k2.fma(b, a42); a43 = k3.fma(b, a43);
                b = FloatVector.broadcast(SPECIES, q[qr + 5 * dPad]);
                a50 = k0.fma(b, a50); a51 = k1.fma(b, a51); a52 = k2.fma(b, a52); a53 = k3.fma(b, a53);
            }
            a00.intoArray(s, j); a01.intoArray(s, j + LANES);
            a02.intoArray(s, j + 2 * LANES); a03.intoArray(s, j + 3 * LANES);
            a10.intoArray(s, sStride + j); a11.intoArray(s, sStride + j + LANES);
            a12.intoArray(s, sStride + j + 2 * LANES); a13.intoArray(s, sStride + j + 3 * LANES);
            a20.intoArray(s, 2 * sStride + j); a21.intoArray(s, 2 * sStride + j + LANES);
            a22.intoArray(s, 2 * sStride + j + 2 * LANES); a23.intoArray(s, 2 * sStride + j + 3 * LANES);
            a30.intoArray(s, 3 * sStride + j); a31.intoArray(s, 3 * sStride + j + LANES);
            a32.intoArray(s, 3 * sStride + j + 2 * LANES); a33.intoArray(s, 3 * sStride + j + 3 * LANES);
            a40.intoArray(s, 4 * sStride + j); a41.intoArray(s, 4 * sStride + j + LANES);
            a42.intoArray(s, 4 * sStride + j + 2 * LANES); a43.intoArray(s, 4 * sStride + j + 3 * LANES);
            a50.intoArray(s, 5 * sStride + j); a51.intoArray(s, 5 * sStride + j + LANES);
            a52.intoArray(s, 5 * sStride + j + 2 * LANES); a53.intoArray(s, 5 * sStride + j + 3 * LANES);
        }
    }

    /** As {@link #accumulate2} with 6 × 4 vectors (24 accumulators: AVX-512's 32 registers). */
    private static void accumulate4(float[] p, int pStride, float[] v, float[] o, int oBase, int dPad, int used) {
        final int NR = 4 * LANES;
        for (int c = 0; c < dPad; c += NR) {
            int o0 = oBase + c, o1 = o0 + dPad, o2 = o1 + dPad, o3 = o2 + dPad, o4 = o3 + dPad, o5 = o4 + dPad;
            FloatVector a00 = FloatVector.fromArray(SPECIES, o, o0), a01 = FloatVector.fromArray(SPECIES, o, o0 + LANES);
            FloatVector a02 = FloatVector.fromArray(SPECIES, o, o0 + 2 * LANES), a03 = FloatVector.fromArray(SPECIES, o, o0 + 3 * LANES);
            FloatVector a10 = FloatVector.fromArray(SPECIES, o, o1), a11 = FloatVector.fromArray(SPECIES, o, o1 + LANES);
            FloatVector a12 = FloatVector.fromArray(SPECIES, o, o1 + 2 * LANES), a13 = FloatVector.fromArray(SPECIES, o, o1 + 3 * LANES);
            FloatVector a20 = FloatVector.fromArray(SPECIES, o, o2), a21 = FloatVector.fromArray(SPECIES, o, o2 + LANES);
            FloatVector a22 = FloatVector.fromArray(SPECIES, o, o2 + 2 * LANES), a23 = FloatVector.fromArray(SPECIES, o, o2 + 3 * LANES);
            FloatVector a30 = FloatVector.fromArray(SPECIES, o, o3), a31 = FloatVector.fromArray(SPECIES, o, o3 + LANES);
            FloatVector a32 = FloatVector.fromArray(SPECIES, o, o3 + 2 * LANES), a33 = FloatVector.fromArray(SPECIES, o, o3 + 3 * LANES);
            FloatVector a40 = FloatVector.fromArray(SPECIES, o, o4), a41 = FloatVector.fromArray(SPECIES, o, o4 + LANES);
            FloatVector a42 = FloatVector.fromArray(SPECIES, o, o4 + 2 * LANES), a43 = FloatVector.fromArray(SPECIES, o, o4 + 3 * LANES);
            FloatVector a50 = FloatVector.fromArray(SPECIES, o, o5), a51 = FloatVector.fromArray(SPECIES, o, o5 + LANES);
            FloatVector a52 = FloatVector.fromArray(SPECIES, o, o5 + 2 * LANES), a53 = FloatVector.fromArray(SPECIES, o, o5 + 3 * LANES);
            for (int j = 0; j < used; j++) {
                int vOff = j * dPad + c;
                FloatVector v0 = FloatVector.fromArray(SPECIES, v, vOff);
                FloatVector v1 = FloatVector.fromArray(SPECIES, v, vOff + LANES);
                FloatVector v2 = FloatVector.fromArray(SPECIES, v, vOff + 2 * LANES);
                FloatVector v3 = FloatVector.fromArray(SPECIES, v, vOff + 3 * LANES);
                FloatVector b = FloatVector.broadcast(SPECIES, p[j]);
                a00 = v0.fma(b, a00); a01 = v1.fma(b, a01); a02 = v2.fma(b, a02); a03 = v3.fma(b, a03);
                b = FloatVector.broadcast(SPECIES, p[pStride + j]);
                a10 = v0.fma(b, a10); a11 = v1.fma(b, a11); a12 = v2.fma(b, a12); a13 = v3.fma(b, a13);
                b = FloatVector.broadcast(SPECIES, p[2 * pStride + j]);
                a20 = v0.fma(b, a20); a21 = v1.fma(b, a21); a22 = v2.fma(b, a22); a23 = v3.fma(b, a23);
                b = FloatVector.broadcast(SPECIES, p[3 * pStride + j]);
                a30 = v0.fma(b, a30); a31 = v1.fma(b, a31); a32 = v2.fma(b, a32); a33 = v3.fma(b, a33);
                b = FloatVector.broadcast(SPECIES, p[4 * pStride + j]);
                a40 = v0.fma(b, a40); a41 = v1.fma(b, a41); a42 = v2.fma(b, a42); a43 = v3.fma(b, a43);
                b = FloatVector.broadcast(SPECIES, p[5 * pStride + j]);
                a50 = v0.fma(b, a50); a51 = v1.fma(b, a51); a52 = v2.fma(b, a52); a53 = v3.fma(b, a53);
            }
            a00.intoArray(o, o0); a01.intoArray(o, o0 + LANES);
            a02.intoArray(o, o0 + 2 * LANES); a03.intoArray(o, o0 + 3 * LANES);
            a10.intoArray(o, o1); a11.intoArray(o, o1 + LANES);
            a12.intoArray(o, o1 + 2 * LANES); a13.intoArray(o, o1 + 3 * LANES);
            a20.intoArray(o, o2); a21.intoArray(o, o2 + LANES);
            a22.intoArray(o, o2 + 2 * LANES); a23.intoArray(o, o2 + 3 * LANES);
            a30.intoArray(o, o3); a31.intoArray(o, o3 + LANES);
            a32.intoArray(o, o3 + 2 * LANES); a33.intoArray(o, o3 + 3 * LANES);
            a40.intoArray(o, o4); a41.intoArray(o, o4 + LANES);
            a42.intoArray(o, o4 + 2 * LANES); a43.intoArray(o, o4 + 3 * LANES);
            a50.intoArray(o, o5); a51.intoArray(o, o5 + LANES);
            a52.intoArray(o, o5 + 2 * LANES); a53.intoArray(o, o5 + 3 * LANES);
        }
    }

    /**
     * Checks that a[from, from + length) lies within [-bound, bound]: false when a value is NaN, infinite or beyond
     * the bound (the caller refuses the tile before it merges anything), so that no score or sum can overflow.
     */
    private static boolean inBounds(float[] a, int from, int length, float bound) {
        int i = from;
        VectorMask<Float> bad = SPECIES.maskAll(false);
        for (int end = from + SPECIES.loopBound(length); i < end; i += LANES) {
            bad = bad.or(FloatVector.fromArray(SPECIES, a, i).abs().compare(VectorOperators.LE, bound).not());
        }
        boolean ok = !bad.anyTrue();
        for (; i < from + length; i++) ok &= Math.abs(a[i]) <= bound;
        return ok;
    }

    /** The lanes' sum in lane order: reduceLanes(ADD) leaves the order open, and it may differ once compiled. */
    private static float sumLanes(FloatVector v, float[] lanes) {
        v.intoArray(lanes, 0);
        float sum = 0f;
        for (float x : lanes) sum += x;
        return sum;
    }

    private Workspace workspace(int d, int rowsPad) {
        Workspace ws = workspaces.get();
        if (ws == null || ws.d != d || ws.rowCapacity < rowsPad) {
            ws = new Workspace(d, shape(d), Math.max(rowsPad, ws == null ? 0 : ws.rowCapacity));
            workspaces.set(ws);
        }
        return ws;
    }


    /** Per-thread buffers; padded columns [d, dPad) of q, o and v stay zero for the workspace's life. */
    private static final class Workspace {
        final int d;
        final Shape shape;
        /** Floats per micro-tile row: shape.width(). */
        final int nr;
        final int dPad;
        final int keyChunk;
        final int rowCapacity;
        final float[] q, o, max, sum;
        final float[] kt, v, s;
        final float[] mergeRow;
        final float[] lanes = new float[LANES];

        Workspace(int d, Shape shape, int rowCapacity) {
            this.d = d;
            this.shape = shape;
            this.nr = shape.width();
            this.dPad = Align.roundUp(d, nr);
            this.keyChunk = Math.clamp(CHUNK_FLOATS / dPad / nr * nr, nr, MAX_KEY_CHUNK);
            this.rowCapacity = rowCapacity;
            q = new float[rowCapacity * dPad];
            o = new float[rowCapacity * dPad];
            max = new float[rowCapacity];
            sum = new float[rowCapacity];
            kt = new float[d * keyChunk];
            v = new float[keyChunk * dPad];
            s = new float[MR * keyChunk];
            mergeRow = new float[dPad];
        }
    }
}
