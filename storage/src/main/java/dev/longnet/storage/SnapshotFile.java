package dev.longnet.storage;

import java.io.BufferedInputStream;
import java.io.BufferedOutputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.Channels;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.zip.CRC32C;
import net.jpountz.lz4.LZ4FrameInputStream;
import net.jpountz.lz4.LZ4FrameOutputStream;

/**
 * A snapshot: a header of named text fields and a payload of f32 segments, written atomically (NAME.partial,
 * forced, renamed). The payload is byte-shuffled (all first bytes of a block's floats, then all second bytes, ...:
 * exponents and high mantissa bytes repeat far more than low ones) and LZ4-compressed; the header and the payload
 * each carry a CRC32C, so a truncated or damaged file fails with a {@link TensorFormatException}, never loads.
 *
 * <pre>
 * "LNSNAP01" | header length (int32 LE) | header (UTF-8 "key=value" lines) | CRC32C(header) (int32 LE)
 * | LZ4 frame of: shuffled payload blocks, then CRC32C of the unshuffled payload (int64 LE)
 * </pre>
 * The reader knows the payload's layout from the header, so segments are read back in the order they were written.
 */
public final class SnapshotFile {
    /** The header field, added by {@link #write}, holding the payload's length in bytes. */
    public static final String PAYLOAD_BYTES = "payload.bytes";
    private static final byte[] MAGIC = "LNSNAP01".getBytes(StandardCharsets.US_ASCII);
    private static final int MAX_HEADER = 1 << 16;
    /** Floats shuffled together. */
    private static final int BLOCK_FLOATS = 1 << 14;

    private SnapshotFile() { }

    /** Writes {@code header} and the payload segments (their byte sizes multiples of 4) to {@code target}. */
    public static void write(Path target, Map<String, String> header, MemorySegment... payload) throws IOException {
        AtomicFile.write(target, channel -> {
            // Closing the LZ4 stream ends the frame; the channel stays open to be forced.
            OutputStream file = new BufferedOutputStream(Channels.newOutputStream(channel), 1 << 16) {
                @Override
                public void close() throws IOException { flush(); }
            };
            long payloadBytes = 0;
            for (MemorySegment segment : payload) payloadBytes += segment.byteSize();
            Map<String, String> fields = new LinkedHashMap<>(header);
            fields.put(PAYLOAD_BYTES, Long.toString(payloadBytes));
            byte[] text = headerText(fields);
            file.write(MAGIC);
            file.write(intLe(text.length));
            file.write(text);
            file.write(intLe((int) crc(text, text.length)));
            LZ4FrameOutputStream lz4 = new LZ4FrameOutputStream(file, LZ4FrameOutputStream.BLOCKSIZE.SIZE_4MB);
            CRC32C crc = new CRC32C();
            byte[] raw = new byte[BLOCK_FLOATS * 4];
            byte[] shuffled = new byte[BLOCK_FLOATS * 4];
            for (MemorySegment segment : payload) {
                requireFloats(segment);
                for (long at = 0; at < segment.byteSize(); at += raw.length) {
                    int length = (int) Math.min(raw.length, segment.byteSize() - at);
                    MemorySegment.copy(segment, ValueLayout.JAVA_BYTE, at, raw, 0, length);
                    crc.update(raw, 0, length);
                    shuffle(raw, shuffled, length);
                    lz4.write(shuffled, 0, length);
                }
            }
            lz4.write(longLe(crc.getValue()));
            lz4.close();
        });
    }

    /** Opens a snapshot: checks the magic and the header's checksum; the payload is read with {@link Reader#read}. */
    public static Reader open(Path file) throws IOException {
        InputStream in = new BufferedInputStream(Files.newInputStream(file), 1 << 16);
        try {
            byte[] magic = readFully(in, MAGIC.length, file, "its magic");
            if (!java.util.Arrays.equals(magic, MAGIC)) {
                throw new TensorFormatException(file, "not a longnet snapshot (bad magic)");
            }
            int length = ByteBuffer.wrap(readFully(in, 4, file, "the header length")).order(ByteOrder.LITTLE_ENDIAN).getInt();
            if (length < 0 || length > MAX_HEADER) {
                throw new TensorFormatException(file, "corrupt snapshot (header length " + length + ")");
            }
            byte[] text = readFully(in, length, file, "the header");
            int stored = ByteBuffer.wrap(readFully(in, 4, file, "the header checksum")).order(ByteOrder.LITTLE_ENDIAN).getInt();
            if ((int) crc(text, length) != stored) {
                throw new TensorFormatException(file, "corrupt snapshot (the header fails its checksum)");
            }
            return new Reader(file, parseHeader(file, text), in);
        } catch (IOException | RuntimeException e) {
            in.close();
            throw e;
        }
    }

    /** Reads a snapshot's payload back, in the order it was written. */
    public static final class Reader implements AutoCloseable {
        private final Path file;
        private final Map<String, String> header;
        private final InputStream raw;
        private final InputStream lz4;
        private final CRC32C crc = new CRC32C();
        private final byte[] shuffled = new byte[BLOCK_FLOATS * 4];
        private final byte[] bytes = new byte[BLOCK_FLOATS * 4];
        private long read;

        private Reader(Path file, Map<String, String> header, InputStream raw) throws IOException {
            this.file = file;
            this.header = header;
            this.raw = raw;
            try {
                this.lz4 = new LZ4FrameInputStream(raw);
            } catch (IOException | RuntimeException e) {
                throw corrupt(e);
            }
        }

