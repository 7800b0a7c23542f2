package dev.longnet.storage;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * The directory of a zip archive held in a mapped file, as torch.save writes it: each entry's name, method, sizes
 * and where its data starts in the file (read from the entry's local header). ZIP64 sizes and offsets are read;
 * encryption, multi-disk archives and entries reaching past the file are refused. Nothing is decompressed here.
 */
final class TorchZip {
    /** More entries than this is not a checkpoint (torch writes one per storage, plus a few). */
    static final int MAX_ENTRIES = 1 << 20;
    static final int STORED = 0;
    static final int DEFLATED = 8;

    private static final ValueLayout.OfInt INT = ValueLayout.JAVA_INT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfShort SHORT = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfLong LONG = ValueLayout.JAVA_LONG_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final int EOCD = 0x06054b50;
    private static final int EOCD_BYTES = 22;
    private static final int ZIP64_LOCATOR = 0x07064b50;
    private static final int ZIP64_EOCD = 0x06064b50;
    private static final int CENTRAL = 0x02014b50;
    private static final int CENTRAL_BYTES = 46;
    private static final int LOCAL = 0x04034b50;
    private static final int LOCAL_BYTES = 30;
    private static final long U32 = 0xFFFFFFFFL;

    /** An entry: its data is file bytes [dataOffset, dataOffset + compressedSize). */
    record Entry(String name, int method, long compressedSize, long size, int crc, long dataOffset) { }

    private final Path file;
    private final MemorySegment bytes;

    private TorchZip(Path file, MemorySegment bytes) {
        this.file = file;
        this.bytes = bytes;
    }

    /** The entries of the archive mapped as bytes, by name, in directory order. */
    static Map<String, Entry> entries(Path file, MemorySegment bytes) throws TensorFormatException {
        return new TorchZip(file, bytes).read();
    }

    private Map<String, Entry> read() throws TensorFormatException {
        long size = bytes.byteSize();
        long eocd = findEndRecord();
        long count = u16(eocd + 10);
        long directorySize = u32(eocd + 12);
        long directoryOffset = u32(eocd + 16);
        if (u16(eocd + 4) != 0 || u16(eocd + 6) != 0) throw error("multi-disk zip archives are not supported");
        if (count == 0xFFFF || directorySize == U32 || directoryOffset == U32) {
            long locator = eocd - 20;
            if (locator < 0 || i32(locator) != ZIP64_LOCATOR) throw error("ZIP64 end record locator missing");
            long end64 = i64(locator + 8);
            if (end64 < 0 || end64 > locator - 56 || i32(end64) != ZIP64_EOCD) {
                throw error("ZIP64 end record missing or misplaced");
            }
            count = i64(end64 + 32);
            directorySize = i64(end64 + 40);
            directoryOffset = i64(end64 + 48);
        }
        if (count < 0 || count > MAX_ENTRIES) throw error("zip archive claims " + count + " entries (at most " + MAX_ENTRIES + ")");
        if (directoryOffset < 0 || directorySize < 0 || directoryOffset > size || directorySize > size - directoryOffset) {
            throw error("zip central directory [" + directoryOffset + ", +" + directorySize + ") lies outside the "
                    + size + "-byte file");
        }
        Map<String, Entry> entries = new LinkedHashMap<>();
        long at = directoryOffset;
        long end = directoryOffset + directorySize;
        for (long i = 0; i < count; i++) {
            if (at > end - CENTRAL_BYTES || i32(at) != CENTRAL) throw error("zip central directory entry " + i + " is damaged");
            int flags = u16(at + 8);
            int method = u16(at + 10);
            int crc = i32(at + 16);
            long compressed = u32(at + 20);
            long uncompressed = u32(at + 24);
            int nameLength = u16(at + 28);
            int extraLength = u16(at + 30);
            int commentLength = u16(at + 32);
            long local = u32(at + 42);
            long next = at + CENTRAL_BYTES + nameLength + extraLength + commentLength;
            if (next > end) throw error("zip central directory entry " + i + " runs past the directory");
            String name = new String(bytes.asSlice(at + CENTRAL_BYTES, nameLength).toArray(ValueLayout.JAVA_BYTE),
                    StandardCharsets.UTF_8);
            // ZIP64 extra field: the 8-byte values, in this order, of the fields that hold 0xFFFFFFFF
            long extra = at + CENTRAL_BYTES + nameLength;
            long extraEnd = extra + extraLength;
            while (extra <= extraEnd - 4) {
                int id = u16(extra);
                int length = u16(extra + 2);
                long field = extra + 4;
                if (field + length > extraEnd) throw error("zip entry \"" + name + "\": extra field runs past its entry");
                if (id == 0x0001) {
                    long p = field;
                    if (uncompressed == U32) { uncompressed = zip64(p, field + length, name); p += 8; }
                    if (compressed == U32) { compressed = zip64(p, field + length, name); p += 8; }
                    if (local == U32) { local = zip64(p, field + length, name); }
                }
                extra = field + length;
            }
            if ((flags & 1) != 0) throw error("zip entry \"" + name + "\" is encrypted");
            if (compressed < 0 || uncompressed < 0 || local < 0 || local > size - LOCAL_BYTES || i32(local) != LOCAL) {
                throw error("zip entry \"" + name + "\": local header missing or misplaced");
            }
            long data = local + LOCAL_BYTES + u16(local + 26) + u16(local + 28);
            if (data > size || compressed > size - data) {
                throw error("zip entry \"" + name + "\": its " + compressed + " bytes at offset " + data
                        + " run past the end of the " + size + "-byte file (truncated?)");
            }
            if (method == STORED && compressed != uncompressed) {
                throw error("zip entry \"" + name + "\" is stored with sizes " + compressed + " and " + uncompressed);
            }
            if (entries.put(name, new Entry(name, method, compressed, uncompressed, crc, data)) != null) {
                throw error("zip archive holds \"" + name + "\" twice");
            }
            at = next;
        }
        return Collections.unmodifiableMap(entries);
    }

    /** The end of central directory record: the last signature within the final 64 KiB + 22 bytes. */
    private long findEndRecord() throws TensorFormatException {
        long size = bytes.byteSize();
        long lowest = Math.max(0, size - EOCD_BYTES - 0xFFFF);
        for (long at = size - EOCD_BYTES; at >= lowest; at--) {
            if (i32(at) == EOCD) return at;
        }
        throw error("not a complete zip archive: no end of central directory record (truncated?)");
    }

    private long zip64(long at, long end, String name) throws TensorFormatException {
        if (at > end - 8) throw error("zip entry \"" + name + "\": ZIP64 field too short");
        return i64(at);
    }

    private int u16(long at) { return bytes.get(SHORT, at) & 0xFFFF; }
    private long u32(long at) { return bytes.get(INT, at) & U32; }
    private int i32(long at) { return bytes.get(INT, at); }
    private long i64(long at) { return bytes.get(LONG, at); }

    private TensorFormatException error(String reason) {
        return new TensorFormatException(file, reason);
    }
}
