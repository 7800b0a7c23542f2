package dev.longnet.engine;

/** Rounding sizes up to a multiple (vector lanes, micro-tile rows, CUDA blocks). */
public final class Align {
    private Align() { }

    /** The least multiple of {@code multiple} that is at least {@code x} (x >= 0, multiple > 0). */
    public static int roundUp(int x, int multiple) { return (x + multiple - 1) / multiple * multiple; }
}
