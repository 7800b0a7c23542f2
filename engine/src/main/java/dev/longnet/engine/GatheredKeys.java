package dev.longnet.engine;

import dev.longnet.storage.Advice;
import dev.longnet.storage.DType;
import dev.longnet.storage.Disk;
import dev.longnet.storage.Madvise;
import dev.longnet.storage.RowWindow;
import dev.longnet.storage.TensorRows;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.concurrent.ExecutorService;

/**
 * The keys and values of one window of a split pass ({@link Schedule.Pass#split()}), gathered head by head into a
 * scratch file: the dilated view of segment s and head h (input rows s·w + o_h + j·r, head h's d elements) is
 * stored as m contiguous rows of d elements.
 *
 * <p>Why: a split unit attends its queries to every key of its segment. Read in place, its views touch every page
 * of the segment's k and v (a row holds all heads, and 16 heads over r phases leave no page untouched), and the
 * pages stay mapped until the unit ends: 6 KB per row for GigaPath's 16 heads of 48, 430 MB at 70,000 rows.
 * Gathered, head h's view is m·d contiguous elements, and the unit drops them ({@link #drop}) once the head's tiles
 * are done, so that resident memory holds the views of the heads in flight, whatever the segment length.
 *
 * <p>The window is gathered once for all its units: k and v are read a chunk of rows at a time (mapped, then
 * unmapped) and the views are written with plain writes, so that the gather leaves nothing resident either. Raw
 * elements are copied, so the kernel reads exactly the values it would read in place: the bits do not change.
 */
final class GatheredKeys implements AutoCloseable {
    /** Bytes of k (and of v) rows mapped at once while gathering. */
    private static final long CHUNK_BYTES = 16L << 20;
    private static final long PAGE = 4096;

    private final Path file;
    private final Arena arena;
    private final MemorySegment data;
    private final DType kType;
    private final DType vType;
    private final int heads;
    private final int d;
    private final long firstSegment;
    /** View rows of (segment firstSegment + i, head h) at [i·heads + h]. */
    private final int[] rows;
    /** Byte offsets of each view's keys and values in the file, same index. */
    private final long[] kAt;
    private final long[] vAt;

    private GatheredKeys(Path file, Arena arena, MemorySegment data, DType kType, DType vType, int heads, int d,
                         long firstSegment, int[] rows, long[] kAt, long[] vAt) {
        this.file = file;
        this.arena = arena;
        this.data = data;
        this.kType = kType;
        this.vType = vType;
        this.heads = heads;
        this.d = d;
        this.firstSegment = firstSegment;
        this.rows = rows;
        this.kAt = kAt;
        this.vAt = vAt;
    }

    /**
     * Bytes of the scratch file for one segment of every level of {@code config} over n rows, the most any window
     * of a split pass gathers (its windows hold one segment).
     */
    static long bytes(AttentionConfig config, long n, DType kType, DType vType) {
        long most = 0;
        for (Level level : config.levels()) {
            long sl = level.effectiveSegment(n);
            long viewRows = 0;
            for (int h = 0; h < config.heads(); h++) {
                viewRows += Level.viewRows(sl, level.dilation(), config.offset(level, h));
            }
            most = Math.max(most, viewRows * config.headDim() * (kType.bytes() + vType.bytes()) + PAGE);
        }
        return most;
    }

