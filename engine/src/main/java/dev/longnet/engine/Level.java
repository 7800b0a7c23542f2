package dev.longnet.engine;

/** One dilation level: segments of {@code segmentLength} positions, of which every {@code dilation}-th is kept. */
public record Level(long segmentLength, int dilation) {
    public Level {
        if (segmentLength < 1) throw new IllegalArgumentException("segment length must be >= 1, got " + segmentLength);
        if (dilation < 1) throw new IllegalArgumentException("dilation rate must be >= 1, got " + dilation);
    }

    /** The segment length for a sequence of n positions: a segment longer than the sequence is clamped to it. */
    public long effectiveSegment(long n) { return Math.min(segmentLength, n); }

    /** Rows of the dilated view at phase {@code offset} of a segment holding {@code segmentRows} real positions. */
    public static int viewRows(long segmentRows, int dilation, int offset) {
        return segmentRows <= offset ? 0 : Math.toIntExact((segmentRows - offset + dilation - 1) / dilation);
    }

    @Override
    public String toString() { return "(w=" + segmentLength + ", r=" + dilation + ")"; }
}
