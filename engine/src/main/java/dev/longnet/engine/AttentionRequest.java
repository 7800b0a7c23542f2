package dev.longnet.engine;

import dev.longnet.storage.DType;
import java.nio.file.Path;

/**
 * One file job.
 *
 * @param overwrite   replace an existing output
 * @param restart     start over even if a run directory holds an earlier run of this output
 * @param checkFinite scan q, k and v for NaN and infinities first, and refuse to compute if there are any
 * @param lengths     for a batch (B, N, H, d): each sequence's length, its rows after that being padding (null: all N
 *                    rows of every sequence)
 */
public record AttentionRequest(Path q, Path k, Path v, Path out, DType outputType, boolean overwrite, boolean restart,
                      boolean checkFinite, long[] lengths) {
    public AttentionRequest {
        if (outputType == null) outputType = DType.F32;
        if (lengths != null) lengths = lengths.clone();
    }

    /** A request without lengths. */
    public AttentionRequest(Path q, Path k, Path v, Path out, DType outputType, boolean overwrite, boolean restart,
                            boolean checkFinite) {
        this(q, k, v, out, outputType, overwrite, restart, checkFinite, null);
    }

    public static AttentionRequest of(Path q, Path k, Path v, Path out) {
        return new AttentionRequest(q, k, v, out, DType.F32, false, false, false, null);
    }

    @Override
    public long[] lengths() { return lengths == null ? null : lengths.clone(); }

    public AttentionRequest withOutputType(DType t) { return new AttentionRequest(q, k, v, out, t, overwrite, restart, checkFinite, lengths); }
    public AttentionRequest withOverwrite(boolean o) { return new AttentionRequest(q, k, v, out, outputType, o, restart, checkFinite, lengths); }
    public AttentionRequest withRestart(boolean r) { return new AttentionRequest(q, k, v, out, outputType, overwrite, r, checkFinite, lengths); }
    public AttentionRequest withCheckFinite(boolean c) { return new AttentionRequest(q, k, v, out, outputType, overwrite, restart, c, lengths); }
    /** The lengths of a padded batch's sequences (see {@link #lengths}). */
    public AttentionRequest withLengths(long... l) { return new AttentionRequest(q, k, v, out, outputType, overwrite, restart, checkFinite, l); }
    /** The same job writing {@code o}. */
    AttentionRequest withOut(Path o) { return new AttentionRequest(q, k, v, o, outputType, overwrite, restart, checkFinite, lengths); }
}
