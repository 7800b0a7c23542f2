package dev.longnet.engine.encoder;

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
 * Tile coordinates: an (N, 2) .npy of pixel (x, y), little-endian float ('&lt;f2', '&lt;f4', '&lt;f8') or integer
 * ('&lt;i4', '&lt;i8'), read into GigaPath's grid cells. Read in small pieces: memory is 4 bytes per tile.
 */
public final class TileCoords {
    private TileCoords() { }

    /** The grid cell of every tile; a tile off the grid is an error naming the file, row and values. */
    public static int[] cells(Path file) throws IOException {
        Disk.requireRegularFile(file);
        try (FileChannel ch = FileChannel.open(file)) {
            NpyHeader.Raw h = NpyHeader.readRaw(file, ch);
            int item = switch (h.descr()) {
                case "<f2" -> 2;
                case "<f4", "<i4" -> 4;
                case "<f8", "<i8" -> 8;
                default -> throw new TensorFormatException(file, "coordinates of dtype '" + h.descr()
                        + "' (supported: '<f4', '<f8', '<f2', '<i4', '<i8')");
            };
            if (h.fortranOrder()) throw new TensorFormatException(file, "fortran_order True is not supported; save the array C-ordered");
            if (h.shape().length != 2 || h.shape()[1] != 2) {
                throw new TensorFormatException(file, "coordinates must have shape (N, 2), got " + Arrays.toString(h.shape()));
            }
            long n = h.shape()[0];
            if (n > Integer.MAX_VALUE - 8 || h.dataOffset() + n * 2 * item > ch.size()) {
                throw new TensorFormatException(file, n > Integer.MAX_VALUE - 8 ? "too many rows: " + n
                        : "truncated: " + n + " rows of coordinates need " + n * 2 * item + " bytes of data");
            }
            int[] cells = new int[(int) n];
            int perRead = 4096;
            for (long r0 = 0; r0 < n; r0 += perRead) {
                int rows = (int) Math.min(perRead, n - r0);
                ByteBuffer b = Disk.readAtMost(ch, h.dataOffset() + r0 * 2 * item, rows * 2 * item).order(ByteOrder.LITTLE_ENDIAN);
                for (int i = 0; i < rows; i++) {
                    double x = value(h.descr(), b, 2 * i * item), y = value(h.descr(), b, (2 * i + 1) * item);
                    int cell = SlidePositions.cell(x, y);
                    if (cell < 0) {
                        throw new TensorFormatException(file, "row " + (r0 + i) + ": tile at (" + text(x) + ", " + text(y)
                                + ") is off GigaPath's grid (pixel coordinates must be in [0, 256000))");
                    }
                    cells[(int) (r0 + i)] = cell;
                }
            }
            return cells;
        }
    }

    private static double value(String descr, ByteBuffer b, int at) {
        return switch (descr) {
            case "<f2" -> Float.float16ToFloat(b.getShort(at));
            case "<f4" -> b.getFloat(at);
            case "<f8" -> b.getDouble(at);
            case "<i4" -> b.getInt(at);
            default -> b.getLong(at);
        };
    }

    private static String text(double v) {
        return v == Math.rint(v) && Math.abs(v) < 1e15 ? Long.toString((long) v) : Double.toString(v);
    }
}
