package dev.longnet.cluster;

import dev.longnet.engine.AttentionConfig;
import java.io.Serial;
import java.io.Serializable;
import java.nio.file.Path;

/**
 * One distributed job as it crosses the network: the input and output paths (each member resolves them under its
 * data directory), the configuration and how the members run it. Heads and head dimension come from q's shape on
 * the members. Only primitives and strings, so that the deserialization allowlist stays tiny.
 *
 * @param config         the configuration's text form ({@link AttentionConfig#toText()}); its heads and head
 *                       dimension are replaced by q's on the members
 * @param defaultScale   whether the softmax scale is 1/sqrt of q's head dimension rather than the config's scale
 * @param threads        worker threads per member
 * @param windowBudget   bytes of rows a member maps at once for its local levels
 */
public record JobSpec(String q, String k, String v, String out, String config, boolean defaultScale, int threads,
                      long windowBudget) implements Serializable {
    @Serial
    private static final long serialVersionUID = 2L;

    public JobSpec {
        AttentionConfig.parse(config);                               // a malformed configuration: one line
        if (threads < 1) throw new IllegalArgumentException("threads must be >= 1, got " + threads);
        if (windowBudget < 1) throw new IllegalArgumentException("window budget must be positive");
    }

    /** The job of {@code config}'s levels and options, its scale included, on these files. */
    public static JobSpec of(Path q, Path k, Path v, Path out, AttentionConfig config, int threads, long windowBudget) {
        return of(q, k, v, out, config, false, threads, windowBudget);
    }

    /** The job of {@code config}'s levels and options on these files; see {@link #defaultScale()}. */
    public static JobSpec of(Path q, Path k, Path v, Path out, AttentionConfig config, boolean defaultScale, int threads,
                             long windowBudget) {
        return new JobSpec(q.toString(), k.toString(), v.toString(), out.toString(), config.toText(), defaultScale,
                threads, windowBudget);
    }

    /** The configuration for q's head layout. */
    public AttentionConfig config(int heads, int headDim) {
        AttentionConfig.Builder builder = AttentionConfig.parse(config).toBuilder().heads(heads).headDim(headDim);
        if (defaultScale) builder.defaultScale();
        return builder.build();
    }

    @Override
    public String toString() {
        return "JobSpec[q=" + q + " k=" + k + " v=" + v + " out=" + out + " config=" + config
                + (defaultScale ? " (default scale)" : "") + "]";
    }
}
