package dev.longnet.engine;

import dev.longnet.storage.DType;
import dev.longnet.storage.NpyFile;
import java.io.IOException;
import java.nio.file.Path;
import java.util.Arrays;

/** The inputs' checked shape. */
public record AttentionInputs(long n, int heads, int headDim, DType dtype) {
    /** q's shape, checked as a run checks it: (N, heads, headDim), N at least 1. */
    public static AttentionInputs of(NpyFile q) {
        long[] shape = q.shape();
        if (shape.length != 3) {
            throw new IllegalArgumentException(q.path() + ": expected shape (N, heads, headDim), got "
                    + Arrays.toString(shape));
        }
        if (shape[1] > Integer.MAX_VALUE || shape[2] > Integer.MAX_VALUE) {
            throw new IllegalArgumentException(q.path() + ": shape " + Arrays.toString(shape) + " has too many heads"
                    + " or too large a head dimension");
        }
        if (shape[0] == 0) {
            throw new IllegalArgumentException(q.path() + ": shape " + Arrays.toString(shape) + " has no rows;"
                    + " attention needs at least one token");
        }
        return new AttentionInputs(shape[0], (int) shape[1], (int) shape[2], q.dtype());
    }

    /** The shape of the q file at {@code path}, from its header. */
    public static AttentionInputs of(Path path) throws IOException {
        try (NpyFile q = NpyFile.open(path)) {
            return of(q);
        }
    }
}
