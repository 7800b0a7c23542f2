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
    void torchscaleSemanticsIsPartOfTheJobAndAMalformedConfigurationIsRefused() {
        AttentionConfig torchscale = AttentionConfig.builder().levels(new long[]{16}, new int[]{3}).heads(1).headDim(64)
                .semantics(Semantics.TORCHSCALE).build();
        JobSpec spec = JobSpec.of(Q, K, V, OUT, torchscale, 1, 1 << 20);
        assertTrue(spec.config().contains("semantics=torchscale"), spec.config());
        assertEquals(Semantics.TORCHSCALE, spec.config(6, 8).semantics());
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> new JobSpec("q", "k", "v", "o", "segments=16 dilations=2", false, 1, 1 << 20));
        assertTrue(e.getMessage().startsWith("malformed attention configuration 'segments=16 dilations=2': no heads"),
                e.getMessage());
    }

    /** An interrupted run of one semantics is not resumed as the other: the run directory names what differs. */
    @Test
    void aRunDirectoryOfTheOtherSemanticsIsRefused(@org.junit.jupiter.api.io.TempDir Path dir) throws Exception {
        AttentionConfig exact = AttentionConfig.builder().levels(new long[]{16}, new int[]{3}).heads(2).headDim(4).build();
        Path[] qkv = Tensors.inputs(dir, new java.util.Random(1), 40, 2, 4, dev.longnet.storage.DType.F32);
        Path out = dir.resolve("out.npy");
        JobFiles.prepare(qkv[0], qkv[1], qkv[2], out, JobSpec.of(qkv[0], qkv[1], qkv[2], out, exact, 1, 1 << 20), 2);
        JobSpec torchscale = JobSpec.of(qkv[0], qkv[1], qkv[2], out,
                exact.toBuilder().semantics(Semantics.TORCHSCALE).build(), 1, 1 << 20);
        IllegalStateException e = assertThrows(IllegalStateException.class,
                () -> JobFiles.prepare(qkv[0], qkv[1], qkv[2], out, torchscale, 2));
        assertTrue(e.getMessage().contains("an interrupted run of another job") && e.getMessage().contains("semantics=exact")
                && e.getMessage().contains("semantics=torchscale"), e.getMessage());
    }
}
