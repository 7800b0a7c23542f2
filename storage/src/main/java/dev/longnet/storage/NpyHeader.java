package dev.longnet.storage;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.Arrays;

/**
 * The header of a .npy file (numpy's format, versions 1.0, 2.0 and 3.0): dtype, C-order shape and where the data
 * starts. Reading is strict and defensive: every malformed header is a {@link TensorFormatException} naming the file
 * and the reason, whatever the bytes, since headers come from files we did not write. Writing reproduces np.save
 * byte for byte.
 */
public final class NpyHeader {
    /** Headers larger than this are refused before anything is allocated for them (numpy itself caps at 10 000). */
    public static final int MAX_HEADER_BYTES = 1 << 20;

    static final byte[] MAGIC = {(byte) 0x93, 'N', 'U', 'M', 'P', 'Y'};
    /** Magic, version and the longest (4-byte) header length field. */
    static final int MAX_PREFIX_BYTES = MAGIC.length + 2 + 4;
    /** numpy aligns the data to this many bytes. */
    private static final int ALIGN = 64;
    /** numpy pads the header so the growth axis can reach this many digits and be rewritten in place. */
    private static final int GROWTH_AXIS_MAX_DIGITS = 21;
    private static final int V1_MAX_HEADER_LENGTH = 0xFFFF;

    private final DType dtype;
    private final long[] shape;
    private final int majorVersion;
    private final long dataOffset;
    private final long elementCount;

    private NpyHeader(DType dtype, long[] shape, int majorVersion, long dataOffset, long elementCount) {
        this.dtype = dtype;
        this.shape = shape;
        this.majorVersion = majorVersion;
        this.dataOffset = dataOffset;
        this.elementCount = elementCount;
    }

    /** The header np.save would write for a C-order array: version 1.0 unless the header is too long for it. */
    public static NpyHeader of(DType dtype, long... shape) {
        if (dtype.npyDescr() == null) {
            throw new IllegalArgumentException(dtype + " has no .npy descr (supported: '<f4', '<f2')");
        }
        long elements = 1;
        for (long dim : shape) {
            if (dim < 0) throw new IllegalArgumentException("negative dimension in shape " + Arrays.toString(shape));
            elements = Shapes.product(elements, dim);
        }
        if (elements < 0 || Shapes.product(elements, dtype.bytes()) < 0) {
            throw new IllegalArgumentException("shape " + Arrays.toString(shape) + " holds more than 2^63-1 bytes");
        }
        NpyHeader draft = new NpyHeader(dtype, shape.clone(), 1, 0, elements);
        byte[] bytes = draft.encode();   // picks 2.0 where 1.0's 16-bit length field is too small
        int version = bytes[MAGIC.length] & 0xFF;
        if (bytes.length + elements * dtype.bytes() < 0) {
            throw new IllegalArgumentException("shape " + Arrays.toString(shape) + " holds more than 2^63-1 bytes");
        }
        return new NpyHeader(dtype, draft.shape, version, bytes.length, elements);
    }

    /** Reads and validates the header of file through ch (from position 0; ch's own position is not used). */
    public static NpyHeader read(Path file, FileChannel ch) throws IOException {
        long fileSize = ch.size();
        ByteBuffer prefix = Disk.readAtMost(ch, 0, (int) Math.min(fileSize, MAX_PREFIX_BYTES));
        long headerEnd = headerEnd(file, prefix, fileSize);   // at most MAX_PREFIX_BYTES + MAX_HEADER_BYTES
        return parse(file, Disk.readAtMost(ch, 0, (int) headerEnd), fileSize);
    }

    /**
     * Parses a header from the first bytes of a file (start holds at least the whole header, or the whole file
     * when that is shorter) for a file of fileSize bytes. Separate from {@link #read} so tests can fuzz it fast.
     */
    static NpyHeader parse(Path file, ByteBuffer start, long fileSize) throws TensorFormatException {
        ByteBuffer bytes = start.slice();
        long end = headerEnd(file, bytes, fileSize);
        if (bytes.remaining() < end) throw truncated(file, fileSize);   // only a caller passing too few bytes gets here
        int prefixLength = prefixLength(bytes.get(MAGIC.length) & 0xFF);
        byte[] dict = new byte[(int) end - prefixLength];
        bytes.get(prefixLength, dict);
        for (int i = 0; i < dict.length; i++) {
            if (dict[i] < 0) {
                throw new TensorFormatException(file, String.format(
                        "non-ASCII byte 0x%02x at offset %d of the header (only ASCII headers are supported)",
                        dict[i] & 0xFF, prefixLength + i));
            }
        }
        HeaderDict parsed = new HeaderDict(file, new String(dict, StandardCharsets.US_ASCII)).parse();

        DType dtype = DType.fromNpyDescr(parsed.descr);
        if (dtype == null) {
            String kind = parsed.descr.startsWith(">") ? "big-endian dtype" : "unsupported dtype";
            throw new TensorFormatException(file, kind + " '" + parsed.descr + "' (supported: '<f4', '<f2')");
        }
        if (parsed.fortranOrder) {
            throw new TensorFormatException(file,
                    "fortran_order True (column-major) is not supported; save the array C-ordered");
        }
        long elements = 1;
        for (long dim : parsed.shape) elements = Shapes.product(elements, dim);
        long dataBytes = Shapes.product(elements, dtype.bytes());
        if (elements < 0 || dataBytes < 0 || end + dataBytes < 0) {
            throw new TensorFormatException(file, "shape " + shapeText(parsed.shape)
                    + " overflows: its data would exceed 2^63-1 bytes");
        }
        if (end + dataBytes > fileSize) {
            throw new TensorFormatException(file, "truncated: header claims " + dataBytes
                    + " bytes of data, file holds " + (fileSize - end));
        }
        int major = bytes.get(MAGIC.length) & 0xFF;
        return new NpyHeader(dtype, parsed.shape, major, end, elements);
    }

