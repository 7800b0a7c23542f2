package dev.longnet.engine;

import dev.longnet.storage.DType;
import dev.longnet.storage.NpyFile;
import dev.longnet.storage.RowWindow;
import java.io.IOException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;

/**
 * Attention from .npy files to an .npy file, the way the CLI and embedders run it: inputs are checked against
 * each other and the configuration, free space is checked before any work, the output accumulates in f32 under
 * a temporary name beside the target with its lse scratch, and only a complete output is renamed to the target.
 */
public final class AttentionJob {
    private AttentionJob() { }

    /** What a finished run did. */
    public record Result(long tokens, int heads, int headDim, double seconds, double flops, String kernel,
                         DType outputType) {
        public double tokensPerSecond() { return tokens / seconds; }

        public double gflops() { return flops / seconds / 1e9; }
    }

    /** The inputs' checked shape. */
    public record Inputs(long n, int heads, int headDim, DType dtype) { }

    /**
     * Runs attention on q, k, v into out. Refuses an existing out unless {@code overwrite}; on failure leaves
     * nothing under out's name.
     */
    public static Result run(AttentionConfig config, DilatedAttention.Options options, Path q, Path k, Path v, Path out,
                             DType outputType, boolean overwrite) throws IOException {
        if (Files.exists(out) && !overwrite) {
            throw new FileAlreadyExistsException(out.toString(), null, "output exists (use --force to replace it)");
        }
        long start = System.nanoTime();
        try (NpyFile qf = NpyFile.open(q); NpyFile kf = NpyFile.open(k); NpyFile vf = NpyFile.open(v)) {
            Inputs inputs = check(config, qf, kf, vf);
            long n = inputs.n();
            long[] shape = {n, inputs.heads(), inputs.headDim()};
            Path accumulator = outputType == DType.F32 ? out : out.resolveSibling(out.getFileName() + ".acc");
            Path lsePath = out.resolveSibling(out.getFileName() + ".lse");
            requireSpace(out, n, inputs, outputType);
            NpyFile acc = NpyFile.create(accumulator, DType.F32, shape);
            NpyFile lse = null;
            try {
                lse = NpyFile.create(lsePath, DType.F32, n, inputs.heads());
                try (DilatedAttention attention = new DilatedAttention(config, options)) {
                    attention.attend(qf, kf, vf, acc, lse);
                }
                lse.discard();
                if (outputType == DType.F32) {
                    acc.commit();
                } else {
                    convert(acc, out, outputType, shape);
                    acc.discard();
                }
            } catch (IOException | RuntimeException | Error e) {
                acc.discard();
                if (lse != null) lse.discard();
                throw e;
            }
            double seconds = (System.nanoTime() - start) / 1e9;
            return new Result(n, inputs.heads(), inputs.headDim(), seconds, config.flops(n),
                    options.kernel().name(), outputType);
        }
    }

    /** Checks that q, k and v agree with each other and with the configuration; returns their shape. */
    public static Inputs check(AttentionConfig config, NpyFile q, NpyFile k, NpyFile v) {
        long[] shape = q.shape();
        if (shape.length != 3) {
            throw new IllegalArgumentException(q.path() + ": expected shape (N, heads, headDim), got "
                    + Arrays.toString(shape));
        }
        for (NpyFile other : new NpyFile[]{k, v}) {
            if (!Arrays.equals(other.shape(), shape)) {
                throw new IllegalArgumentException(other.path() + ": shape " + Arrays.toString(other.shape())
                        + " does not match q's " + Arrays.toString(shape) + " (" + q.path() + ")");
            }
        }
        if (shape[1] != config.heads() || shape[2] != config.headDim()) {
            throw new IllegalArgumentException(q.path() + ": shape " + Arrays.toString(shape) + " has " + shape[1]
                    + " heads of dimension " + shape[2] + ", but the configuration says heads=" + config.heads()
                    + " headDim=" + config.headDim());
        }
        return new Inputs(shape[0], (int) shape[1], (int) shape[2], q.dtype());
    }

    /** Refuses to start when the output, its f32 accumulator and the lse scratch cannot fit the disk. */
    private static void requireSpace(Path out, long n, Inputs inputs, DType outputType) throws IOException {
        long elements = n * inputs.heads() * inputs.headDim();
        long needed = elements * 4 + n * inputs.heads() * 4L + (outputType == DType.F32 ? 0 : elements * outputType.bytes());
        Path dir = out.toAbsolutePath().getParent();
        long free = Files.getFileStore(dir).getUsableSpace();
        if (free < needed) {
            throw new IOException("not enough disk space in " + dir + ": the output needs " + human(needed)
                    + " (output, f32 accumulator and lse scratch), " + human(free) + " is free");
        }
    }

    /** Copies the f32 accumulator into the target type, window by window, then commits the target. */
    private static void convert(NpyFile acc, Path out, DType outputType, long[] shape) throws IOException {
        NpyFile target = NpyFile.create(out, outputType, shape);
        try {
            long rowsPerWindow = Math.max(1, (64L << 20) / acc.rowBytes());
            long rowElements = acc.rowElements();
            for (long first = 0; first < acc.rows(); first += rowsPerWindow) {
                long rows = Math.min(rowsPerWindow, acc.rows() - first);
                try (RowWindow from = acc.window(first, rows); RowWindow to = target.window(first, rows)) {
                    for (long i = 0; i < rows * rowElements; i++) {
                        outputType.set(to.segment(), i, DType.F32.get(from.segment(), i));
                    }
                }
            }
            target.commit();
        } catch (IOException | RuntimeException e) {
            target.discard();
            throw e;
        }
    }

    static String human(long bytes) {
        if (bytes < 1024) return bytes + " B";
        String[] units = {"KiB", "MiB", "GiB", "TiB"};
        double value = bytes;
        int unit = -1;
        while (value >= 1024 && unit < units.length - 1) {
            value /= 1024;
            unit++;
        }
        return String.format(java.util.Locale.ROOT, "%.1f %s", value, units[unit]);
    }
}
