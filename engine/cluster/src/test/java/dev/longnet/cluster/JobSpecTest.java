package dev.longnet.cluster;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.longnet.engine.AttentionConfig;
import dev.longnet.engine.HeadOffsetRule;
import dev.longnet.engine.Semantics;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;

/** A job carries its configuration as the configuration's text form; the members put in q's head layout. */
class JobSpecTest {
    private static final Path Q = Path.of("q.npy"), K = Path.of("k.npy"), V = Path.of("v.npy"), OUT = Path.of("o.npy");

    @Test
    void theMembersGetTheSameConfigurationForQsHeads() {
        AttentionConfig config = AttentionConfig.builder().levels(new long[]{16, 64}, new int[]{1, 4}).heads(6).headDim(8)
                .causal(true).offsetRule(HeadOffsetRule.PAPER).scale(0.3f).build();
        JobSpec spec = JobSpec.of(Q, K, V, OUT, config, 1, 1 << 20);
        assertEquals(config.toText(), spec.config());
        assertEquals(config, spec.config(6, 8));
        AttentionConfig other = spec.config(2, 16);
        assertEquals(config.toBuilder().heads(2).headDim(16).build(), other);
        assertEquals(0.3f, other.scale());
        // Without --scale: 1/sqrt of q's head dimension, not of the submitter's placeholder.
        JobSpec defaulted = JobSpec.of(Q, K, V, OUT, AttentionConfig.builder().levels(config.levels()).heads(1).headDim(64).build(), true, 1, 1 << 20);
        assertEquals(0.25f, defaulted.config(3, 16).scale());
        assertEquals(0.125f, defaulted.config(3, 64).scale());
    }

    @Test
    void torchscaleSemanticsAndAMalformedConfigurationAreRefused() {
        AttentionConfig torchscale = AttentionConfig.builder().levels(new long[]{16}, new int[]{2}).heads(1).headDim(64)
                .semantics(Semantics.TORCHSCALE).build();
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> JobSpec.of(Q, K, V, OUT, torchscale, 1, 1 << 20));
        assertEquals("the cluster computes the exact semantics only, not TORCHSCALE", e.getMessage());
        e = assertThrows(IllegalArgumentException.class,
                () -> new JobSpec("q", "k", "v", "o", "segments=16 dilations=2", false, 1, 1 << 20));
        assertTrue(e.getMessage().startsWith("malformed attention configuration 'segments=16 dilations=2': no heads"),
                e.getMessage());
    }
}
