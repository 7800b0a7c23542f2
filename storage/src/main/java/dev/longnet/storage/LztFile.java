package dev.longnet.storage;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.zip.CRC32C;
import net.jpountz.lz4.LZ4Compressor;
import net.jpountz.lz4.LZ4Exception;
import net.jpountz.lz4.LZ4Factory;
import net.jpountz.lz4.LZ4SafeDecompressor;

import static java.nio.file.StandardOpenOption.CREATE;
import static java.nio.file.StandardOpenOption.READ;
import static java.nio.file.StandardOpenOption.TRUNCATE_EXISTING;
import static java.nio.file.StandardOpenOption.WRITE;

/**
 * The .lzt token container: token ids in chunks of a fixed number of ids, each chunk lz4-compressed on its own so
 * that any id can be read without decoding the file before it. Little-endian layout:
 * <pre>
 * magic "LNTOKLZ1" | u32 version 1 | u32 id width (1, 2 or 4 bytes) | u64 id count | u32 ids per chunk
 * | u32 chunk count | u32 CRC32C of the 32 bytes before it
 * index: per chunk u64 offset, u32 compressed length, u32 CRC32C of the chunk's uncompressed bytes
 * | u32 CRC32C of the index
 * chunks: lz4 blocks
 * </pre>
 * A damaged header, index or chunk is reported with the chunk's number; nothing wrong is ever returned.
 */
public final class LztFile extends TokenFile {
    static final byte[] MAGIC = {'L', 'N', 'T', 'O', 'K', 'L', 'Z', '1'};
    public static final int DEFAULT_CHUNK = 1 << 16;
    private static final int HEADER_BYTES = 36;
    private static final int INDEX_ENTRY = 16;

    private final FileChannel channel;
    private final int width;
    private final int chunkIds;
    private final long[] offsets;
    private final int[] lengths;
    private final int[] checksums;
    private final LZ4SafeDecompressor decompressor = LZ4Factory.fastestInstance().safeDecompressor();
    private final ByteBuffer compressed;
    private final ByteBuffer chunk;
    private int cachedChunk = -1;

    private LztFile(Path path, FileChannel channel, long count, int width, int chunkIds, long[] offsets, int[] lengths,
                    int[] checksums) {
        super(path, count);
        this.channel = channel;
        this.width = width;
        this.chunkIds = chunkIds;
        this.offsets = offsets;
        this.lengths = lengths;
        this.checksums = checksums;
        int max = 0;
        for (int l : lengths) max = Math.max(max, l);
        this.compressed = ByteBuffer.allocate(max);
        this.chunk = ByteBuffer.allocate(chunkIds * width).order(ByteOrder.LITTLE_ENDIAN);
    }

    public static LztFile open(Path file) throws IOException {
        FileChannel ch = FileChannel.open(file, READ);
        try {
            ByteBuffer header = readAt(ch, file, 0, HEADER_BYTES, "header");
            byte[] magic = new byte[8];
            header.get(0, magic);
            if (!java.util.Arrays.equals(magic, MAGIC)) throw new TensorFormatException(file, "not an .lzt token file (bad magic)");
            if (crc(header, 0, 32) != header.getInt(32)) throw new TensorFormatException(file, "header checksum mismatch");
            int version = header.getInt(8), width = header.getInt(12), chunkIds = header.getInt(24), chunks = header.getInt(28);
            long count = header.getLong(16);
            if (version != 1) throw new TensorFormatException(file, "unsupported .lzt version " + version);
            if (width != 1 && width != 2 && width != 4) throw new TensorFormatException(file, "bad id width " + width);
            if (chunkIds < 1 || count < 0 || chunks != (count + chunkIds - 1) / chunkIds || (long) chunkIds * width > 1 << 30) {
                throw new TensorFormatException(file, "inconsistent header: " + count + " ids in " + chunks
                        + " chunks of " + chunkIds);
            }
            ByteBuffer index = readAt(ch, file, HEADER_BYTES, (long) chunks * INDEX_ENTRY + 4, "index");
            if (crc(index, 0, chunks * INDEX_ENTRY) != index.getInt(chunks * INDEX_ENTRY)) {
                throw new TensorFormatException(file, "index checksum mismatch");
            }
            long[] offsets = new long[chunks];
            int[] lengths = new int[chunks], checksums = new int[chunks];
            long dataStart = HEADER_BYTES + (long) chunks * INDEX_ENTRY + 4;
            for (int c = 0; c < chunks; c++) {
                offsets[c] = index.getLong(c * INDEX_ENTRY);
                lengths[c] = index.getInt(c * INDEX_ENTRY + 8);
                checksums[c] = index.getInt(c * INDEX_ENTRY + 12);
                if (offsets[c] < dataStart || lengths[c] < 0 || offsets[c] + lengths[c] > ch.size()) {
                    throw new TensorFormatException(file, "chunk " + c + " lies outside the file (truncated?)");
                }
            }
            return new LztFile(file, ch, count, width, chunkIds, offsets, lengths, checksums);
        } catch (IOException | RuntimeException e) {
            ch.close();
            throw e;
        }
    }

