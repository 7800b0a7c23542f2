package dev.longnet.storage;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static java.nio.file.StandardOpenOption.CREATE;
import static java.nio.file.StandardOpenOption.READ;
import static java.nio.file.StandardOpenOption.TRUNCATE_EXISTING;
import static java.nio.file.StandardOpenOption.WRITE;

/**
 * A file of token ids, read by random access: raw bytes, uint16 or int32, an integer .npy array, or an .lzt
 * container. Raw and .npy files are mapped; only the pages read are resident.
 */
public abstract class TokenFile implements AutoCloseable {
    private static final ValueLayout.OfShort U16 = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfInt I32 = ValueLayout.JAVA_INT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfLong I64 = ValueLayout.JAVA_LONG_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final Pattern DESCR = Pattern.compile("'descr'\\s*:\\s*'([^']*)'");
    private static final Pattern FORTRAN = Pattern.compile("'fortran_order'\\s*:\\s*(True|False)");
    private static final Pattern SHAPE = Pattern.compile("'shape'\\s*:\\s*\\(([^)]*)\\)");

    protected final Path path;
    protected final long count;

    protected TokenFile(Path path, long count) {
        this.path = path;
        this.count = count;
    }

    /** Opens file in the given format, or the detected one when format is null. */
    public static TokenFile open(Path file, TokenFormat format) throws IOException {
        TokenFormat f = format != null ? format : TokenFormat.detect(file);
        return switch (f) {
            case BYTES, U16, I32 -> Mapped.raw(file, f.width());
            case NPY -> Mapped.npy(file);
            case LZT -> LztFile.open(file);
        };
    }

    public Path path() { return path; }

    /** Token ids in the file. */
    public long count() { return count; }

    /** Bytes per id as stored (1, 2, 4 or 8). */
    public abstract int width();

    /** Reads ids [from, from + n) into dst[off, off + n). */
    public abstract void read(long from, int[] dst, int off, int n) throws IOException;

    @Override
    public abstract void close() throws IOException;

    /** Writes ids as format to target atomically (NAME.partial, forced, renamed); .npy is int32, 1-D. */
    public static void write(Path target, TokenFormat format, int[] ids) throws IOException {
        if (format == TokenFormat.LZT) {
            LztFile.write(target, new Memory(target, ids), 4, LztFile.DEFAULT_CHUNK);
            return;
        }
        AtomicFile.write(target, ch -> {
            byte[] header = new byte[0];
            int width = format == TokenFormat.NPY ? 4 : format.width();
            if (format == TokenFormat.NPY) header = npyHeader(ids.length);
            ByteBuffer buffer = ByteBuffer.allocate(header.length + ids.length * width).order(ByteOrder.LITTLE_ENDIAN);
            buffer.put(header);
            for (int id : ids) {
                checkFits(target, id, width);
                switch (width) {
                    case 1 -> buffer.put((byte) id);
                    case 2 -> buffer.putShort((short) id);
                    default -> buffer.putInt(id);
                }
            }
            buffer.flip();
            while (buffer.hasRemaining()) ch.write(buffer);
        });
    }

    static void checkFits(Path file, long id, int width) {
        boolean fits = switch (width) {
            case 1 -> id >= 0 && id < 256;
            case 2 -> id >= 0 && id < 65536;
            default -> id >= 0 && id <= Integer.MAX_VALUE;
        };
        if (!fits) throw new IllegalArgumentException(file + ": token id " + id + " does not fit " + width + "-byte ids");
    }

    private static byte[] npyHeader(long n) {
        String dict = "{'descr': '<i4', 'fortran_order': False, 'shape': (" + n + ",), }";
        int total = (10 + dict.length() + 1 + 63) / 64 * 64;
        StringBuilder text = new StringBuilder(dict);
        while (10 + text.length() + 1 < total) text.append(' ');
        text.append('\n');
        ByteBuffer b = ByteBuffer.allocate(total).order(ByteOrder.LITTLE_ENDIAN);
        b.put(NpyHeader.MAGIC).put((byte) 1).put((byte) 0).putShort((short) text.length());
        b.put(text.toString().getBytes(StandardCharsets.US_ASCII));
        return b.array();
    }

    /** Ids held in memory. */
    static final class Memory extends TokenFile {
        private final int[] ids;

        Memory(Path path, int[] ids) {
            super(path, ids.length);
            this.ids = ids;
        }

        @Override public int width() { return 4; }

        @Override public void read(long from, int[] dst, int off, int n) { System.arraycopy(ids, (int) from, dst, off, n); }

        @Override public void close() { }
    }

    /** A raw or .npy file, mapped whole. */
    static final class Mapped extends TokenFile {
        private final Arena arena;
        private final MemorySegment data;
        private final int width;
        private final boolean signed;