    /**
     * A header of any descr ('&lt;i8', '&lt;f8', ...), for the few readers of small non-float arrays (tile coordinates):
     * descr and shape as written, the offset of the data, checked against the file's size for elements of
     * {@code itemBytes(descr)} bytes by the caller.
     */
    public record Raw(String descr, boolean fortranOrder, long[] shape, long dataOffset) { }

    /** Reads the header of file through ch without asking for a float dtype. */
    public static Raw readRaw(Path file, FileChannel ch) throws IOException {
        long fileSize = ch.size();
        ByteBuffer prefix = Disk.readAtMost(ch, 0, (int) Math.min(fileSize, MAX_PREFIX_BYTES));
        long end = headerEnd(file, prefix, fileSize);
        ByteBuffer bytes = Disk.readAtMost(ch, 0, (int) end);
        if (bytes.remaining() < end) throw truncated(file, fileSize);
        int prefixLength = prefixLength(bytes.get(MAGIC.length) & 0xFF);
        byte[] dict = new byte[(int) end - prefixLength];
        bytes.get(prefixLength, dict);
        for (byte b : dict) {
            if (b < 0) throw new TensorFormatException(file, "non-ASCII byte in the header (only ASCII headers are supported)");
        }
        HeaderDict parsed = new HeaderDict(file, new String(dict, StandardCharsets.US_ASCII)).parse();
        return new Raw(parsed.descr, parsed.fortranOrder, parsed.shape, end);
    }

    /** Checks magic, version and header length; returns the offset just past the header (where data starts). */
    private static long headerEnd(Path file, ByteBuffer bytes, long fileSize) throws TensorFormatException {
        int available = (int) Math.min(bytes.remaining(), fileSize);
        for (int i = 0; i < Math.min(available, MAGIC.length); i++) {
            if (bytes.get(i) != MAGIC[i]) {
                throw new TensorFormatException(file, "not an npy file: it does not start with \\x93NUMPY");
            }
        }
        if (available < MAGIC.length + 2) throw truncated(file, fileSize);
        int major = bytes.get(MAGIC.length) & 0xFF;
        int minor = bytes.get(MAGIC.length + 1) & 0xFF;
        if (minor != 0 || major < 1 || major > 3) {
            throw new TensorFormatException(file, "unsupported npy format version " + major + "." + minor
                    + " (supported: 1.0, 2.0, 3.0)");
        }
        int prefixLength = prefixLength(major);
        if (available < prefixLength) throw truncated(file, fileSize);
        long headerLength = major == 1
                ? Short.toUnsignedInt(bytes.order(java.nio.ByteOrder.LITTLE_ENDIAN).getShort(8))
                : Integer.toUnsignedLong(bytes.order(java.nio.ByteOrder.LITTLE_ENDIAN).getInt(8));
        if (headerLength > MAX_HEADER_BYTES) {
            throw new TensorFormatException(file, "header length " + headerLength + " exceeds the limit of "
                    + MAX_HEADER_BYTES + " bytes");
        }
        if (prefixLength + headerLength > fileSize) {
            throw new TensorFormatException(file, "truncated: header length field claims " + headerLength
                    + " bytes, file holds " + (fileSize - prefixLength) + " after it");
        }
        return prefixLength + headerLength;
    }

    private static int prefixLength(int major) {
        return MAGIC.length + 2 + (major == 1 ? 2 : 4);
    }

    private static TensorFormatException truncated(Path file, long fileSize) {
        return new TensorFormatException(file, "truncated: " + fileSize + " bytes is too short for an npy header");
    }

