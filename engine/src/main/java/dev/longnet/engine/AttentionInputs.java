package dev.longnet.engine;

import dev.longnet.storage.DType;
import dev.longnet.storage.NpyFile;
import java.io.IOException;
import java.nio.file.Path;
import java.util.Arrays;

/**
 * The inputs' checked shape: (N, heads, headDim), or (B, N, heads, headDim) for a batch of B sequences of N rows
 * (each padded to N; {@code batch} is 0 for a single sequence).
 */
public record AttentionInputs(long n, int heads, int headDim, DType dtype, long batch) {
    /** A single sequence of shape (N, heads, headDim). */
    public AttentionInputs(long n, int heads, int headDim, DType dtype) { this(n, heads, headDim, dtype, 0); }

    /** True for a (B, N, heads, headDim) batch. */
    public boolean batched() { return batch > 0; }

    /** q's shape, checked as a run checks it: (N, heads, headDim) or (B, N, heads, headDim), B and N at least 1. */
    public static AttentionInputs of(NpyFile q) {
        long[] shape = q.shape();
        if (shape.length != 3 && shape.length != 4) {
            throw new IllegalArgumentException(q.path() + ": expected shape (N, heads, headDim) or a batch (B, N, heads,"
                    + " headDim), got " + Arrays.toString(shape));
        }
        int at = shape.length - 3;
        if (shape[at + 1] > Integer.MAX_VALUE || shape[at + 2] > Integer.MAX_VALUE) {
            throw new IllegalArgumentException(q.path() + ": shape " + Arrays.toString(shape) + " has too many heads"
                    + " or too large a head dimension");
        }
        if (shape[0] == 0 || shape[at] == 0) {
            throw new IllegalArgumentException(q.path() + ": shape " + Arrays.toString(shape) + " has no "
                    + (shape[0] == 0 && at == 1 ? "sequences" : "rows") + "; attention needs at least one token");
        }
        return new AttentionInputs(shape[at], (int) shape[at + 1], (int) shape[at + 2], q.dtype(), at == 1 ? shape[0] : 0);
    }

    /** The shape of the q file at {@code path}, from its header. */
    public static AttentionInputs of(Path path) throws IOException {
        try (NpyFile q = NpyFile.open(path)) {
            return of(q);
        }
    }

    /** This shape for one sequence of {@code rows} rows. */
    AttentionInputs sequence(long rows) { return new AttentionInputs(rows, heads, headDim, dtype); }
}
