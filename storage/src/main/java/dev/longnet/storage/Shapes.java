package dev.longnet.storage;

/** Products of dimensions without overflow: the one idiom for every shape check of the project. */
public final class Shapes {
    private Shapes() { }

    /** a·b for non-negative a and b, or -1 when the product does not fit in a long. */
    public static long product(long a, long b) {
        return Math.multiplyHigh(a, b) != 0 || a * b < 0 ? -1 : a * b;
    }

    /**
     * Bytes of the elements of {@code shape} from dimension {@code from} on, at {@code elementBytes} each, or -1 when
     * a dimension is negative or the count does not fit in a long.
     */
    public static long bytes(long[] shape, int from, long elementBytes) {
        long bytes = elementBytes;
        for (int i = from; i < shape.length && bytes >= 0; i++) bytes = shape[i] < 0 ? -1 : product(bytes, shape[i]);
        return bytes;
    }
}