        public Map<String, String> header() { return header; }

        public Path file() { return file; }

        /** Fills {@code segment} (a multiple of 4 bytes) with the next payload bytes. */
        public void read(MemorySegment segment) throws IOException {
            requireFloats(segment);
            read += segment.byteSize();
            if (read > payloadBytes()) {
                throw new TensorFormatException(file, "corrupt snapshot (its payload is shorter than its state)");
            }
            for (long at = 0; at < segment.byteSize(); at += bytes.length) {
                int length = (int) Math.min(bytes.length, segment.byteSize() - at);
                readPayload(shuffled, length);
                unshuffle(shuffled, bytes, length);
                crc.update(bytes, 0, length);
                MemorySegment.copy(bytes, 0, segment, ValueLayout.JAVA_BYTE, at, length);
            }
        }

        private long payloadBytes() throws TensorFormatException {
            try {
                return Long.parseLong(String.valueOf(header.get(PAYLOAD_BYTES)));
            } catch (NumberFormatException e) {
                throw new TensorFormatException(file, "corrupt snapshot (no payload length)");
            }
        }

        /** Checks that the whole payload was read, its checksum, and that nothing follows it. */
        public void finish() throws IOException {
            if (read != payloadBytes()) {
                throw new TensorFormatException(file, "corrupt snapshot (its payload is longer than its state)");
            }
            byte[] stored = new byte[8];
            readPayload(stored, 8);
            if (ByteBuffer.wrap(stored).order(ByteOrder.LITTLE_ENDIAN).getLong() != crc.getValue()) {
                throw new TensorFormatException(file, "corrupt snapshot (the payload fails its checksum)");
            }
            try {
                if (lz4.read() >= 0 || raw.read() >= 0) {
                    throw new TensorFormatException(file, "corrupt snapshot (data after the payload's end)");
                }
            } catch (TensorFormatException e) {
                throw e;
            } catch (IOException | RuntimeException e) {
                throw corrupt(e);
            }
        }

        private void readPayload(byte[] into, int length) throws IOException {
            int done = 0;
            try {
                while (done < length) {
                    int n = lz4.read(into, done, length - done);
                    if (n < 0) throw new EOFException();
                    done += n;
                }
            } catch (EOFException e) {
                throw new TensorFormatException(file, "truncated snapshot (the payload ends early)");
            } catch (IOException | RuntimeException e) {
                throw corrupt(e);
            }
        }

        private TensorFormatException corrupt(Exception e) {
            return new TensorFormatException(file, "corrupt snapshot (" + (e.getMessage() != null ? e.getMessage()
                    : e.getClass().getSimpleName()) + ")");
        }

        @Override
        public void close() throws IOException { raw.close(); }
    }

    private static void requireFloats(MemorySegment segment) {
        if (segment.byteSize() % 4 != 0) throw new IllegalArgumentException("payload segments hold f32 values");
    }

    /** out[b·n + i] = in[4i + b] for the n = length/4 floats of a block. */
    static void shuffle(byte[] in, byte[] out, int length) {
        int n = length / 4;
        for (int i = 0; i < n; i++) {
            out[i] = in[4 * i];
            out[n + i] = in[4 * i + 1];
            out[2 * n + i] = in[4 * i + 2];
            out[3 * n + i] = in[4 * i + 3];
        }
    }

    static void unshuffle(byte[] in, byte[] out, int length) {
        int n = length / 4;
        for (int i = 0; i < n; i++) {
            out[4 * i] = in[i];
            out[4 * i + 1] = in[n + i];
            out[4 * i + 2] = in[2 * n + i];
            out[4 * i + 3] = in[3 * n + i];
        }
    }

    private static byte[] headerText(Map<String, String> header) {
        StringBuilder text = new StringBuilder();
        for (Map.Entry<String, String> e : header.entrySet()) {
            if (e.getKey().contains("=") || e.getKey().contains("\n") || e.getValue().contains("\n")) {
                throw new IllegalArgumentException("header field '" + e.getKey() + "' cannot be written");
            }
            text.append(e.getKey()).append('=').append(e.getValue()).append('\n');
        }
        return text.toString().getBytes(StandardCharsets.UTF_8);
    }

    private static Map<String, String> parseHeader(Path file, byte[] text) throws TensorFormatException {
        Map<String, String> header = new LinkedHashMap<>();
        for (String line : new String(text, StandardCharsets.UTF_8).split("\n")) {
            int eq = line.indexOf('=');
            if (eq <= 0 || header.put(line.substring(0, eq), line.substring(eq + 1)) != null) {
                throw new TensorFormatException(file, "corrupt snapshot (bad header line '" + line + "')");
            }
        }
        return header;
    }

    private static byte[] readFully(InputStream in, int length, Path file, String what) throws IOException {
        byte[] b = in.readNBytes(length);
        if (b.length != length) throw new TensorFormatException(file, "truncated snapshot (ends in " + what + ")");
        return b;
    }

    private static long crc(byte[] b, int length) {
        CRC32C crc = new CRC32C();
        crc.update(b, 0, length);
        return crc.getValue();
    }

    private static byte[] intLe(int v) { return ByteBuffer.allocate(4).order(ByteOrder.LITTLE_ENDIAN).putInt(v).array(); }

    private static byte[] longLe(long v) { return ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putLong(v).array(); }
}
