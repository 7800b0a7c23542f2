package dev.longnet.engine;

import java.util.ArrayList;
import java.util.List;

/**
 * The bounded order of work (docs/DESIGN.md): levels are grouped, in configuration order, into passes whose
 * windows hold whole segments of every level of the pass. A pass walks the sequence window by window; each window
 * is mapped once and every level of the pass runs on it before it is unmapped. A level whose segment exceeds the
 * budget gets a pass of its own with one segment per window, and that window is cut into units of query rows
 * within the budget (each unit attends its queries to the whole segment's keys), so that progress moves and a
 * resume loses at most one unit however long the segment.
 *
 * <p>Under torchscale semantics a level whose segments shift ({@link PaddedLayout}) gets a pass of its own whose
 * windows hold whole padded segments of output rows; they read the input rows of the same segments.
 *
 * <p>Every (position, head) therefore merges its levels in configuration order whatever the budget, and the
 * result does not depend on the budget or on the thread count.
 */
public record Schedule(List<Pass> passes) {

    /**
     * Levels (indexes into the configuration) run together over windows of {@code windowRows} rows, in units of
     * {@code unitRows} query rows ({@code unitRows == windowRows} unless one segment exceeds the budget).
     */
    public record Pass(List<Integer> levels, long windowRows, long unitRows) {
        /** Units of this pass over n rows. */
        public long units(long n) {
            long fullWindows = n / windowRows;
            long lastRows = n - fullWindows * windowRows;
            return fullWindows * ceilDiv(windowRows, unitRows) + ceilDiv(lastRows, unitRows);
        }

        /** True when a window is cut into several units of query rows. */
        public boolean split() { return unitRows < windowRows; }

        /** The levels as a bit mask (bit i: level i; levels past 63 fold onto bit 63). */
        public long levelMask() {
            long mask = 0;
            for (int level : levels) mask |= 1L << Math.min(level, 63);
            return mask;
        }
    }

    /**
     * The unit of resumable work: every level of pass {@code pass} for the queries of rows [firstRow, firstRow +
     * rows), against the keys of its window [windowFirst, windowFirst + windowRows) (the same rows unless the pass
     * is split). A unit's writes stay within its rows (windows hold whole segments of every level of the pass),
     * units run one after another in schedule order, and each merges into what earlier passes left in its rows.
     */
    public record Unit(int pass, long index, long firstRow, long rows, long windowFirst, long windowRows,
                       List<Integer> levels, long levelMask) {
        @Override
        public String toString() {
            return "unit " + index + " of pass " + pass + " (levels " + levels + ", rows " + firstRow + ".."
                    + (firstRow + rows - 1) + ")";
        }
    }

    /** Unit {@code index} of pass {@code pass} over n rows. */
    public Unit unit(int pass, long index, long n) {
        Pass p = passes.get(pass);
        if (index < 0 || index >= p.units(n)) throw new IndexOutOfBoundsException("pass " + pass + " has no unit " + index);
        long perWindow = ceilDiv(p.windowRows(), p.unitRows());
        long window = Math.min(index / perWindow, n / p.windowRows());      // the last, shorter window has fewer units
        long part = index - window * perWindow;
        long windowFirst = window * p.windowRows();
        long windowRows = Math.min(p.windowRows(), n - windowFirst);
        long first = windowFirst + part * p.unitRows();
        return new Unit(pass, index, first, Math.min(p.unitRows(), windowFirst + windowRows - first), windowFirst,
                windowRows, p.levels(), p.levelMask());
    }

    /** The unit at position {@code ordinal} of the whole run over n rows, in schedule order. */
    public Unit unitAt(long ordinal, long n) {
        long rest = ordinal;
        for (int p = 0; p < passes.size(); p++) {
            long units = passes.get(p).units(n);
            if (rest < units) return unit(p, rest, n);
            rest -= units;
        }
        throw new IndexOutOfBoundsException("the run has no unit " + ordinal);
    }

    /** Units of the whole run over n rows. */
    public long unitCount(long n) {
        long count = 0;
        for (Pass p : passes) count += p.units(n);
        return count;
    }

    /** A line that identifies the plan: two plans with the same text cut the work into the same units. */
    public String describe() {
        StringBuilder text = new StringBuilder();
        for (Pass p : passes) {
            if (!text.isEmpty()) text.append("; ");
            text.append("levels ").append(p.levels()).append(" windows of ").append(p.windowRows()).append(" rows");
            if (p.split()) text.append(" in units of ").append(p.unitRows()).append(" query rows");
        }
        return text.toString();
    }

    public static Schedule plan(AttentionConfig config, long n, long budgetRows) {
        List<Pass> passes = new ArrayList<>();
        List<Integer> current = new ArrayList<>();
        long common = 1;
        for (int i = 0; i < config.levels().size(); i++) {
            long w = config.levels().get(i).effectiveSegment(n);
            PaddedLayout layout = PaddedLayout.of(config.levels().get(i), n);
            if (config.semantics() == Semantics.TORCHSCALE && layout.shifted()) {
                // Its outputs repeat every g rows and its inputs every sl: a pass of its own, windows of whole
                // padded segments (output rows), each reading the input rows of the same segments.
                if (!current.isEmpty()) passes.add(pass(current, common, budgetRows));
                passes.add(pass(List.of(i), layout.g(), budgetRows));
                current = new ArrayList<>();
                common = 1;
                continue;
            }
            long joined = lcm(common, w);
            if (!current.isEmpty() && (joined > budgetRows || joined < 0)) {
                passes.add(pass(current, common, budgetRows));
                current = new ArrayList<>();
                joined = w;
            }
            current.add(i);
            common = joined;
        }
        if (!current.isEmpty()) passes.add(pass(current, common, budgetRows));
        return new Schedule(List.copyOf(passes));
    }

    /** Windows of whole segments within the budget, or of one segment cut into units of budget rows. */
    private static Pass pass(List<Integer> levels, long common, long budgetRows) {
        if (common > budgetRows) return new Pass(List.copyOf(levels), common, budgetRows);
        long windowRows = budgetRows / common * common;
        return new Pass(List.copyOf(levels), windowRows, windowRows);
    }

    private static long ceilDiv(long a, long b) { return (a + b - 1) / b; }

    /** Least common multiple, or -1 on overflow. */
    private static long lcm(long a, long b) {
        long g = gcd(a, b);
        long x = a / g;
        return x > Long.MAX_VALUE / b ? -1 : x * b;
    }

    private static long gcd(long a, long b) {
        while (b != 0) {
            long t = a % b;
            a = b;
            b = t;
        }
        return a;
    }
}
