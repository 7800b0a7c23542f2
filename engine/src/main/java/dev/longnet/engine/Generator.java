package dev.longnet.engine;

import dev.longnet.storage.DType;
import dev.longnet.storage.Disk;
import dev.longnet.storage.Shapes;
import dev.longnet.storage.NpyFile;
import dev.longnet.storage.RowWindow;
import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.concurrent.ExecutorService;
import java.util.function.LongConsumer;

/**
 * Seeded standard-normal q, k, v. Each element is a pure function of (seed, tensor, element index): SplitMix64 of
 * the pair index gives two uniforms and Box-Muller turns them into the elements 2i and 2i+1. So the bytes do not
 * depend on the window size or the thread count, and any window can be filled on its own. StrictMath makes them
 * the same on every JVM and CPU.
 */
public final class Generator {
    /** The files, in tensor order (tensor 0 is q). */
    public static final List<String> NAMES = List.of("q.npy", "k.npy", "v.npy");
    /** Bytes of each file mapped at once by default: three windows of this size are resident at a time. */
    public static final long WINDOW_BYTES = 64L << 20;
    /** Elements per parallel task: even, so that no Box-Muller pair is split between tasks. */
    private static final int CHUNK = 1 << 16;
    private static final long GAMMA = 0x9E3779B97F4A7C15L;
    private static final double TWO_PI = 2 * Math.PI;

    private Generator() { }

    /** SplitMix64's output function (Steele, Lea and Flood 2014). */
    public static long mix64(long z) {
        z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9L;
        z = (z ^ (z >>> 27)) * 0x94D049BB133111EBL;
        return z ^ (z >>> 31);
    }

    /** The SplitMix64 state origin of one tensor's stream. */
    public static long streamKey(long seed, int tensor) {
        return mix64(mix64(seed) + (tensor + 1) * 0xD1B54A32D192ED03L);
    }

    /** Element {@code index} of tensor {@code tensor} (0 q, 1 k, 2 v) for {@code seed}, before rounding to the dtype. */
    public static double normal(long seed, int tensor, long index) {
        double[] pair = pair(streamKey(seed, tensor), index >>> 1);
        return pair[(int) (index & 1)];
    }

    private static double[] pair(long key, long pair) {
        double[] z = new double[2];
        pairInto(key, pair, z);
        return z;
    }

    private static void pairInto(long key, long pair, double[] z) {
        long x1 = mix64(key + (2 * pair + 1) * GAMMA);
        long x2 = mix64(key + (2 * pair + 2) * GAMMA);
        double u1 = ((x1 >>> 11) + 1) * 0x1.0p-53;         // (0, 1]: log never sees 0
        double u2 = (x2 >>> 11) * 0x1.0p-53;               // [0, 1)
        double r = StrictMath.sqrt(-2 * StrictMath.log(u1));
        double theta = TWO_PI * u2;
        z[0] = r * StrictMath.cos(theta);
        z[1] = r * StrictMath.sin(theta);
    }

    /** Writes elements [first, first + count) of a tensor's stream to {@code segment} from its offset 0. */
    public static void fill(MemorySegment segment, DType dtype, long key, long first, long count) {
        double[] z = new double[2];
        long end = first + count;
        long e = first;
        while (e < end) {
            pairInto(key, e >>> 1, z);
            if ((e & 1) == 0) {
                dtype.set(segment, e - first, (float) z[0]);
                if (e + 1 < end) dtype.set(segment, e + 1 - first, (float) z[1]);
                e += 2;
            } else {
                dtype.set(segment, e - first, (float) z[1]);
                e++;
            }
        }
    }

    /**
     * Writes DIR/q.npy, k.npy, v.npy of shape (n, heads, headDim), window by window (windowRows rows at a time, or a
     * default of about 64 MiB per file when windowRows is 0), so memory stays bounded whatever n is. Each file
     * appears under its name only when complete. {@code tokensDone} hears the rows finished.
     */
    public static void write(Path dir, long n, int heads, int headDim, DType dtype, long seed, int threads,
                             long windowRows, LongConsumer tokensDone) throws IOException {
        long[] shape = {n, heads, headDim};
        long rowElements = (long) heads * headDim;
        long rowBytes = rowElements * dtype.bytes();
        long rows = windowRows > 0 ? windowRows : Math.max(1, WINDOW_BYTES / rowBytes);
        Disk.requireSpace(dir.resolve(NAMES.getFirst()), bytes(n, heads, headDim, dtype), "q, k and v");
        List<NpyFile> files = new ArrayList<>();
        ExecutorService pool = Parallel.pool(threads, "longnet-gen");
        try {
            for (String name : NAMES) files.add(NpyFile.create(dir.resolve(name), dtype, shape));
            long[] keys = new long[NAMES.size()];
            for (int t = 0; t < keys.length; t++) keys[t] = streamKey(seed, t);
            for (long firstRow = 0; firstRow < n; firstRow += rows) {
                long count = Math.min(rows, n - firstRow);
                for (int t = 0; t < files.size(); t++) {
                    try (RowWindow window = files.get(t).window(firstRow, count)) {
                        fillParallel(pool, window.segment(), dtype, keys[t], firstRow * rowElements, count * rowElements);
                    }
                }
                tokensDone.accept(firstRow + count);
            }
            for (NpyFile file : files) file.commit();
        } catch (IOException | RuntimeException | Error e) {
            for (NpyFile file : files) {
                try {
                    file.discard();                         // a committed file's partial is gone: harmless
                } catch (IOException | RuntimeException suppressed) {
                    e.addSuppressed(suppressed);
                }
            }
            throw e;
        } finally {
            if (pool != null) pool.shutdownNow();
        }
    }

    private static void fillParallel(ExecutorService pool, MemorySegment segment, DType dtype, long key, long first,
                                     long count) throws IOException {
        if (pool == null || count <= CHUNK) {
            fill(segment, dtype, key, first, count);
            return;
        }
        List<Callable<Void>> tasks = new ArrayList<>();
        for (long offset = 0; offset < count; offset += CHUNK) {
            long from = offset;
            long length = Math.min(CHUNK, count - offset);
            tasks.add(() -> {
                fill(segment.asSlice(from * dtype.bytes()), dtype, key, first + from, length);
                return null;
            });
        }
        Parallel.runAll(pool, tasks);
    }

    /** Bytes of q, k and v together; refused, naming the flags, when the shape cannot be held in a file. */
    public static long bytes(long n, int heads, int headDim, DType dtype) {
        long bytes = Shapes.bytes(new long[]{n, heads, headDim}, 0, 3L * dtype.bytes());
        if (bytes < 0) {
            throw new IllegalArgumentException("n = " + n + " x heads = " + heads + " x headDim = " + headDim + " "
                    + dtype.label() + " values are more than 2^63 bytes: choose a"
                    + " smaller shape");
        }
        return bytes;
    }
}
