package dev.longnet.storage;

import java.io.IOException;
import java.nio.MappedByteBuffer;
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
import org.agrona.concurrent.UnsafeBuffer;
import org.agrona.concurrent.status.AtomicCounter;
import org.agrona.concurrent.status.CountersManager;
import org.agrona.concurrent.status.CountersReader;

/**
 * Live counters of a running process in a memory-mapped file, readable from another process while they change:
 * agrona's {@link CountersManager} (labels in a metadata area, one 128-byte cache-line-padded slot per value)
 * behind a small header that says who writes the file and whether the run is still going.
 *
 * <pre>
 * 0     "LNCOUNT1"                           8 bytes
 * 8     format version (1)                   int
 * 12    state ({@link State} ordinal)        int, volatile
 * 16    writer's pid                         long
 * 24    start time, epoch ms                 long
 * 32    heartbeat, epoch ms                  long, volatile
 * 40    metadata length M, values length V   ints
 * 4096  agrona counters metadata (M bytes), then values (V bytes)
 * </pre>
 * The file is built under a temporary name and renamed into place, so a reader never sees half a file.
 */
public final class CountersFile implements AutoCloseable {
    private static final byte[] MAGIC = "LNCOUNT1".getBytes(StandardCharsets.US_ASCII);
    private static final int VERSION = 1;
    private static final int STATE_OFFSET = 12;
    private static final int PID_OFFSET = 16;
    private static final int START_OFFSET = 24;
    private static final int HEARTBEAT_OFFSET = 32;
    private static final int METADATA_LENGTH_OFFSET = 40;
    private static final int VALUES_LENGTH_OFFSET = 44;
    private static final int AREA_OFFSET = 4096;

    /** Where the writer stands. */
    public enum State { STARTING, RUNNING, DONE, FAILED }

    /**
     * What a counter is, as agrona means it: a type id that readers find it by, and a label for people. Type ids
     * are the writer's and reader's shared contract; labels may change freely.
     */
    public record Type(int id, String label) {
        public Type {
            if (id < 0) throw new IllegalArgumentException("counter type ids are non-negative, got " + id);
        }
    }

    /** One counter as read. */
    public record Counter(int typeId, String label, long value) { }

    /** The file as read at one moment. */
    public record Snapshot(long pid, long startMillis, long heartbeatMillis, State state, List<Counter> counters) {
        /** The value of the counter of this type, or {@code otherwise}. */
        public long value(Type type, long otherwise) {
            for (Counter c : counters) if (c.typeId() == type.id()) return c.value();
            return otherwise;
        }

        /** True when the writing process still exists (on this machine) and is not a zombie waiting to be reaped. */
        public boolean writerAlive() {
            if (!ProcessHandle.of(pid).map(ProcessHandle::isAlive).orElse(false)) return false;
            try {
                String stat = Files.readString(Path.of("/proc", Long.toString(pid), "stat"));
                int end = stat.lastIndexOf(')');                       // "pid (command) S ...": the state follows
                char state = end >= 0 && end + 2 < stat.length() ? stat.charAt(end + 2) : 'R';
                return state != 'Z' && state != 'X';
            } catch (IOException | RuntimeException e) {
                return true;                                           // no procfs: trust ProcessHandle
            }
        }
    }

    private final Path path;
    private final MappedByteBuffer mapping;
    private final UnsafeBuffer file;
    private final Map<Type, AtomicCounter> counters;
    private boolean closed;

    private CountersFile(Path path, MappedByteBuffer mapping, UnsafeBuffer file, Map<Type, AtomicCounter> counters) {
        this.path = path;
        this.mapping = mapping;
        this.file = file;
        this.counters = counters;
    }

