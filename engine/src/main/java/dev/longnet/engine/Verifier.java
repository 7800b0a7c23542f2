package dev.longnet.engine;

import dev.longnet.storage.DType;
import dev.longnet.storage.NpyFile;
import dev.longnet.storage.RowWindow;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.Arrays;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.TreeSet;

/**
 * Sampled verification of an attention output against {@link ReferenceAttention#attendRow}: a few positions (always
 * the first and the last), all heads of each, recomputed in double from q, k and v read through small windows.
 */
public final class Verifier {
    /** Bytes of one file mapped per cached block; a few blocks per file cover the segments around a position. */
    public static final long BLOCK_BYTES = 8L << 20;
    private static final int BLOCKS_PER_FILE = 4;

    private Verifier() { }

    /** How far the output is from the reference on the sampled rows. */
    public record Result(int positions, int heads, double maxAbsError, long worstPosition, int worstHead) {
        public boolean within(double tolerance) { return maxAbsError <= tolerance; }   // false for NaN
    }

    /** The default tolerance for an output of this type: f16 rounds each value to 11 significant bits. */
    public static double defaultTolerance(DType outputType) {
        return outputType == DType.F32 ? 1e-4 : 2e-3;
    }

    /** Positions to check: 0 and n-1, then distinct seeded random ones up to {@code count} (all when n <= count). */
    public static long[] sample(long n, int count, long seed) {
        if (n <= count) {
            long[] all = new long[(int) n];
            for (int i = 0; i < all.length; i++) all[i] = i;
            return all;
        }
        TreeSet<Long> chosen = new TreeSet<>();
        chosen.add(0L);
        chosen.add(n - 1);
        SplittableRandom random = new SplittableRandom(seed);
        while (chosen.size() < count) chosen.add(random.nextLong(n));
        return chosen.stream().mapToLong(Long::longValue).toArray();   // ascending: the block cache likes it
    }

    /** Checks out against the reference at the sampled positions; q, k, v and out are (n, H, d). */
    public static Result verify(AttentionConfig config, NpyFile q, NpyFile k, NpyFile v, NpyFile out, long[] positions)
            throws IOException {
        long n = q.rows();
        int heads = config.heads();
        int d = config.headDim();
        if (!Arrays.equals(out.shape(), q.shape())) {
            throw new IllegalArgumentException(out.path() + ": shape " + Arrays.toString(out.shape())
                    + " does not match q's " + Arrays.toString(q.shape()) + " (" + q.path() + ")");
        }
        double max = 0;
        long worstPosition = -1;
        int worstHead = -1;
        try (BlockRows qr = new BlockRows(q, heads, d); BlockRows kr = new BlockRows(k, heads, d);
             BlockRows vr = new BlockRows(v, heads, d); BlockRows or = new BlockRows(out, heads, d)) {
            for (long p : positions) {
                for (int h = 0; h < heads; h++) {
                    double[] expected = ReferenceAttention.attendRow(config, n, qr, kr, vr, p, h, null);
                    double[] actual = or.row(p, h);
                    for (int c = 0; c < d; c++) {
                        double error = Math.abs(expected[c] - actual[c]);
                        if (!(error <= max)) {                  // NaN wins: it must not pass as small
                            max = error;
                            worstPosition = p;
                            worstHead = h;
                            if (Double.isNaN(error)) return new Result(positions.length, heads, max, p, h);
                        }
                    }
                }
            }
        } catch (UncheckedIOException e) {
            throw e.getCause();
        }
        return new Result(positions.length, heads, max, worstPosition, worstHead);
    }

    /**
     * Rows of an (n, H, d) file as doubles, read through a few cached mapped blocks of consecutive rows, so that
     * the reference's many reads near one position map each block once and the file is never read whole.
     */
    public static final class BlockRows implements ReferenceAttention.RowAccess, AutoCloseable {
        private final NpyFile file;
        private final DType dtype;
        private final int heads;
        private final int d;
        private final long blockRows;
        private final Map<Long, RowWindow> blocks = new LinkedHashMap<>(8, 0.75f, true);

        BlockRows(NpyFile file, int heads, int d) {
            this.file = file;
            this.dtype = file.dtype();
            this.heads = heads;
            this.d = d;
            this.blockRows = Math.max(1, BLOCK_BYTES / Math.max(1, file.rowBytes()));
        }

        @Override
        public double[] row(long position, int head) {
            long block = position / blockRows;
            RowWindow window = blocks.get(block);
            if (window == null) {
                if (blocks.size() >= BLOCKS_PER_FILE) {
                    Iterator<RowWindow> eldest = blocks.values().iterator();
                    eldest.next().close();
                    eldest.remove();
                }
                long first = block * blockRows;
                try {
                    window = file.window(first, Math.min(blockRows, file.rows() - first));
                } catch (IOException e) {
                    throw new UncheckedIOException(e);
                }
                blocks.put(block, window);
            }
            long base = ((position - window.firstRow()) * heads + head) * d;
            double[] row = new double[d];
            for (int c = 0; c < d; c++) row[c] = dtype.get(window.segment(), base + c);
            return row;
        }

        @Override
        public void close() {
            blocks.values().forEach(RowWindow::close);
            blocks.clear();
        }
    }
}
