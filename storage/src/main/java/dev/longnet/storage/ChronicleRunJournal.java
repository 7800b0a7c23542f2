package dev.longnet.storage;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.zip.CRC32C;
import net.openhft.chronicle.bytes.MappedBytes;

/**
 * {@link RunJournal} on chronicle-bytes' {@link MappedBytes}: the file is mapped in 1 MiB chunks and grows as
 * records are appended.
 *
 * <pre>
 * 0   "LNJRNL01"                      8 bytes
 * 8   format version (1)              int
 * 12  header length H                 int
 * 16  CRC32C of the header text       int
 * 20  offset of the first record R    int
 * 24  header text: "key=value\n" lines, UTF-8, H bytes
 * R   records, 8-byte aligned: length L (int, 0 = end of log), CRC32C of the payload (int), payload (L bytes):
 *     kind (byte), pass (int), levels, unit, firstRow, rows, tiles, checksum (longs), note length (short), note
 * </pre>
 * All numbers are little-endian. A record's length is written last, after its payload and CRC.
 */
final class ChronicleRunJournal implements RunJournal {
    private static final byte[] MAGIC = "LNJRNL01".getBytes(StandardCharsets.US_ASCII);
    private static final int VERSION = 1;
    private static final long CHUNK = 1L << 20;
    private static final long OVERLAP = 64L << 10;
    private static final int FIXED_PAYLOAD = 1 + 4 + 6 * 8 + 2;
    private static final int MAX_NOTE = 4096;
    private static final int MAX_PAYLOAD = FIXED_PAYLOAD + MAX_NOTE;

    private final Path path;
    private final MappedBytes bytes;
    private final FileChannel channel;
    private final Map<String, String> header;
    private final List<Entry> entries;
    private long end;
    private boolean closed;

    static {
        ChronicleSetup.init();
    }

    private ChronicleRunJournal(Path path, MappedBytes bytes, FileChannel channel, Map<String, String> header,
                                List<Entry> entries, long end) {
        this.path = path;
        this.bytes = bytes;
        this.channel = channel;
        this.header = header;
        this.entries = entries;
        this.end = end;
    }

    static RunJournal create(Path file, Map<String, String> fields) throws IOException {
        ChronicleSetup.requireAccess();
        byte[] text = encodeHeader(fields);
        Path temporary = file.resolveSibling(file.getFileName() + ".tmp");
        Files.deleteIfExists(temporary);
        MappedBytes out = MappedBytes.mappedBytes(temporary.toFile(), CHUNK, OVERLAP);
        try (FileChannel channel = FileChannel.open(temporary, StandardOpenOption.READ, StandardOpenOption.WRITE)) {
            out.singleThreadedCheckDisabled(true);
            ByteBuffer head = ByteBuffer.allocate(24).order(ByteOrder.LITTLE_ENDIAN);
            head.put(MAGIC).putInt(VERSION).putInt(text.length).putInt(crc(text, 0, text.length))
                    .putInt(align(24 + text.length));
            out.write(0, head.array());
            out.write(24, text);
            channel.force(false);
        } finally {
            out.releaseLast();
        }
        AtomicFile.rename(temporary, file);
        return open(file);
    }

    static RunJournal open(Path file) throws IOException {
        ChronicleSetup.requireAccess();
        if (!Files.isRegularFile(file)) throw new NoSuchFileException(file.toString(), null, "no journal");
        if (Files.size(file) < 24) throw new TensorFormatException(file, "not a run journal (too short)");
        MappedBytes bytes = MappedBytes.mappedBytes(file.toFile(), CHUNK, OVERLAP);
        FileChannel channel = null;
        try {
            bytes.singleThreadedCheckDisabled(true);
            channel = FileChannel.open(file, StandardOpenOption.READ, StandardOpenOption.WRITE);
            byte[] head = new byte[24];
            readBytes(bytes, 0, head, head.length);
            ByteBuffer h = ByteBuffer.wrap(head).order(ByteOrder.LITTLE_ENDIAN);
            byte[] magic = new byte[MAGIC.length];
            h.get(magic);
            if (!java.util.Arrays.equals(magic, MAGIC)) throw new TensorFormatException(file, "not a run journal");
            int version = h.getInt();
            if (version != VERSION) throw new TensorFormatException(file, "journal format " + version + " is not supported");
            int length = h.getInt();
            int headerCrc = h.getInt();
            int recordsStart = h.getInt();
            if (length < 0 || length > (16 << 20) || recordsStart != align(24 + length)) {
                throw new TensorFormatException(file, "run journal header is damaged");
            }
            byte[] text = new byte[length];
            readBytes(bytes, 24, text, length);
            if (crc(text, 0, length) != headerCrc) throw new TensorFormatException(file, "run journal header is damaged");
            Map<String, String> header = decodeHeader(text);
            List<Entry> entries = new ArrayList<>();
            long at = recordsStart;
            byte[] payload = new byte[MAX_PAYLOAD];
            long limit = channel.size();
            while (true) {
                Entry entry = recordAt(bytes, at, limit, payload);
                if (entry == null) break;
                entries.add(entry);
                at += align(8 + bytes.readInt(at));
            }
            // Only the last record can be torn (a record's length is written after its payload, and each append is
            // forced before the next); a bad record with whole records after it is damage, not a crash.
            for (long later = at + 8; later + 8 + FIXED_PAYLOAD <= limit; later += 8) {
                if (recordAt(bytes, later, limit, payload) != null) {
                    throw new TensorFormatException(file, "record " + entries.size() + " (at byte " + at + ") is"
                            + " damaged but whole records follow it (at byte " + later + "): the journal is corrupt");
                }
            }
            // Wipe what a crash may have left past the last whole record, so that appends start on clean bytes.
            byte[] zeros = new byte[align(8 + MAX_PAYLOAD)];
            byte[] tail = new byte[zeros.length];
            readBytes(bytes, at, tail, tail.length);
            if (!java.util.Arrays.equals(tail, zeros)) bytes.write(at, zeros);
            return new ChronicleRunJournal(file, bytes, channel, Collections.unmodifiableMap(header), entries, at);
        } catch (IOException | RuntimeException e) {
            if (channel != null) channel.close();
            bytes.releaseLast();
            throw e;
        }
    }

