package dev.longnet.cluster;

import dev.longnet.engine.AttentionConfig;
import dev.longnet.engine.Level;
import java.util.List;

/**
 * A job's work in tokens, as the engine's progress counts it: a row of a level weighs min(w, N)/r² (its share of
 * the flops), and the whole job is worth N tokens. Block b is worth its rows; the stages done, and the share of
 * the next one done, are worth that part of its levels' weight.
 */
final class BlockWork {
    private final BlockPlan plan;
    /** The weight of the levels of stages 0..s-1, summed in configuration order: [stages + 1]. */
    private final double[] before;

    BlockWork(AttentionConfig config, BlockPlan plan) {
        this.plan = plan;
        List<Stage> stages = Stage.of(config, plan);
        before = new double[stages.size() + 1];
        for (int s = 0; s < stages.size(); s++) {
            double sum = before[s];
            for (int i : stages.get(s).levels()) {
                Level level = config.levels().get(i);
                sum += (double) level.effectiveSegment(plan.n()) / ((double) level.dilation() * level.dilation());
            }
            before[s + 1] = sum;
        }
    }

    int stages() { return before.length - 1; }

    /** What block {@code block} is worth: its rows. */
    long total(int block) { return plan.end(block) - plan.first(block); }

    /**
     * What the block's first {@code stagesDone} stages and {@code fraction} (0 to 1) of the next one are worth, in
     * tokens; all stages done is exactly {@link #total}.
     */
    long done(int block, int stagesDone, double fraction) {
        if (stagesDone >= stages()) return total(block);
        double weight = before[stagesDone] + Math.clamp(fraction, 0, 1) * (before[stagesDone + 1] - before[stagesDone]);
        return Math.min(total(block), Math.round(total(block) * weight / before[stages()]));
    }
}