    /** Creates the file (replacing any) with one counter per type, all 0, state {@link State#STARTING}. */
    public static CountersFile create(Path path, List<Type> types) throws IOException {
        int valuesLength = Math.max(1, types.size()) * CountersReader.COUNTER_LENGTH;
        int metadataLength = Math.max(1, types.size()) * CountersReader.METADATA_LENGTH;
        long size = AREA_OFFSET + metadataLength + valuesLength;
        Path temporary = path.resolveSibling(path.getFileName() + ".tmp");
        MappedByteBuffer mapping;
        try (FileChannel channel = FileChannel.open(temporary, StandardOpenOption.CREATE, StandardOpenOption.READ,
                StandardOpenOption.WRITE, StandardOpenOption.TRUNCATE_EXISTING)) {
            channel.truncate(0);
            channel.write(java.nio.ByteBuffer.allocate(1), size - 1);
            mapping = channel.map(FileChannel.MapMode.READ_WRITE, 0, size);
        }
        UnsafeBuffer file = new UnsafeBuffer(mapping);
        file.putBytes(0, MAGIC);
        file.putInt(8, VERSION);
        file.putIntVolatile(STATE_OFFSET, State.STARTING.ordinal());
        file.putLong(PID_OFFSET, ProcessHandle.current().pid());
        long now = System.currentTimeMillis();
        file.putLong(START_OFFSET, now);
        file.putLongVolatile(HEARTBEAT_OFFSET, now);
        file.putInt(METADATA_LENGTH_OFFSET, metadataLength);
        file.putInt(VALUES_LENGTH_OFFSET, valuesLength);
        CountersManager manager = new CountersManager(
                new UnsafeBuffer(mapping, AREA_OFFSET, metadataLength),
                new UnsafeBuffer(mapping, AREA_OFFSET + metadataLength, valuesLength), StandardCharsets.UTF_8);
        Map<Type, AtomicCounter> counters = new LinkedHashMap<>();
        for (Type type : types) {
            if (counters.put(type, manager.newCounter(type.label(), type.id())) != null) {
                throw new IllegalArgumentException("counter type " + type + " twice");
            }
        }
        AtomicFile.rename(temporary, path);
        return new CountersFile(path, mapping, file, Collections.unmodifiableMap(counters));
    }

    public Path path() { return path; }

    /**
     * The counter of this type: a handle that writes straight into the mapping. It must not be used after
     * {@link #close()} (a write into an unmapped file is a crash, not an exception), so a writer stops every thread
     * that holds one before it closes the file.
     */
    public AtomicCounter counter(Type type) {
        AtomicCounter c = counters.get(type);
        if (c == null) throw new IllegalArgumentException(path + " has no counter of type " + type);
        return c;
    }

    public void state(State state) {
        if (!closed) file.putIntVolatile(STATE_OFFSET, state.ordinal());
    }

    /** Stamps the time: a reader tells a live writer from a stuck or vanished one. */
    public void heartbeat() {
        if (!closed) file.putLongVolatile(HEARTBEAT_OFFSET, System.currentTimeMillis());
    }

    /** Unmaps the file; it stays on disk with its last values. The caller has stopped every counter's writer. */
    @Override
    public synchronized void close() {
        if (closed) return;
        closed = true;
        mapping.force();
        org.agrona.IoUtil.unmap(mapping);
    }

    /** Reads the counters file at {@code path} as it is now (it may be changing under another process). */
    public static Snapshot read(Path path) throws IOException {
        if (!Files.isRegularFile(path)) throw new NoSuchFileException(path.toString(), null, "no counters file");
        MappedByteBuffer mapping;
        try (FileChannel channel = FileChannel.open(path, StandardOpenOption.READ)) {
            long size = channel.size();
            if (size < AREA_OFFSET) throw new TensorFormatException(path, "not a counters file (too short)");
            mapping = channel.map(FileChannel.MapMode.READ_ONLY, 0, size);
        }
        try {
            UnsafeBuffer file = new UnsafeBuffer(mapping);
            byte[] magic = new byte[MAGIC.length];
            file.getBytes(0, magic);
            if (!java.util.Arrays.equals(magic, MAGIC) || file.getInt(8) != VERSION) {
                throw new TensorFormatException(path, "not a longnet counters file");
            }
            int metadataLength = file.getInt(METADATA_LENGTH_OFFSET);
            int valuesLength = file.getInt(VALUES_LENGTH_OFFSET);
            if (metadataLength <= 0 || valuesLength <= 0
                    || (long) AREA_OFFSET + metadataLength + valuesLength > mapping.capacity()) {
                throw new TensorFormatException(path, "counters file is damaged");
            }
            CountersReader reader = new CountersReader(new UnsafeBuffer(mapping, AREA_OFFSET, metadataLength),
                    new UnsafeBuffer(mapping, AREA_OFFSET + metadataLength, valuesLength), StandardCharsets.UTF_8);
            List<Counter> counters = new ArrayList<>();
            reader.forEach((counterId, typeId, key, label) ->
                    counters.add(new Counter(typeId, label, reader.getCounterValue(counterId))));
            int state = file.getIntVolatile(STATE_OFFSET);
            State[] states = State.values();
            return new Snapshot(file.getLong(PID_OFFSET), file.getLong(START_OFFSET),
                    file.getLongVolatile(HEARTBEAT_OFFSET), state >= 0 && state < states.length ? states[state] : State.FAILED,
                    List.copyOf(counters));
        } finally {
            org.agrona.IoUtil.unmap(mapping);
        }
    }
}
