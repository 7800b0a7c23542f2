package dev.longnet.engine;

/**
 * torchscale's padded layout of one level (SPEC.md "torchscale semantics"): segments of sl = min(w, N) input rows,
 * each zero-padded to g = ceil(sl/r)·r rows, laid end to end; output row p is padded position p. Segment s reads
 * input rows [s·sl, s·sl + sl) and writes output rows [s·P, s·P + g) ∩ [0, N), where the output period P is g when
 * the level shifts (sl % r != 0 and there are several segments) and sl otherwise (then the layouts agree on every
 * real row, and padding only adds zero keys after the last real row of a phase).
 *
 * <p>In phase o of segment s (view rows j = 0, 1, ..., g/r - 1, padded position s·g + o + j·r), rows j < m hold
 * input rows s·sl + o + j·r; rows j >= m are zero rows: keys of score 0 and value 0, and queries q = 0.
 */
public record PaddedLayout(long n, long sl, int r, long g, boolean shifted) {

    public static PaddedLayout of(Level level, long n) {
        long sl = level.effectiveSegment(n);
        int r = level.dilation();
        long g = Math.ceilDiv(sl, r) * r;
        return new PaddedLayout(n, sl, r, g, sl % r != 0 && n > sl);
    }

    /** Rows between the starts of consecutive segments' outputs. */
    public long outputPeriod() { return shifted ? g : sl; }

    /** Rows of every phase of a padded segment: g / r. */
    public int phaseRows() { return Math.toIntExact(g / r); }

    /** Segments: ceil(N / sl). */
    public long segments() { return Math.ceilDiv(n, sl); }

    /** Real (input) rows of phase o of segment s. */
    public int realRows(long s, int o) { return Level.viewRows(Math.min(sl, n - s * sl), r, o); }

    /** View rows j of phase o of segment s whose output row s·P + o + j·r is below N (real rows and zero queries). */
    public int outputRows(long s, int o) {
        return Math.min(phaseRows(), Level.viewRows(Math.max(0, n - s * outputPeriod()), r, o));
    }

    /** The input rows [first, end) that the segments writing output rows [outFirst, outEnd) read. */
    public long inputFirst(long outFirst) { return outFirst / outputPeriod() * sl; }

    public long inputEnd(long outEnd) { return Math.min(n, Math.ceilDiv(outEnd, outputPeriod()) * sl); }
}
