package dev.longnet.cluster;

import dev.longnet.engine.AttentionConfig;
import dev.longnet.engine.HeadOffsetRule;
import java.io.Serial;
import java.io.Serializable;
import java.nio.file.Path;
import java.util.Arrays;

/**
 * One distributed job as it crosses the network: the input and output paths (each member resolves them under its
 * data directory), the levels and the attention options. Heads and head dimension come from q's shape on the
 * members. Only primitives, strings and primitive arrays, so that the deserialization allowlist stays tiny.
 *
 * @param scale          the softmax scale, or 0 for 1/sqrt(headDim)
 * @param threads        worker threads per member
 * @param windowBudget   bytes of rows a member maps at once for its local levels
 */
public record JobSpec(String q, String k, String v, String out, long[] segments, int[] dilations, boolean causal,
                      String offsets, float scale, int threads, long windowBudget) implements Serializable {
    @Serial
    private static final long serialVersionUID = 1L;

    public JobSpec {
        if (segments.length != dilations.length || segments.length == 0) {
            throw new IllegalArgumentException("segments " + Arrays.toString(segments) + " and dilations "
                    + Arrays.toString(dilations) + " must be non-empty and of the same length");
        }
        HeadOffsetRule.parse(offsets);
        if (threads < 1) throw new IllegalArgumentException("threads must be >= 1, got " + threads);
        if (windowBudget < 1) throw new IllegalArgumentException("window budget must be positive");
    }

    /** The job of {@code config}'s levels and options on these files. */
    public static JobSpec of(Path q, Path k, Path v, Path out, AttentionConfig config, int threads, long windowBudget) {
        if (config.semantics() != dev.longnet.engine.Semantics.EXACT) {
            throw new IllegalArgumentException("the cluster computes the exact semantics only, not " + config.semantics());
        }
        long[] w = config.levels().stream().mapToLong(l -> l.segmentLength()).toArray();
        int[] r = config.levels().stream().mapToInt(l -> l.dilation()).toArray();
        return new JobSpec(q.toString(), k.toString(), v.toString(), out.toString(), w, r, config.causal(),
                config.offsetRule().name(), config.scale(), threads, windowBudget);
    }

    /** The configuration for q's head layout. */
    public AttentionConfig config(int heads, int headDim) {
        AttentionConfig.Builder builder = AttentionConfig.builder().levels(segments, dilations).heads(heads)
                .headDim(headDim).causal(causal).offsetRule(HeadOffsetRule.parse(offsets));
        if (scale > 0) builder.scale(scale);
        return builder.build();
    }

    @Override
    public String toString() {
        return "JobSpec[q=" + q + " k=" + k + " v=" + v + " out=" + out + " segments=" + Arrays.toString(segments)
                + " dilations=" + Arrays.toString(dilations) + " causal=" + causal + " offsets=" + offsets + "]";
    }
}