    /**
     * The header exactly as numpy writes it: the dict with sorted keys and growth padding, then spaces and '\n' so
     * that the data starts on a 64-byte boundary. Keeps this header's version, except that 1.0 becomes 2.0 when the
     * header does not fit 1.0's 16-bit length. For a header read from a file this is numpy's canonical form, which
     * is not necessarily the file's own bytes (an old writer may have aligned differently).
     */
    public byte[] encode() {
        StringBuilder dict = new StringBuilder("{'descr': '").append(dtype.npyDescr())
                .append("', 'fortran_order': False, 'shape': ").append(shapeText(shape)).append(", }");
        if (shape.length > 0) {
            dict.repeat(' ', Math.max(0, GROWTH_AXIS_MAX_DIGITS - Long.toString(shape[0]).length()));
        }
        int major = majorVersion;
        int padded = paddedLength(dict.length(), major);
        if (major == 1 && padded > V1_MAX_HEADER_LENGTH) {
            major = 2;
            padded = paddedLength(dict.length(), major);
        }
        dict.repeat(' ', padded - dict.length() - 1).append('\n');
        ByteBuffer out = ByteBuffer.allocate(prefixLength(major) + padded).order(java.nio.ByteOrder.LITTLE_ENDIAN);
        out.put(MAGIC).put((byte) major).put((byte) 0);
        if (major == 1) out.putShort((short) padded); else out.putInt(padded);
        out.put(dict.toString().getBytes(StandardCharsets.US_ASCII));
        return out.array();
    }

    /** The header length (dict, padding and '\n') numpy picks so that prefix + header is a multiple of 64. */
    private static int paddedLength(int dictLength, int major) {
        int unpadded = prefixLength(major) + dictLength + 1;
        int padding = ALIGN - unpadded % ALIGN;   // 1..64: numpy always pads with at least one space
        return dictLength + 1 + padding;
    }

    /** A shape as Python writes a tuple: "()", "(5,)", "(3, 4)". */
    static String shapeText(long[] shape) {
        if (shape.length == 1) return "(" + shape[0] + ",)";
        StringBuilder text = new StringBuilder("(");
        for (int i = 0; i < shape.length; i++) text.append(i == 0 ? "" : ", ").append(shape[i]);
        return text.append(')').toString();
    }

    public DType dtype() { return dtype; }

    /** A copy of the shape (C order; may be empty for a 0-d array). */
    public long[] shape() { return shape.clone(); }

    public int rank() { return shape.length; }

    /** 1, 2 or 3: the format version's major number (the minor is always 0). */
    public int majorVersion() { return majorVersion; }

    /** "1.0", "2.0" or "3.0". */
    public String version() { return majorVersion + ".0"; }

    /** Where the data starts in the file: the length of the header as read (or as {@link #encode()} writes it). */
    public long dataOffset() { return dataOffset; }

    public long elementCount() { return elementCount; }

    public long dataBytes() { return elementCount * dtype.bytes(); }

    @Override
    public boolean equals(Object o) {
        return o instanceof NpyHeader h && dtype == h.dtype && Arrays.equals(shape, h.shape)
                && majorVersion == h.majorVersion && dataOffset == h.dataOffset;
    }

    @Override
    public int hashCode() { return dtype.hashCode() * 31 + Arrays.hashCode(shape); }

    @Override
    public String toString() {
        return "NpyHeader[" + dtype.npyDescr() + " " + shapeText(shape) + " v" + version() + " data at " + dataOffset
                + "]";
    }

    /**
     * The header's Python dict literal, e.g. {'descr': '<f4', 'fortran_order': False, 'shape': (3, 4), }, parsed
     * strictly: the three keys exactly once each in any order, string/bool/int-tuple values, Python whitespace, and
     * only spaces and a final '\n' after the closing brace. Anything else is malformed.
     */
    private static final class HeaderDict {
        private final Path file;
        private final String text;
        private int pos;
        String descr;
        Boolean fortranOrder;
        long[] shape;

        HeaderDict(Path file, String text) {
            this.file = file;
            this.text = text;
        }

        HeaderDict parse() throws TensorFormatException {
            skipWhitespace();
            expect('{');
            skipWhitespace();
            while (peek() != '}') {
                String key = readString();
                skipWhitespace();
                expect(':');
                skipWhitespace();
                switch (key) {
                    case "descr" -> { if (descr != null) throw duplicate(key); descr = readString(); }
                    case "fortran_order" -> {
                        if (fortranOrder != null) throw duplicate(key);
                        fortranOrder = readBoolean();
                    }
                    case "shape" -> { if (shape != null) throw duplicate(key); shape = readShape(); }
                    default -> throw malformed("unexpected key '" + key
                            + "' (expected 'descr', 'fortran_order' and 'shape')");
                }
                skipWhitespace();
                if (peek() == ',') {
                    pos++;
                    skipWhitespace();
                } else if (peek() != '}') {
                    throw malformed("expected ',' or '}'");
                }
            }
            pos++;
            if (descr == null) throw missing("descr");
            if (fortranOrder == null) throw missing("fortran_order");
            if (shape == null) throw missing("shape");
            if (text.isEmpty() || text.charAt(text.length() - 1) != '\n') throw malformed("header does not end with '\\n'");
            for (; pos < text.length() - 1; pos++) {
                if (text.charAt(pos) != ' ') throw malformed("only spaces may follow the dict");
            }
            return this;
        }

