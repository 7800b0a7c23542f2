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
    public record Pass(List<Integer> levels, long windowRows) { }

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
