package dev.longnet.cluster;

import dev.longnet.engine.AttentionConfig;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** A job's work in tokens: N in all, a block its rows, growing with the stages done and the share of the next. */
class BlockWorkTest {
    @Test
    void blocksAddUpToNAndGrowStageByStage() {
        AttentionConfig config = AttentionConfig.builder().levels(new long[]{16, 32, 64, 128, 1000}, new int[]{1, 2, 4, 6, 12})
                .heads(2).headDim(4).build();
        BlockPlan plan = BlockPlan.of(config, 250, 3);
        BlockWork work = new BlockWork(config, plan);
        assertEquals(4, work.stages());                     // (16, 32) local, then 64, 128 and 1000 spanning
        long sum = 0;
        for (int b = 0; b < plan.blocks(); b++) {
            assertEquals(0, work.done(b, 0, 0));
            long last = 0;
            for (int s = 0; s < work.stages(); s++) {
                for (double f : new double[]{0, 0.25, 0.5, 1}) {
                    long done = work.done(b, s, f);
                    assertTrue(done >= last, "block " + b + " stage " + s + " share " + f);
                    last = done;
                }
                assertEquals(work.done(b, s + 1, 0), work.done(b, s, 1));
            }
            assertEquals(plan.end(b) - plan.first(b), work.done(b, work.stages(), 0));
            sum += work.total(b);
        }
        assertEquals(250, sum);
        // the levels weigh min(w, N)/r²: 16, 8, 4, 128/36 and 250/144 of about 33.3; the first stage is 24 of them
        double all = 16 + 8 + 4 + 128 / 36.0 + 250 / 144.0;
        assertEquals(Math.round(96 * 24 / all), work.done(0, 1, 0));
    }
}
