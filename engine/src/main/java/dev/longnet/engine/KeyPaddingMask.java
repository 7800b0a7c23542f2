package dev.longnet.engine;

import dev.longnet.storage.Disk;
import dev.longnet.storage.NpyHeader;
import dev.longnet.storage.TensorFormatException;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.util.Arrays;

/**
 * A key padding mask as PyTorch writes it ({@code key_padding_mask}, saved with {@code np.save}): a (B, N) array of
 * bool ('|b1'), uint8 ('|u1') or integers ('&lt;i4', '&lt;i8'), true (non-zero) where a row is padding. Each
 * sequence must be padded at its end (its real rows first), which makes the mask a length per sequence.
 */
public final class KeyPaddingMask {
    private static final int ROWS_PER_READ = 1 << 16;

    private KeyPaddingMask() { }

    /**
     * The length of each sequence of a (batch, n) mask: its rows before the first padded one; every row after that
     * must be padding.
     */
    public static long[] lengths(Path file, long batch, long n) throws IOException {
        Disk.requireRegularFile(file);
        try (FileChannel ch = FileChannel.open(file)) {
            NpyHeader.Raw h = NpyHeader.readRaw(file, ch);
            int item = switch (h.descr()) {
                case "|b1", "|u1", "|i1" -> 1;
                case "<i4" -> 4;
                case "<i8" -> 8;
                default -> throw new TensorFormatException(file, "a key padding mask of dtype '" + h.descr()
                        + "' (supported: bool '|b1', '|u1', '<i4', '<i8')");
            };
            if (h.fortranOrder()) throw new TensorFormatException(file, "fortran_order True is not supported; save the mask C-ordered");
            long[] shape = h.shape();
            if (shape.length != 2 || shape[0] != batch || shape[1] != n || batch > Integer.MAX_VALUE - 8) {
                throw new TensorFormatException(file, "the key padding mask has shape " + Arrays.toString(shape)
                        + ", but the batch is (" + batch + ", " + n + ")");
            }
            if (h.dataOffset() + batch * n * item > ch.size()) {
                throw new TensorFormatException(file, "truncated: a (" + batch + ", " + n + ") mask needs "
                        + batch * n * item + " bytes of data");
            }
            long[] lengths = new long[(int) shape[0]];
            for (int b = 0; b < lengths.length; b++) {
                long length = -1;
                for (long r0 = 0; r0 < n; r0 += ROWS_PER_READ) {
                    int rows = (int) Math.min(ROWS_PER_READ, n - r0);
                    ByteBuffer buf = Disk.readAtMost(ch, h.dataOffset() + (b * n + r0) * item, rows * item)
                            .order(ByteOrder.LITTLE_ENDIAN);
                    for (int i = 0; i < rows; i++) {
                        boolean padding = switch (item) {
                            case 1 -> buf.get(i) != 0;
                            case 4 -> buf.getInt(4 * i) != 0;
                            default -> buf.getLong(8 * i) != 0;
                        };
                        if (padding && length < 0) {
                            length = r0 + i;
                        } else if (!padding && length >= 0) {
                            throw new IllegalArgumentException(file + ": sequence " + b + " has a real row (" + (r0 + i)
                                    + ") after padding (from row " + length + "); padding must come at the end of each"
                                    + " sequence");
                        }
                    }
                }
                lengths[b] = length < 0 ? n : length;
                if (lengths[b] == 0) {
                    throw new IllegalArgumentException(file + ": sequence " + b + " is all padding; each sequence needs"
                            + " at least one row");
                }
            }
            return lengths;
        }
    }
}
