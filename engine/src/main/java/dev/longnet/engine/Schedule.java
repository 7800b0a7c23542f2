package dev.longnet.engine;

import java.util.ArrayList;
import java.util.List;

/**
 * The bounded order of work (docs/DESIGN.md): levels are grouped, in configuration order, into passes whose
 * windows hold whole segments of every level of the pass. A pass walks the sequence window by window; each window
 * is mapped once and every level of the pass runs on it before it is unmapped. A level whose segment exceeds the
 * budget gets a pass of its own with one segment per window.
 *
 * <p>Every (position, head) therefore merges its levels in configuration order whatever the budget, and the
 * result does not depend on the budget or on the thread count.
 */
public record Schedule(List<Pass> passes) {

    /** Levels (indexes into the configuration) run together over windows of {@code windowRows} rows. */
    public record Pass(List<Integer> levels, long windowRows) {
        /** Windows of this pass over n rows. */
        public long windows(long n) { return (n + windowRows - 1) / windowRows; }

        /** The levels as a bit mask (bit i: level i; levels past 63 fold onto bit 63). */
        public long levelMask() {
            long mask = 0;
            for (int level : levels) mask |= 1L << Math.min(level, 63);
            return mask;
        }
    }

    /**
     * The unit of resumable work: every level of pass {@code pass} on its window {@code index}, rows
     * [firstRow, firstRow + rows). A unit's writes stay within its rows (windows hold whole segments of every
     * level of the pass), units run one after another in schedule order, and each merges into what earlier
     * passes left in its rows.
     */
    public record Unit(int pass, long index, long firstRow, long rows, List<Integer> levels, long levelMask) {
        @Override
        public String toString() {
            return "unit " + index + " of pass " + pass + " (levels " + levels + ", rows " + firstRow + ".."
                    + (firstRow + rows - 1) + ")";
        }
    }

    /** Unit {@code index} of pass {@code pass} over n rows. */
    public Unit unit(int pass, long index, long n) {
        Pass p = passes.get(pass);
        long first = index * p.windowRows();
        if (index < 0 || first >= n) throw new IndexOutOfBoundsException("pass " + pass + " has no window " + index);
        return new Unit(pass, index, first, Math.min(p.windowRows(), n - first), p.levels(), p.levelMask());
    }

    /** The unit at position {@code ordinal} of the whole run over n rows, in schedule order. */
    public Unit unitAt(long ordinal, long n) {
        long rest = ordinal;
        for (int p = 0; p < passes.size(); p++) {
            long windows = passes.get(p).windows(n);
            if (rest < windows) return unit(p, rest, n);
            rest -= windows;
        }
        throw new IndexOutOfBoundsException("the run has no unit " + ordinal);
    }

    /** Units of the whole run over n rows. */
    public long unitCount(long n) {
        long count = 0;
        for (Pass p : passes) count += p.windows(n);
        return count;
    }

    /** A line that identifies the plan: two plans with the same text cut the work into the same units. */
    public String describe() {
        StringBuilder text = new StringBuilder();
        for (Pass p : passes) {
            if (!text.isEmpty()) text.append("; ");
            text.append("levels ").append(p.levels()).append(" windows of ").append(p.windowRows()).append(" rows");
        }
        return text.toString();
    }

    public static Schedule plan(AttentionConfig config, long n, long budgetRows) {
        List<Pass> passes = new ArrayList<>();
        List<Integer> current = new ArrayList<>();
        long common = 1;
        for (int i = 0; i < config.levels().size(); i++) {
            long w = config.levels().get(i).effectiveSegment(n);
            long joined = lcm(common, w);
            if (!current.isEmpty() && (joined > budgetRows || joined < 0)) {
                passes.add(pass(current, common, budgetRows));
                current = new ArrayList<>();
                joined = w;
            }
            current.add(i);
            common = joined;
        }
        passes.add(pass(current, common, budgetRows));
        return new Schedule(List.copyOf(passes));
    }

    private static Pass pass(List<Integer> levels, long common, long budgetRows) {
        long windowRows = common >= budgetRows ? common : budgetRows / common * common;
        return new Pass(List.copyOf(levels), windowRows);
    }

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
