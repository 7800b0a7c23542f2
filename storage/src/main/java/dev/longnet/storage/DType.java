package dev.longnet.storage;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;

/** Element types of stored tensors. Values are always handled as float in memory; narrower types widen on read. */
public enum DType {
    F32(4, "<f4", "F32"),
    F16(2, "<f2", "F16"),
    /** bfloat16: safetensors only (numpy has no standard descr for it). */
    BF16(2, null, "BF16");

    static final ValueLayout.OfFloat FLOAT = ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    static final ValueLayout.OfShort SHORT = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    private final int bytes;
    private final String npyDescr;
    private final String safetensorsName;

    DType(int bytes, String npyDescr, String safetensorsName) {
        this.bytes = bytes;
        this.npyDescr = npyDescr;
        this.safetensorsName = safetensorsName;
    }

    public int bytes() { return bytes; }

    /** numpy's descr string ("<f4"), or null where numpy has none. */
    public String npyDescr() { return npyDescr; }

    public String safetensorsName() { return safetensorsName; }

    /** The name commands take and print: "f32", "f16", "bf16". */
    public String label() { return name().toLowerCase(java.util.Locale.ROOT); }

    /** The element at index (in elements, not bytes) of a little-endian segment, widened to float. */
    public float get(MemorySegment s, long index) {
        return switch (this) {
            case F32 -> s.getAtIndex(FLOAT, index);
            case F16 -> Float.float16ToFloat(s.getAtIndex(SHORT, index));
            case BF16 -> Float.intBitsToFloat(s.getAtIndex(SHORT, index) << 16);
        };
    }

    /** Stores v at index, rounding to nearest-even for the narrow types. */
    public void set(MemorySegment s, long index, float v) {
        switch (this) {
            case F32 -> s.setAtIndex(FLOAT, index, v);
            case F16 -> s.setAtIndex(SHORT, index, Float.floatToFloat16(v));
            case BF16 -> s.setAtIndex(SHORT, index, toBfloat16(v));
        }
    }

    private static short toBfloat16(float v) {
        int bits = Float.floatToRawIntBits(v);
        if (Float.isNaN(v)) return (short) ((bits >>> 16) | 0x40);   // keep it a (quiet) NaN
        int rounding = 0x7FFF + ((bits >>> 16) & 1);                 // round to nearest, ties to even
        return (short) ((bits + rounding) >>> 16);
    }

    public static DType fromNpyDescr(String descr) {
        for (DType t : values()) if (descr.equals(t.npyDescr)) return t;
        return null;
    }

    public static DType fromSafetensors(String name) {
        for (DType t : values()) if (name.equals(t.safetensorsName)) return t;
        return null;
    }

    /** Parses "f32", "f16", "bf16" (case-insensitive), as users type them. */
    public static DType parse(String text) {
        for (DType t : values()) if (t.name().equalsIgnoreCase(text)) return t;
        throw new IllegalArgumentException("unsupported dtype '" + text + "' (expected f32, f16 or bf16)");
    }
}