        private Mapped(Path path, Arena arena, MemorySegment data, int width, boolean signed) {
            super(path, data.byteSize() / width);
            this.arena = arena;
            this.data = data;
            this.width = width;
            this.signed = signed;
        }

        static Mapped raw(Path file, int width) throws IOException {
            try (FileChannel ch = FileChannel.open(file, READ)) {
                long size = ch.size();
                if (size % width != 0) {
                    throw new TensorFormatException(file, size + " bytes is not a whole number of " + width + "-byte token ids");
                }
                return map(file, ch, 0, size, width, width == 4);
            }
        }

        static Mapped npy(Path file) throws IOException {
            try (FileChannel ch = FileChannel.open(file, READ)) {
                ByteBuffer start = ByteBuffer.allocate(12).order(ByteOrder.LITTLE_ENDIAN);
                while (start.hasRemaining() && ch.read(start) >= 0) { }
                if (start.position() < 10) throw new TensorFormatException(file, "truncated .npy header");
                int major = start.get(6);
                long headerLength = major == 1 ? start.getShort(8) & 0xFFFF : start.getInt(8) & 0xFFFFFFFFL;
                long dataOffset = (major == 1 ? 10 : 12) + headerLength;
                if (major < 1 || major > 3 || dataOffset > ch.size() || headerLength > NpyHeader.MAX_HEADER_BYTES) {
                    throw new TensorFormatException(file, "bad .npy header (version " + major + ")");
                }
                ByteBuffer text = ByteBuffer.allocate((int) headerLength);
                ch.read(text, major == 1 ? 10 : 12);
                String dict = new String(text.array(), StandardCharsets.ISO_8859_1);
                String descr = group(file, DESCR, dict, "descr");
                if ("True".equals(group(file, FORTRAN, dict, "fortran_order"))) {
                    throw new TensorFormatException(file, "Fortran-order arrays are not read; save it in C order");
                }
                long elements = 1;
                for (String dim : group(file, SHAPE, dict, "shape").split(",")) {
                    if (!dim.isBlank()) elements = Math.multiplyExact(elements, Long.parseLong(dim.trim()));
                }
                int width;
                boolean signed;
                switch (descr) {
                    case "|u1", "<u1", "|i1" -> { width = 1; signed = descr.equals("|i1"); }
                    case "<u2" -> { width = 2; signed = false; }
                    case "<i2" -> { width = 2; signed = true; }
                    case "<i4" -> { width = 4; signed = true; }
                    case "<u4" -> { width = 4; signed = false; }
                    case "<i8" -> { width = 8; signed = true; }
                    default -> throw new TensorFormatException(file, "dtype '" + descr + "' is not a token id type"
                            + " (expected u1, u2, i2, i4, u4 or i8, little-endian)");
                }
                long bytes = Math.multiplyExact(elements, width);
                if (dataOffset + bytes > ch.size()) {
                    throw new TensorFormatException(file, "truncated: " + elements + " ids need " + bytes + " bytes, "
                            + (ch.size() - dataOffset) + " present");
                }
                return map(file, ch, dataOffset, bytes, width, signed);
            }
        }

        private static String group(Path file, Pattern p, String dict, String what) throws TensorFormatException {
            Matcher m = p.matcher(dict);
            if (!m.find()) throw new TensorFormatException(file, ".npy header has no " + what);
            return m.group(1);
        }

        private static Mapped map(Path file, FileChannel ch, long offset, long bytes, int width, boolean signed)
                throws IOException {
            Arena arena = Arena.ofShared();
            MemorySegment data = bytes == 0 ? MemorySegment.ofArray(new byte[0])
                    : ch.map(FileChannel.MapMode.READ_ONLY, offset, bytes, arena);
            return new Mapped(file, arena, data, width, signed);
        }

        @Override public int width() { return width; }

        @Override
        public void read(long from, int[] dst, int off, int n) throws IOException {
            if (from < 0 || n < 0 || from > count - n) {
                throw new IndexOutOfBoundsException(path + ": ids [" + from + ", " + (from + n) + ") of " + count);
            }
            for (int i = 0; i < n; i++) {
                long at = (from + i) * width;
                long id = switch (width) {
                    case 1 -> signed ? data.get(ValueLayout.JAVA_BYTE, at) : data.get(ValueLayout.JAVA_BYTE, at) & 0xFF;
                    case 2 -> signed ? data.get(U16, at) : data.get(U16, at) & 0xFFFF;
                    case 4 -> signed ? data.get(I32, at) : data.get(I32, at) & 0xFFFFFFFFL;
                    default -> data.get(I64, at);
                };
                if (id < 0 || id > Integer.MAX_VALUE) {
                    throw new TensorFormatException(path, "token id " + id + " at index " + (from + i) + " is not a valid id");
                }
                dst[off + i] = (int) id;
            }
        }

        @Override public void close() { arena.close(); }
    }
}
