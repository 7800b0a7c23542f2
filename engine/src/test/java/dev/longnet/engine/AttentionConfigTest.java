package dev.longnet.engine;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import org.junit.jupiter.api.Test;

class AttentionConfigTest {
    @Test
    void invalidConfigurationsSayWhatIsWrong() {
        assertMessage("at least one level", () -> AttentionConfig.builder().heads(1).headDim(8).build());
        IllegalStateException unset = assertThrows(IllegalStateException.class,
                () -> AttentionConfig.preset("bench").headDim(64).build());
        assertTrue(unset.getMessage().contains("the number of heads is not set"), unset.getMessage());
        unset = assertThrows(IllegalStateException.class, () -> AttentionConfig.preset("bench").heads(8).build());
        assertTrue(unset.getMessage().contains("the head dimension is not set"), unset.getMessage());
        assertMessage("segment length must be >= 1", () -> new Level(0, 1));
        assertMessage("dilation rate must be >= 1", () -> new Level(8, 0));
        assertMessage("same number of entries", () -> AttentionConfig.levels(new long[]{8, 16}, new int[]{1}));
        assertMessage("heads must be >= 1", () -> AttentionConfig.preset("bench").heads(0).headDim(64).build());
        assertMessage("head dimension must be >= 1", () -> AttentionConfig.preset("bench").heads(1).headDim(0).build());
        assertMessage("softmax scale", () -> AttentionConfig.preset("bench").heads(1).headDim(64).scale(-1f).build());
        assertMessage("unknown preset 'nope' (known: bench, paper, pow2)", () -> AttentionConfig.preset("nope"));
        assertMessage("unknown head-offset rule", () -> HeadOffsetRule.parse("diagonal"));
    }

    @Test
    void presetsAndDefaults() {
        AttentionConfig paper = AttentionConfig.preset("paper").heads(12).headDim(64).build();
        assertEquals(List.of(new Level(2048, 1), new Level(4096, 2), new Level(8192, 4), new Level(16384, 6),
                new Level(32768, 12)), paper.levels());
        assertEquals(0.125f, paper.scale());
        assertEquals(HeadOffsetRule.TORCHSCALE, paper.offsetRule());
    }

    @Test
    void flopsAreCountedAsTheSpecCountsThem() {
        AttentionConfig c = AttentionConfig.builder().levels(new long[]{2048, 4096}, new int[]{1, 2}).heads(2).headDim(16).build();
        // 4·N·d·H·Σ min(w,N)/r² with N = 1000: both segments clamp to 1000.
        assertEquals(4.0 * 1000 * 16 * 2 * (1000 + 1000 / 4.0), c.flops(1000), 1e-6);
        AttentionConfig causal = AttentionConfig.builder().levels(c.levels()).heads(2).headDim(16).causal(true).build();
        assertEquals(c.flops(1 << 20) / 2, causal.flops(1 << 20), 1e-6);
    }

    @Test
    void headOffsetRules() {
        // torchscale: contiguous groups of ceil(H/r) heads; paper: h mod r. H = 5, r = 2: groups of 3.
        int[] torchscale = new int[5];
        int[] paper = new int[5];
        for (int h = 0; h < 5; h++) {
            torchscale[h] = HeadOffsetRule.TORCHSCALE.offset(h, 2, 5);
            paper[h] = HeadOffsetRule.PAPER.offset(h, 2, 5);
        }
        assertEquals(List.of(0, 0, 0, 1, 1), List.of(torchscale[0], torchscale[1], torchscale[2], torchscale[3], torchscale[4]));
        assertEquals(List.of(0, 1, 0, 1, 0), List.of(paper[0], paper[1], paper[2], paper[3], paper[4]));
        // r = 4, H = 2: torchscale puts both heads in phases 0 and 1; phases 2 and 3 get no head.
        assertEquals(1, HeadOffsetRule.TORCHSCALE.offset(1, 4, 2));
    }

    @Test
    void schedulePutsLevelsThatFitTheBudgetInOnePass() {
        AttentionConfig bench = AttentionConfig.preset("bench").heads(8).headDim(64).build();
        Schedule one = Schedule.plan(bench, 1 << 20, 32768);
        assertEquals(1, one.passes().size());
        assertEquals(32768, one.passes().get(0).windowRows());
        Schedule split = Schedule.plan(bench, 1 << 20, 5000);
        // 2048 and 4096 share a 4096-row window; 8192 and 16384 exceed the budget and get one segment each, cut
        // into units of at most 5000 query rows.
        assertEquals(3, split.passes().size());
        assertEquals(List.of(0, 1), split.passes().get(0).levels());
        assertEquals(4096, split.passes().get(0).windowRows());
        assertEquals(8192, split.passes().get(1).windowRows());
        assertEquals(16384, split.passes().get(2).windowRows());
        assertEquals(5000, split.passes().get(2).unitRows());
        assertEquals(4 * 64, split.passes().get(2).units(1 << 20));
    }

    private static void assertMessage(String expected, Runnable action) {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, action::run);
        assertTrue(e.getMessage().contains(expected), e.getMessage());
    }
}
