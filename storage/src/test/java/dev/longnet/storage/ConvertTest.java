package dev.longnet.storage;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.fail;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/** The vector conversions against DType's element-by-element ones, bit for bit. */
class ConvertTest {
    private static final int HALVES = 1 << 16;

    @Test
    void widensEveryHalfAndBfloatPatternAsTheScalarPath() {
        for (DType type : new DType[]{DType.F16, DType.BF16}) {
            MemorySegment s = Arena.ofAuto().allocate(HALVES * 2L);
            for (int h = 0; h < HALVES; h++) s.setAtIndex(DType.SHORT, h, (short) h);
            for (float scale : new float[]{1f, 0.125f, 0.3f}) {
                float[] dst = new float[HALVES + 3];
                for (int from = 0; from < HALVES; from += 37) {           // odd runs: the vector body and the tail
                    Convert.read(type, s, from, dst, from + 3, Math.min(37, HALVES - from), scale);
                }
                for (int h = 0; h < HALVES; h++) {
                    float expected = type.get(s, h) * scale;
                    String where = type + " pattern " + h + " scale " + scale;
                    assertEquals(Float.floatToRawIntBits(expected), Float.floatToRawIntBits(dst[h + 3]), where);
                }
            }
        }
    }

    @Test
    void narrowsAsTheScalarPathAtEveryHalfItsNeighboursAndRandomFloats() {
        SplittableRandom random = new SplittableRandom(15);
        int n = 8 * HALVES + (1 << 18);
        float[] values = new float[n];
        int at = 0;
        for (int h = 0; h < HALVES; h++) {
            float x = Float.float16ToFloat((short) h);
            float next = Float.float16ToFloat((short) (h + 1));
            float mid = (x + next) / 2;                                   // exact ties between halves (and bf16 alike)
            values[at++] = x;
            values[at++] = mid;
            values[at++] = Math.nextUp(mid);
            values[at++] = Math.nextDown(mid);
            values[at++] = Math.nextUp(x);
            values[at++] = Math.nextDown(x);
            values[at++] = Float.intBitsToFloat(h << 16 | 0x8000);          // bf16 ties
            values[at++] = Float.intBitsToFloat(h << 16 | 0x7FFF);
        }
        while (at < n) values[at++] = Float.intBitsToFloat(random.nextInt()); // NaNs, infinities, subnormals too
        for (DType type : DType.values()) {
            MemorySegment vector = Arena.ofAuto().allocate((long) n * type.bytes());
            MemorySegment scalar = Arena.ofAuto().allocate((long) n * type.bytes());
            for (int from = 0; from < n; from += 1001) Convert.write(type, vector, from, values, from, Math.min(1001, n - from));
            for (int i = 0; i < n; i++) type.set(scalar, i, values[i]);
            for (int i = 0; i < n; i++) {
                float v = values[i], fromVector = type.get(vector, i), fromScalar = type.get(scalar, i);
                boolean same = Float.isNaN(v)        // the compiled Float.floatToFloat16 quiets NaNs, the interpreted
                        ? Float.isNaN(fromVector) && Math.copySign(1f, v) == Math.copySign(1f, fromVector)  // does not
                        : Float.floatToRawIntBits(fromScalar) == Float.floatToRawIntBits(fromVector);
                if (!same) fail(type + " of " + Float.toHexString(v) + ": " + fromVector + ", not " + fromScalar);
            }
        }
    }

    @Test
    void copiesBetweenTypesThroughASmallBuffer() {
        SplittableRandom random = new SplittableRandom(3);
        int n = 10_007;
        MemorySegment f32 = Arena.ofAuto().allocate(n * 4L);
        for (int i = 0; i < n; i++) f32.setAtIndex(DType.FLOAT, i, (float) random.nextGaussian() * 100);
        for (DType type : new DType[]{DType.F16, DType.BF16}) {
            MemorySegment narrow = Arena.ofAuto().allocate(n * 2L);
            Convert.copy(DType.F32, f32, 0, type, narrow, 0, n, new float[100]);
            MemorySegment back = Arena.ofAuto().allocate(n * 4L);
            Convert.copy(type, narrow, 0, DType.F32, back, 0, n, new float[64]);
            for (int i = 0; i < n; i++) {
                float expected = type.get(scalarNarrow(type, f32.getAtIndex(DType.FLOAT, i)), 0);
                assertEquals(expected, back.getAtIndex(DType.FLOAT, i), type + " element " + i);
            }
        }
    }

    private static MemorySegment scalarNarrow(DType type, float value) {
        MemorySegment one = MemorySegment.ofArray(new short[1]);
        type.set(one, 0, value);
        return one;
    }
}
