package dev.longnet.cluster;

import dev.longnet.engine.AttentionConfig;
import java.util.ArrayList;
import java.util.List;

/**
 * A step of a block's work, in configuration order: a run of consecutive local levels (computed by the engine on the
 * block, as on one machine), or one spanning level (gathered slices). Each stage is journaled once done.
 *
 * @param levels   indexes into the configuration's levels
 */
record Stage(List<Integer> levels, boolean spanning) {
    static List<Stage> of(AttentionConfig config, BlockPlan plan) {
        List<Stage> stages = new ArrayList<>();
        List<Integer> local = new ArrayList<>();
        for (int i = 0; i < config.levels().size(); i++) {
            if (plan.local(config, config.levels().get(i))) {
                local.add(i);
                continue;
            }
            if (!local.isEmpty()) stages.add(new Stage(List.copyOf(local), false));
            local.clear();
            stages.add(new Stage(List.of(i), true));
        }
        if (!local.isEmpty()) stages.add(new Stage(List.copyOf(local), false));
        return List.copyOf(stages);
    }
}