        private String readString() throws TensorFormatException {
            char quote = peek();
            if (quote != '\'' && quote != '"') throw malformed("expected a quoted string");
            int start = ++pos;
            while (pos < text.length() && text.charAt(pos) != quote) {
                char c = text.charAt(pos);
                if (c == '\\' || c < ' ' || c > '~') throw malformed("unsupported character in a string");
                pos++;
            }
            if (pos >= text.length()) throw malformed("unterminated string");
            return text.substring(start, pos++);
        }

        private boolean readBoolean() throws TensorFormatException {
            if (text.startsWith("True", pos)) { pos += 4; return true; }
            if (text.startsWith("False", pos)) { pos += 5; return false; }
            throw malformed("expected True or False");
        }

        /** A tuple of ints: "()", "(5,)", "(3, 4)" or "(3, 4,)"; "(5)" is an int in Python, not a tuple. */
        private long[] readShape() throws TensorFormatException {
            expect('(');
            long[] dims = new long[4];
            int count = 0;
            boolean trailingComma = false;
            skipWhitespace();
            while (peek() != ')') {
                if (count == dims.length) dims = Arrays.copyOf(dims, count * 2);
                dims[count++] = readDimension();
                skipWhitespace();
                trailingComma = peek() == ',';
                if (trailingComma) {
                    pos++;
                    skipWhitespace();
                } else if (peek() != ')') {
                    throw malformed("expected ',' or ')' in shape");
                }
            }
            pos++;
            if (count == 1 && !trailingComma) throw malformed("shape is not a tuple (a 1-tuple needs a comma)");
            return Arrays.copyOf(dims, count);
        }

        private long readDimension() throws TensorFormatException {
            int start = pos;
            boolean negative = peek() == '-';
            if (negative) pos++;
            int digitsStart = pos;
            long value = 0;
            while (pos < text.length() && text.charAt(pos) >= '0' && text.charAt(pos) <= '9') {
                int digit = text.charAt(pos++) - '0';
                if (value > (Long.MAX_VALUE - digit) / 10) {
                    throw malformed("dimension " + numberText(start) + " is too large");
                }
                value = value * 10 + digit;
            }
            if (pos == digitsStart) throw malformed("expected an integer dimension");
            if (text.charAt(digitsStart) == '0' && pos - digitsStart > 1) {
                throw malformed("leading zero in dimension " + text.substring(start, pos));
            }
            if (negative && value != 0) throw malformed("negative dimension " + text.substring(start, pos));
            return value;
        }

        /** The digits of a number starting at start, cut short if very long. */
        private String numberText(int start) {
            int end = start + 1;
            while (end < text.length() && Character.isDigit(text.charAt(end))) end++;
            return end - start > 40 ? text.substring(start, start + 40) + "..." : text.substring(start, end);
        }

        private void skipWhitespace() {
            while (pos < text.length()) {
                char c = text.charAt(pos);
                if (c != ' ' && c != '\t' && c != '\n' && c != '\r' && c != '\f') return;
                pos++;
            }
        }

        private char peek() throws TensorFormatException {
            if (pos >= text.length()) throw malformed("unexpected end of header");
            return text.charAt(pos);
        }

        private void expect(char c) throws TensorFormatException {
            if (peek() != c) throw malformed("expected '" + c + "'");
            pos++;
        }

        private TensorFormatException duplicate(String key) {
            return malformed("duplicate key '" + key + "'");
        }

        private TensorFormatException missing(String key) {
            return malformed("missing key '" + key + "'");
        }

        private TensorFormatException malformed(String reason) {
            return new TensorFormatException(file, "malformed header: " + reason + " at character " + pos
                    + " of " + excerpt());
        }

        /** The header text, printable and not too long, for error messages. */
        private String excerpt() {
            StringBuilder out = new StringBuilder("\"");
            int end = Math.min(text.length(), 160);
            for (int i = 0; i < end; i++) {
                char c = text.charAt(i);
                if (c >= ' ' && c <= '~') out.append(c); else out.append(String.format("\\x%02x", (int) c));
            }
            return out.append(end < text.length() ? "...\"" : "\"").toString();
        }
    }
}
