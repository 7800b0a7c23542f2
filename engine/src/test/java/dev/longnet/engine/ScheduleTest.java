package dev.longnet.engine;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;

/**
 * Properties of the plan, for random configurations, lengths and budgets: levels keep configuration order across
 * passes; the units of each pass tile [0, N) in order; every window holds whole segments of every level of its
 * pass, so that each (level, segment) — and with it each of its heads, which every unit runs — is covered by
 * exactly one window, and each of its query rows by exactly one unit; a unit's query rows fit the budget (a segment
 * larger than the budget is cut into several units).
 */
class ScheduleTest {
    @Test
    void everySegmentOfEveryLevelIsInExactlyOneUnitOfItsPass() {
        Random random = new Random(42);
        for (int trial = 0; trial < 2000; trial++) {
            int n = 1 + random.nextInt(random.nextBoolean() ? 100 : 20_000);
            AttentionConfig config = trial % 2 == 0 ? TestData.randomConfig(random, n)
                    : TestData.randomTorchscaleConfig(random, n);
            long budget = 1 + random.nextInt(3 * n);
            Schedule schedule = Schedule.plan(config, n, budget);
            String what = config + " n=" + n + " budget=" + budget + ": " + schedule.describe();

            List<Integer> order = new ArrayList<>();
            schedule.passes().forEach(p -> order.addAll(p.levels()));
            List<Integer> all = new ArrayList<>();
            for (int i = 0; i < config.levels().size(); i++) all.add(i);
            assertEquals(all, order, "levels in configuration order, each in one pass: " + what);

            long ordinal = 0;
            for (int p = 0; p < schedule.passes().size(); p++) {
                Schedule.Pass pass = schedule.passes().get(p);
                long next = 0;
                for (long index = 0; index < pass.units(n); index++, ordinal++) {
                    Schedule.Unit unit = schedule.unit(p, index, n);
                    assertEquals(unit, schedule.unitAt(ordinal, n), what);
                    assertEquals(next, unit.firstRow(), "units tile the rows in order: " + what);
                    assertTrue(unit.rows() > 0, what);
                    next = unit.firstRow() + unit.rows();
                    long windowEnd = unit.windowFirst() + unit.windowRows();
                    assertTrue(unit.windowFirst() <= unit.firstRow() && next <= windowEnd, "queries within the window: " + what);
                    for (int level : pass.levels()) {
                        // Under torchscale semantics a shifted level's windows are whole padded segments (g rows of
                        // output), alone in their pass.
                        PaddedLayout layout = PaddedLayout.of(config.levels().get(level), n);
                        boolean shifted = config.semantics() == Semantics.TORCHSCALE && layout.shifted();
                        if (shifted) assertEquals(List.of(level), pass.levels(), "a shifted level is alone: " + what);
                        long w = shifted ? layout.g() : config.levels().get(level).effectiveSegment(n);
                        assertEquals(0, unit.windowFirst() % w, "a window starts on a segment of level " + level + ": " + what);
                        assertTrue(windowEnd % w == 0 || windowEnd == n, "a window ends on a segment of level " + level
                                + ": " + what);
                    }
                    assertTrue(unit.rows() <= budget, "a unit's queries fit the budget: " + what);
                    if (!pass.split()) assertEquals(unit.firstRow(), unit.windowFirst(), what);
                    if (pass.split()) assertEquals(1, pass.levels().size(), "only one segment alone is split: " + what);
                }
                assertEquals(n, next, "the units of a pass cover all rows: " + what);
            }
            assertEquals(schedule.unitCount(n), ordinal, what);
        }
    }
}