    /**
     * Gathers the views of segments [firstSegment, endSegment) of {@code level} (segment s: input rows s·w, w =
     * min(segment, n)) from k and v into a new scratch file in {@code directory}, spreading the copying over
     * {@code pool}.
     */
    static GatheredKeys gather(Path directory, AttentionConfig config, Level level, long n, long firstSegment,
                               long endSegment, TensorRows k, TensorRows v, ExecutorService pool) throws IOException {
        int heads = config.heads();
        int d = config.headDim();
        long w = level.effectiveSegment(n);
        int r = level.dilation();
        int views = Math.toIntExact((endSegment - firstSegment) * heads);
        int[] rows = new int[views];
        long[] kAt = new long[views];
        long[] vAt = new long[views];
        long kRow = (long) d * k.dtype().bytes();
        long vRow = (long) d * v.dtype().bytes();
        long at = 0;
        for (int i = 0; i < views; i++) {
            long s = firstSegment + i / heads;
            rows[i] = Level.viewRows(Math.min(w, n - s * w), r, config.offset(level, i % heads));
            kAt[i] = at;
            at += rows[i] * kRow;
        }
        at = Math.ceilDiv(at, PAGE) * PAGE;                   // values from a page of their own
        for (int i = 0; i < views; i++) {
            vAt[i] = at;
            at += rows[i] * vRow;
        }
        long size = Math.max(1, at);
        Path file = Files.createTempFile(directory, "gathered-keys-", ".tmp");
        Arena arena = Arena.ofShared();
        try (FileChannel channel = FileChannel.open(file, StandardOpenOption.READ, StandardOpenOption.WRITE)) {
            long rowsPerChunk = Math.max(r, CHUNK_BYTES / Math.max(k.rowBytes(), v.rowBytes()));
            for (long s = firstSegment; s < endSegment; s++) {
                long first = s * w;
                long end = first + Math.min(w, n - first);
                int base = Math.toIntExact((s - firstSegment) * heads);
                for (long a = first; a < end; a += rowsPerChunk) {
                    long count = Math.min(rowsPerChunk, end - a);
                    long chunkFirst = a;
                    try (RowWindow kw = k.window(a, count); RowWindow vw = v.window(a, count)) {
                        List<Callable<Void>> copies = new ArrayList<>(heads);
                        for (int h = 0; h < heads; h++) {
                            int head = h;
                            int view = base + h;
                            long o = config.offset(level, h);
                            // View rows j of this chunk: input rows first + o + j·r in [a, a + count).
                            long j0 = Math.clamp(Math.ceilDiv(a - first - o, (long) r), 0, rows[view]);
                            long j1 = Math.clamp(Math.ceilDiv(a + count - first - o, (long) r), 0, rows[view]);
                            if (j1 <= j0) continue;
                            copies.add(() -> {
                                long firstRow = first + o + j0 * r - chunkFirst;   // in the chunk
                                copy(kw.segment(), k.rowBytes(), firstRow, r, head, kRow, j1 - j0, channel,
                                        kAt[view] + j0 * kRow);
                                copy(vw.segment(), v.rowBytes(), firstRow, r, head, vRow, j1 - j0, channel,
                                        vAt[view] + j0 * vRow);
                                return null;
                            });
                        }
                        Parallel.runAll(pool, copies);
                    }
                }
            }
            if (channel.size() < size) Disk.writeFully(channel, ByteBuffer.allocate(1), size - 1);
            MemorySegment data = channel.map(FileChannel.MapMode.READ_ONLY, 0, size, arena);
            return new GatheredKeys(file, arena, data, k.dtype(), v.dtype(), heads, d, firstSegment, rows, kAt, vAt);
        } catch (IOException | RuntimeException | Error e) {
            arena.close();
            Files.deleteIfExists(file);
            throw e;
        }
    }

    /**
     * Writes {@code count} rows of head {@code head}, every r-th row of {@code chunk} from row {@code firstRow}
     * (rows of {@code rowBytes}, heads of {@code headBytes}), at {@code position} of the file.
     */
    private static void copy(MemorySegment chunk, long rowBytes, long firstRow, int r, int head, long headBytes,
                             long count, FileChannel channel, long position) throws IOException {
        try (Arena staging = Arena.ofConfined()) {
            MemorySegment out = staging.allocate(count * headBytes, 8);
            for (long j = 0; j < count; j++) {
                MemorySegment.copy(chunk, (firstRow + j * r) * rowBytes + head * headBytes, out, j * headBytes,
                        headBytes);
            }
            Disk.writeFully(channel, out, position);
        }
    }

    /** The keys of segment s, head h: its view rows, contiguous. */
    View k(long s, int h) {
        int i = index(s, h);
        return new View(data, kType, kAt[i] / kType.bytes(), d, rows[i], d);
    }

    /** The values of segment s, head h. */
    View v(long s, int h) {
        int i = index(s, h);
        return new View(data, vType, vAt[i] / vType.bytes(), d, rows[i], d);
    }

    /**
     * Drops from the process the pages of view rows [k0, k0 + count) of head h in every segment (the file keeps
     * them; a later read maps them again). Safe while other threads read other heads: a page they share is mapped
     * again at their next touch.
     */
    void drop(int h, long k0, long count) {
        for (int i = h; i < rows.length; i += heads) {
            long lo = Math.min(k0, rows[i]);
            long hi = Math.min(rows[i], k0 + count);
            if (hi <= lo) continue;
            long kRow = (long) d * kType.bytes();
            long vRow = (long) d * vType.bytes();
            Madvise.advise(data.asSlice(kAt[i] + lo * kRow, (hi - lo) * kRow), Advice.DONT_NEED);
            Madvise.advise(data.asSlice(vAt[i] + lo * vRow, (hi - lo) * vRow), Advice.DONT_NEED);
        }
    }

    private int index(long s, int h) {
        return Math.toIntExact((s - firstSegment) * heads + h);
    }

    /** Unmaps and deletes the scratch file. */
    @Override
    public void close() throws IOException {
        arena.close();
        Files.deleteIfExists(file);
    }
}
