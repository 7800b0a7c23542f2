package dev.longnet.storage;

import java.lang.foreign.MemorySegment;
import java.nio.ByteOrder;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.ShortVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorShape;
import jdk.incubator.vector.VectorSpecies;

/**
 * {@link Convert}'s runs a vector at a time: f16 and bf16 widen and narrow with integer and float bit arithmetic
 * (the Vector API has no half-float conversion), bit for bit as {@link DType#get} and {@link DType#set} do element
 * by element ({@link Float#float16ToFloat}, {@link Float#floatToFloat16}: round to nearest, ties to even; NaNs keep
 * their sign and payload as those do). Loaded only where the JVM has the Vector API ({@link VectorApi}).
 */
final class VectorConvert {
    private static final VectorSpecies<Float> FLOATS = FloatVector.SPECIES_PREFERRED;
    private static final VectorSpecies<Integer> INTS = IntVector.SPECIES_PREFERRED;
    private static final int LANES = FLOATS.length();
    /** As many shorts as there are floats in a vector: half the width. */
    private static final VectorSpecies<Short> SHORTS =
            VectorSpecies.of(short.class, VectorShape.forBitSize(FLOATS.vectorBitSize() / 2));
    private static final ByteOrder LE = ByteOrder.LITTLE_ENDIAN;

    private VectorConvert() { }

    /** As {@link Convert#read} for the whole vectors of the run; returns how many elements it did. */
    static int read(DType type, MemorySegment s, long index, float[] dst, int off, int count, float scale) {
        int i = 0;
        int bound = FLOATS.loopBound(count);
        switch (type) {
            case F32 -> {
                for (; i < bound; i += LANES) {
                    FloatVector.fromMemorySegment(FLOATS, s, (index + i) * 4, LE).mul(scale).intoArray(dst, off + i);
                }
            }
            case F16 -> {
                for (; i < bound; i += LANES) halfToFloat(shorts(s, index + i)).mul(scale).intoArray(dst, off + i);
            }
            case BF16 -> {
                for (; i < bound; i += LANES) {
                    shorts(s, index + i).lanewise(VectorOperators.LSHL, 16).reinterpretAsFloats()
                            .mul(scale).intoArray(dst, off + i);
                }
            }
        }
        return i;
    }

    /** As {@link Convert#write} for the whole vectors of the run; returns how many elements it did. */
    static int write(DType type, MemorySegment s, long index, float[] src, int off, int count) {
        int i = 0;
        int bound = FLOATS.loopBound(count);
        switch (type) {
            case F32 -> {
                for (; i < bound; i += LANES) {
                    FloatVector.fromArray(FLOATS, src, off + i).intoMemorySegment(s, (index + i) * 4, LE);
                }
            }
            case F16 -> {
                for (; i < bound; i += LANES) store(floatToHalf(FloatVector.fromArray(FLOATS, src, off + i)), s, index + i);
            }
            case BF16 -> {
                for (; i < bound; i += LANES) store(floatToBfloat(FloatVector.fromArray(FLOATS, src, off + i)), s, index + i);
            }
        }
        return i;
    }

    /** The LANES shorts at element index of s, zero-extended into ints. */
    private static IntVector shorts(MemorySegment s, long index) {
        return ((IntVector) ShortVector.fromMemorySegment(SHORTS, s, index * 2, LE)
                .convertShape(VectorOperators.S2I, INTS, 0)).and(0xFFFF);
    }

    private static void store(IntVector bits, MemorySegment s, long index) {
        bits.convertShape(VectorOperators.I2S, SHORTS, 0).reinterpretAsShorts().intoMemorySegment(s, index * 2, LE);
    }

    /**
     * Half-float bits (zero-extended) to float: exponent and significand shifted into place and scaled by 2^112
     * (exact, subnormals included); infinities and NaNs get the all-ones exponent and keep their significand.
     */
    static FloatVector halfToFloat(IntVector h) {
        IntVector sign = h.and(0x8000).lanewise(VectorOperators.LSHL, 16);
        IntVector magnitude = h.and(0x7FFF);
        IntVector shifted = magnitude.lanewise(VectorOperators.LSHL, 13);
        IntVector finite = shifted.reinterpretAsFloats().mul(0x1p112f).reinterpretAsInts();
        VectorMask<Integer> special = magnitude.compare(VectorOperators.GE, 0x7C00);
        return finite.blend(shifted.or(0x7F80_0000), special).or(sign).reinterpretAsFloats();
    }

    /**
     * Float to half-float bits, rounding to nearest even: adding 2^(e+2) (e the input's exponent, at least -14)
     * makes the float addition round away exactly the bits a half cannot hold, including for subnormal halves;
     * the product by 2^112·2^-110 turns magnitudes of 2^16 and more into infinity first. NaNs keep what
     * {@link Float#floatToFloat16} keeps of their payload.
     */
    static IntVector floatToHalf(FloatVector f) {
        IntVector w = f.reinterpretAsInts();
        IntVector sign = w.lanewise(VectorOperators.LSHR, 16).and(0x8000);
        IntVector a = w.and(0x7FFF_FFFF);
        FloatVector base = a.reinterpretAsFloats().mul(0x1p112f).mul(0x1p-110f);
        IntVector bias = a.and(0x7F80_0000).max(0x3880_0000);
        IntVector bits = bias.add(0x0780_0000).reinterpretAsFloats().add(base).reinterpretAsInts();
        IntVector rounded = bits.lanewise(VectorOperators.LSHR, 13).and(0x7C00).add(bits.and(0x0FFF));
        IntVector nan = a.lanewise(VectorOperators.LSHR, 13).and(0x03FF)
                .or(a.and(0x1FF0).lanewise(VectorOperators.LSHR, 4)).or(a.and(0xF)).or(0x7C00);
        return rounded.blend(nan, a.compare(VectorOperators.GT, 0x7F80_0000)).or(sign);
    }

    /** Float to bfloat16 bits as {@link DType#set}: round to nearest even; NaNs stay (quiet) NaNs. */
    static IntVector floatToBfloat(FloatVector f) {
        IntVector w = f.reinterpretAsInts();
        IntVector rounding = w.lanewise(VectorOperators.LSHR, 16).and(1).add(0x7FFF);
        IntVector rounded = w.add(rounding).lanewise(VectorOperators.LSHR, 16);
        IntVector nan = w.lanewise(VectorOperators.LSHR, 16).or(0x40);
        return rounded.blend(nan, w.and(0x7FFF_FFFF).compare(VectorOperators.GT, 0x7F80_0000));
    }
}
