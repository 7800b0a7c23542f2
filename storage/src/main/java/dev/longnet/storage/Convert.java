package dev.longnet.storage;

import java.lang.foreign.MemorySegment;

/**
 * Runs of stored elements to and from float: a vector at a time where the JVM has the Vector API
 * ({@link VectorConvert}), element by element through {@link DType#get} and {@link DType#set} where it has not;
 * the two give the same bits.
 */
public final class Convert {
    private static final boolean VECTOR = VectorApi.available();

    private Convert() { }

    /** dst[off + i] = element (index + i) of s, widened, times scale, for i in [0, count). */
    public static void read(DType type, MemorySegment s, long index, float[] dst, int off, int count, float scale) {
        int i = VECTOR ? VectorConvert.read(type, s, index, dst, off, count, scale) : 0;
        for (; i < count; i++) dst[off + i] = type.get(s, index + i) * scale;
    }

    /** Element (index + i) of s = src[off + i], narrowed (rounding to nearest even), for i in [0, count). */
    public static void write(DType type, MemorySegment s, long index, float[] src, int off, int count) {
        int i = VECTOR ? VectorConvert.write(type, s, index, src, off, count) : 0;
        for (; i < count; i++) type.set(s, index + i, src[off + i]);
    }

    /**
     * Copies count elements of {@code from} (type fromType) from element fromIndex into {@code to} (type toType)
     * from element toIndex, through buffer.
     */
    public static void copy(DType fromType, MemorySegment from, long fromIndex, DType toType, MemorySegment to,
                            long toIndex, long count, float[] buffer) {
        for (long done = 0; done < count; ) {
            int n = (int) Math.min(buffer.length, count - done);
            read(fromType, from, fromIndex + done, buffer, 0, n, 1f);
            write(toType, to, toIndex + done, buffer, 0, n);
            done += n;
        }
    }
}