    /**
     * Writes the ids of source as an .lzt file of width-byte ids (1, 2 or 4), chunkIds per chunk, atomically.
     * @return the file's size in bytes
     */
    public static long write(Path target, TokenFile source, int width, int chunkIds) throws IOException {
        if (width != 1 && width != 2 && width != 4) throw new IllegalArgumentException("id width must be 1, 2 or 4, got " + width);
        long count = source.count();
        long chunksLong = (count + chunkIds - 1) / chunkIds;
        if (chunksLong > Integer.MAX_VALUE / INDEX_ENTRY) throw new IllegalArgumentException(target + ": too many chunks");
        int chunks = (int) chunksLong;
        LZ4Compressor compressor = LZ4Factory.fastestInstance().fastCompressor();
        AtomicFile.write(target, ch -> {
            ByteBuffer header = ByteBuffer.allocate(HEADER_BYTES).order(ByteOrder.LITTLE_ENDIAN);
            header.put(MAGIC).putInt(1).putInt(width).putLong(count).putInt(chunkIds).putInt(chunks);
            header.putInt(crc(header, 0, 32));
            ByteBuffer index = ByteBuffer.allocate(chunks * INDEX_ENTRY + 4).order(ByteOrder.LITTLE_ENDIAN);
            long position = HEADER_BYTES + index.capacity();
            int[] ids = new int[chunkIds];
            ByteBuffer raw = ByteBuffer.allocate(chunkIds * width).order(ByteOrder.LITTLE_ENDIAN);
            ByteBuffer out = ByteBuffer.allocate(compressor.maxCompressedLength(raw.capacity()));
            for (int c = 0; c < chunks; c++) {
                int n = (int) Math.min(chunkIds, count - (long) c * chunkIds);
                source.read((long) c * chunkIds, ids, 0, n);
                raw.clear();
                for (int i = 0; i < n; i++) {
                    checkFits(source.path(), ids[i], width);
                    switch (width) {
                        case 1 -> raw.put((byte) ids[i]);
                        case 2 -> raw.putShort((short) ids[i]);
                        default -> raw.putInt(ids[i]);
                    }
                }
                raw.flip();
                out.clear();
                compressor.compress(raw.duplicate(), out);
                out.flip();
                index.putLong(position).putInt(out.remaining()).putInt(crc(raw, 0, raw.remaining()));
                position += writeAt(ch, out, position);
            }
            index.putInt(crc(index, 0, chunks * INDEX_ENTRY));
            writeAt(ch, header.flip(), 0);
            writeAt(ch, index.flip(), HEADER_BYTES);
        });
        return Files.size(target);
    }

    @Override public int width() { return width; }

    @Override
    public void read(long from, int[] dst, int off, int n) throws IOException {
        if (from < 0 || n < 0 || from > count - n) {
            throw new IndexOutOfBoundsException(path + ": ids [" + from + ", " + (from + n) + ") of " + count);
        }
        while (n > 0) {
            int c = (int) (from / chunkIds);
            load(c);
            int at = (int) (from - (long) c * chunkIds);
            int take = Math.min(n, chunk.limit() / width - at);
            for (int i = 0; i < take; i++) {
                int p = (at + i) * width;
                dst[off + i] = switch (width) {
                    case 1 -> chunk.get(p) & 0xFF;
                    case 2 -> chunk.getShort(p) & 0xFFFF;
                    default -> chunk.getInt(p);
                };
            }
            from += take;
            off += take;
            n -= take;
        }
    }

    private void load(int c) throws IOException {
        if (c == cachedChunk) return;
        cachedChunk = -1;
        compressed.clear().limit(lengths[c]);
        while (compressed.hasRemaining()) {
            if (channel.read(compressed, offsets[c] + compressed.position()) < 0) {
                throw new TensorFormatException(path, "chunk " + c + " is truncated");
            }
        }
        compressed.flip();
        int expected = (int) Math.min(chunkIds, count - (long) c * chunkIds) * width;
        chunk.clear();
        try {
            decompressor.decompress(compressed, chunk);
        } catch (LZ4Exception e) {
            throw new TensorFormatException(path, "chunk " + c + " is damaged (lz4: " + e.getMessage() + ")");
        }
        chunk.flip();
        if (chunk.limit() != expected || crc(chunk, 0, expected) != checksums[c]) {
            throw new TensorFormatException(path, "chunk " + c + " is damaged (checksum mismatch)");
        }
        cachedChunk = c;
    }

    @Override
    public void close() throws IOException { channel.close(); }

    private static int crc(ByteBuffer b, int from, int length) {
        CRC32C crc = new CRC32C();
        crc.update(b.duplicate().clear().position(from).limit(from + length));
        return (int) crc.getValue();
    }

    private static ByteBuffer readAt(FileChannel ch, Path file, long position, long length, String what) throws IOException {
        if (length > Integer.MAX_VALUE || position + length > ch.size()) throw new TensorFormatException(file, "truncated " + what);
        ByteBuffer b = ByteBuffer.allocate((int) length).order(ByteOrder.LITTLE_ENDIAN);
        while (b.hasRemaining()) {
            if (ch.read(b, position + b.position()) < 0) throw new TensorFormatException(file, "truncated " + what);
        }
        return b.flip();
    }

    private static int writeAt(FileChannel ch, ByteBuffer b, long position) throws IOException {
        int n = b.remaining();
        while (b.hasRemaining()) ch.write(b, position + n - b.remaining());
        return n;
    }
}
