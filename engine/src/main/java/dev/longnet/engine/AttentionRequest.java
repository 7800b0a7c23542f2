package dev.longnet.engine;

import dev.longnet.storage.DType;
import java.nio.file.Path;

/**
 * One file job.
 *
 * @param overwrite   replace an existing output
 * @param restart     start over even if a run directory holds an earlier run of this output
 * @param checkFinite scan q, k and v for NaN and infinities first, and refuse to compute if there are any
 */
public record AttentionRequest(Path q, Path k, Path v, Path out, DType outputType, boolean overwrite, boolean restart,
                      boolean checkFinite) {
    public AttentionRequest {
        if (outputType == null) outputType = DType.F32;
    }

    public static AttentionRequest of(Path q, Path k, Path v, Path out) {
        return new AttentionRequest(q, k, v, out, DType.F32, false, false, false);
    }

    public AttentionRequest withOutputType(DType t) { return new AttentionRequest(q, k, v, out, t, overwrite, restart, checkFinite); }
    public AttentionRequest withOverwrite(boolean o) { return new AttentionRequest(q, k, v, out, outputType, o, restart, checkFinite); }
    public AttentionRequest withRestart(boolean r) { return new AttentionRequest(q, k, v, out, outputType, overwrite, r, checkFinite); }
    public AttentionRequest withCheckFinite(boolean c) { return new AttentionRequest(q, k, v, out, outputType, overwrite, restart, c); }
}