    @Override
    public Path path() { return path; }

    @Override
    public Map<String, String> header() { return header; }

    @Override
    public synchronized void append(Entry entry) {
        ensureOpen();
        byte[] payload = encode(entry);
        byte[] body = ByteBuffer.allocate(4 + payload.length).order(ByteOrder.LITTLE_ENDIAN)
                .putInt(crc(payload, 0, payload.length)).put(payload).array();
        bytes.write(end + 4, body);
        bytes.writeOrderedInt(end, payload.length);                                  // last: the record is whole
        end += align(8 + payload.length);
        entries.add(entry);
    }

    @Override
    public synchronized List<Entry> records() { return List.copyOf(entries); }

    @Override
    public synchronized void force() throws IOException {
        ensureOpen();
        channel.force(false);
    }

    @Override
    public synchronized void close() {
        if (closed) return;
        closed = true;
        try {
            channel.close();
        } catch (IOException e) {
            // nothing was pending that force() had not written
        }
        bytes.releaseLast();
    }

    private void ensureOpen() {
        if (closed) throw new IllegalStateException(path + ": the journal is closed");
    }

    /** The whole record at {@code at}, or null when there is none (end of log, torn, or damaged). */
    private static Entry recordAt(MappedBytes bytes, long at, long limit, byte[] payload) {
        int size = bytes.readVolatileInt(at);
        if (size < FIXED_PAYLOAD || size > MAX_PAYLOAD || at + 8 + size > limit) return null;    // 0: the end
        int stored = bytes.readInt(at + 4);
        readBytes(bytes, at + 8, payload, size);
        if (crc(payload, 0, size) != stored) return null;
        return decode(payload, size);
    }

    private static byte[] encode(Entry e) {
        byte[] note = e.note().getBytes(StandardCharsets.UTF_8);
        if (note.length > MAX_NOTE) {
            note = java.util.Arrays.copyOf(note, MAX_NOTE);
        }
        return ByteBuffer.allocate(FIXED_PAYLOAD + note.length).order(ByteOrder.LITTLE_ENDIAN)
                .put((byte) e.kind().code()).putInt(e.pass()).putLong(e.levels()).putLong(e.unit())
                .putLong(e.firstRow()).putLong(e.rows()).putLong(e.tiles()).putLong(e.checksum())
                .putShort((short) note.length).put(note).array();
    }

    private static Entry decode(byte[] payload, int size) {
        ByteBuffer b = ByteBuffer.wrap(payload, 0, size).order(ByteOrder.LITTLE_ENDIAN);
        Kind kind = Kind.of(b.get());
        if (kind == null) return null;
        int pass = b.getInt();
        long levels = b.getLong();
        long unit = b.getLong();
        long firstRow = b.getLong();
        long rows = b.getLong();
        long tiles = b.getLong();
        long checksum = b.getLong();
        int noteLength = b.getShort() & 0xFFFF;
        if (noteLength != size - FIXED_PAYLOAD) return null;
        byte[] note = new byte[noteLength];
        b.get(note);
        return new Entry(kind, pass, levels, unit, firstRow, rows, tiles, checksum,
                new String(note, StandardCharsets.UTF_8));
    }

    private static byte[] encodeHeader(Map<String, String> fields) {
        StringBuilder text = new StringBuilder();
        for (Map.Entry<String, String> f : fields.entrySet()) {
            String key = f.getKey();
            if (key.isEmpty() || key.contains("=") || key.contains("\n")) {
                throw new IllegalArgumentException("bad journal header key '" + key + "'");
            }
            text.append(key).append('=').append(String.valueOf(f.getValue()).replace('\n', ' ')).append('\n');
        }
        return text.toString().getBytes(StandardCharsets.UTF_8);
    }

    private static Map<String, String> decodeHeader(byte[] text) {
        Map<String, String> fields = new LinkedHashMap<>();
        for (String line : new String(text, StandardCharsets.UTF_8).split("\n")) {
            int eq = line.indexOf('=');
            if (eq > 0) fields.put(line.substring(0, eq), line.substring(eq + 1));
        }
        return fields;
    }

    private static int crc(byte[] data, int offset, int length) {
        CRC32C crc = new CRC32C();
        crc.update(data, offset, length);
        return (int) crc.getValue();
    }

    private static int align(int x) { return (x + 7) & ~7; }

    /**
     * Reads {@code length} bytes at {@code offset} by absolute reads (the bulk read stops at the read limit, which
     * absolute writes do not move).
     */
    private static void readBytes(MappedBytes bytes, long offset, byte[] dst, int length) {
        int i = 0;
        for (; i + 8 <= length; i += 8) {
            long word = bytes.readLong(offset + i);
            for (int b = 0; b < 8; b++) dst[i + b] = (byte) (word >>> (8 * b));   // little-endian, as stored
        }
        for (; i < length; i++) dst[i] = bytes.readByte(offset + i);
    }
}
