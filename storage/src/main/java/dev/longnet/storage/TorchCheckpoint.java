package dev.longnet.storage;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.math.BigInteger;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.IdentityHashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.NoSuchElementException;
import java.util.Set;
import java.util.zip.CRC32;
import java.util.zip.DataFormatException;
import java.util.zip.Inflater;

import static java.nio.file.StandardOpenOption.READ;

/**
 * A PyTorch checkpoint in torch.save's zip format (torch 1.6 and later), read as data: a zip archive holding
 * PREFIX/data.pkl (the pickled object) and PREFIX/data/KEY (each storage's raw little-endian bytes, uncompressed).
 * The pickle is read by {@link TorchUnpickler}, which executes nothing and names only allowed globals. The file is
 * mapped once; each tensor is a slice of that mapping.
 *
 * <p>The state dict is the top-level dict when it holds tensors, else the dict under "model" or "state_dict"
 * (e.g. fairseq's {"model": ..., "cfg": ...}). Its F32, F16 and BF16 tensors are {@link #names()}; its other entries
 * (tensors of other dtypes, nested values) are listed by {@link #skipped()}; the other top-level entries (a
 * configuration, training state) are {@link #values()} as plain values.
 */
public final class TorchCheckpoint implements TensorFile {
    /** The start of torch's legacy (pre-1.6) format: a pickled protocol-2 magic number. */
    static final byte[] LEGACY_MAGIC = {(byte) 0x80, 0x02, (byte) 0x8a, 0x0a, 0x6c, (byte) 0xfc, (byte) 0x9c, 0x46,
            (byte) 0xf9, 0x20, 0x6a, (byte) 0xa8, 0x50, 0x19};
    /** Values nested deeper than this are refused (a pickle can also make cycles). */
    static final int MAX_VALUE_DEPTH = 64;
    /** Nodes of the plain values, counting a value shared n times n times. */
    static final int MAX_VALUE_NODES = 1 << 22;
    /** The keys a state dict is looked for under, in order, when the top-level dict holds no tensor. */
    public static final List<String> STATE_DICT_KEYS = List.of("model", "state_dict");

    /** A state dict's tensor: dtype and shape, and where it lies in its storage (element offset and strides). */
    public record TensorInfo(String name, DType dtype, long[] shape, long[] stride, long offset, String storage)
            implements TensorFile.Info {
        public TensorInfo {
            shape = shape.clone();
            stride = stride.clone();
        }

        @Override public long[] shape() { return shape.clone(); }

        public long[] stride() { return stride.clone(); }

        @Override public long byteSize() { return Shapes.bytes(shape, 0, dtype.bytes()); }

        @Override
        public boolean equals(Object o) {
            return o instanceof TensorInfo t && name.equals(t.name) && dtype == t.dtype && Arrays.equals(shape, t.shape)
                    && Arrays.equals(stride, t.stride) && offset == t.offset && storage.equals(t.storage);
        }

        @Override public int hashCode() { return name.hashCode() * 31 + Arrays.hashCode(shape); }

        @Override
        public String toString() {
            return "TensorInfo[" + name + " " + dtype + " " + Arrays.toString(shape) + " stride " + Arrays.toString(stride)
                    + " at " + offset + " of storage " + storage + "]";
        }
    }

    /** A tensor among {@link #values()}: torch's dtype name ("float32", "int64", ...) and shape; its data is not read. */
    public record TensorValue(String dtype, List<Long> shape) { }

    /** A value of a class that is not read (argparse.Namespace, numpy scalars...): only its class name is kept. */
    public record Unread(String className) { }

    private record Loaded(TensorInfo info, MemorySegment bytes, String layoutProblem) { }

    private final Path path;
    private final Arena arena;
    private final Map<String, Loaded> tensors;
    private final Map<String, String> skipped;
    private final Map<String, Object> values;
    private final String stateDictKey;

    private TorchCheckpoint(Path path, Arena arena, Map<String, Loaded> tensors, Map<String, String> skipped,
                            Map<String, Object> values, String stateDictKey) {
        this.path = path;
        this.arena = arena;
        this.tensors = tensors;
        this.skipped = skipped;
        this.values = values;
        this.stateDictKey = stateDictKey;
    }

    /** Opens, reads and checks a checkpoint, and maps it read-only. */
    public static TorchCheckpoint open(Path file) throws IOException {
        Disk.requireRegularFile(file);
        try (FileChannel channel = FileChannel.open(file, READ)) {
            long size = channel.size();
            Arena arena = Arena.ofShared();
            try {
                MemorySegment mapping = channel.map(FileChannel.MapMode.READ_ONLY, 0, size, arena);
                byte[] start = mapping.asSlice(0, Math.min(size, LEGACY_MAGIC.length)).toArray(ValueLayout.JAVA_BYTE);
                if (isLegacy(start)) throw legacy(file);
                if (!isZip(start)) throw new TensorFormatException(file, "not a torch checkpoint (no zip archive)");
                return new Reader(file, mapping).read(arena);
            } catch (IOException | RuntimeException e) {
                arena.close();
                throw e;
            }
        }
    }

    static boolean isZip(byte[] start) {
        return start.length >= 4 && start[0] == 'P' && start[1] == 'K' && start[2] == 3 && start[3] == 4;
    }

    static boolean isLegacy(byte[] start) {
        return start.length >= LEGACY_MAGIC.length && Arrays.equals(start, 0, LEGACY_MAGIC.length, LEGACY_MAGIC, 0, LEGACY_MAGIC.length);
    }

    static TensorFormatException legacy(Path file) {
        return new TensorFormatException(file, "legacy torch format (torch before 1.6, or _use_new_zipfile_serialization="
                + "False) is not read: re-save it with torch>=1.6: torch.save(torch.load(f), f2)");
    }

    @Override public Path path() { return path; }

    @Override public String format() { return "torch"; }

    /** The state dict's F32, F16 and BF16 tensors, in its order. */
    @Override public Set<String> names() { return tensors.keySet(); }

    @Override
    public TensorInfo info(String name) {
        Loaded t = tensors.get(name);
        if (t == null) throw new NoSuchElementException(path + " has no tensor \"" + name + "\"");
        return t.info;
    }

    /** The tensor's rows over its slice of the mapping; a strided (non-contiguous) layout is refused. */
    @Override
    public TensorRows tensor(String name) throws TensorFormatException {
        MemorySegment bytes = bytes(name);
        TensorInfo info = info(name);
        if (info.shape.length == 0) {
            throw new IllegalArgumentException(path + ": tensor \"" + name + "\" is a scalar and has no rows");
        }
        return new SliceRows(name, info.dtype, info.shape, bytes);
    }

    @Override
    public MemorySegment bytes(String name) throws TensorFormatException {
        Loaded t = tensors.get(name);
        if (t == null) throw new NoSuchElementException(path + " has no tensor \"" + name + "\"");
        if (t.layoutProblem != null) throw new TensorFormatException(path, "tensor \"" + name + "\" " + t.layoutProblem);
        return t.bytes;
    }

    /** The state dict's entries that are not loaded as tensors, with the reason (e.g. "int64 tensor (2,)"). */
    public Map<String, String> skipped() { return skipped; }

    /**
     * The checkpoint's other top-level entries as plain values: null, Boolean, Long, BigInteger, Double, String,
     * byte[], List, Map (insertion order), {@link TensorValue} and {@link Unread}. Unmodifiable.
     */
    public Map<String, Object> values() { return values; }

    /** The top-level key the state dict was found under ("model", "state_dict"), or "" when it is the top level. */
    public String stateDictKey() { return stateDictKey; }

    @Override
    public void close() {
        arena.close();
    }

    /** Reads one checkpoint: the archive's directory, its pickle, then the tensors' places in their storages. */
    private static final class Reader {
        private final Path file;
        private final MemorySegment mapping;
        private Map<String, TorchZip.Entry> entries;
        private String prefix;
        private int nodes;

        Reader(Path file, MemorySegment mapping) {
            this.file = file;
            this.mapping = mapping;
        }

        TorchCheckpoint read(Arena arena) throws TensorFormatException {
            entries = TorchZip.entries(file, mapping);
            TorchZip.Entry pickle = findPickle();
            checkByteOrder();
            TorchUnpickler.Result result = TorchUnpickler.read(file, pickle.name(), pickleBytes(pickle));
            if (!(result.value() instanceof Map<?, ?> top)) {
                throw error(pickle.name() + " holds " + TorchUnpickler.typeName(result.value())
                        + ", not a dict: a state dict, or a dict holding one, is expected");
            }
            Map<TorchUnpickler.Tensor, Loaded> placed = new IdentityHashMap<>();
            for (TorchUnpickler.Tensor t : result.tensors()) {
                if (!placed.containsKey(t)) placed.put(t, place(t));
            }
            String key = "";
            Map<?, ?> stateDict = top;
            if (top.values().stream().noneMatch(v -> v instanceof TorchUnpickler.Tensor)) {
                for (String k : STATE_DICT_KEYS) {
                    if (top.get(k) instanceof Map<?, ?> m && (m.isEmpty() || m.values().stream().anyMatch(v -> v instanceof TorchUnpickler.Tensor))) {
                        key = k;
                        stateDict = m;
                        break;
                    }
                }
            }
            Map<String, Loaded> tensors = new LinkedHashMap<>();
            Map<String, String> skipped = new LinkedHashMap<>();
            Map<String, Object> values = new LinkedHashMap<>();
            for (Map.Entry<?, ?> e : stateDict.entrySet()) {
                if (e.getValue() instanceof TorchUnpickler.Tensor t) {
                    if (!(e.getKey() instanceof String name)) {
                        throw error("state dict key " + TorchUnpickler.typeName(e.getKey()) + " is not a string");
                    }
                    Loaded loaded = placed.get(t);
                    if (t.storage().type().dtype() == null) {
                        skipped.put(name, t.storage().type().torchName() + " tensor " + shape(t.size()));
                    } else {
                        tensors.put(name, new Loaded(new TensorInfo(name, loaded.info.dtype, t.size(), t.stride(),
                                t.offset(), t.storage().key()), loaded.bytes, loaded.layoutProblem));
                    }
                } else if (!key.isEmpty()) {
                    skipped.put(String.valueOf(e.getKey()), TorchUnpickler.typeName(e.getValue()) + ", not a tensor");
                } else {
                    values.put(String.valueOf(e.getKey()), plain(e.getValue(), 0));
                }
            }
            if (!key.isEmpty()) {
                for (Map.Entry<?, ?> e : top.entrySet()) {
                    if (!key.equals(e.getKey())) values.put(String.valueOf(e.getKey()), plain(e.getValue(), 0));
                }
            }
            return new TorchCheckpoint(file, arena, Collections.unmodifiableMap(tensors),
                    Collections.unmodifiableMap(skipped), Collections.unmodifiableMap(values), key);
        }

        /** PREFIX/data.pkl: exactly one, and not a TorchScript archive. */
        private TorchZip.Entry findPickle() throws TensorFormatException {
            TorchZip.Entry found = null;
            for (TorchZip.Entry e : entries.values()) {
                String name = e.name();
                int slash = name.indexOf('/');
                if (slash > 0 && name.indexOf('/', slash + 1) < 0 && name.endsWith("/data.pkl")) {
                    if (found != null) throw error("zip archive holds two pickles, " + found.name() + " and " + name);
                    found = e;
                }
            }
            if (found == null) throw error("zip archive without PREFIX/data.pkl: not a torch.save checkpoint");
            prefix = found.name().substring(0, found.name().length() - "data.pkl".length());
            if (entries.containsKey(prefix + "constants.pkl") || entries.keySet().stream().anyMatch(n -> n.startsWith(prefix + "code/"))) {
                throw error("a TorchScript archive (torch.jit.save) is not read: in Python, torch.save(model.state_dict(), f) "
                        + "and convert that");
            }
            return found;
        }

        private void checkByteOrder() throws TensorFormatException {
            TorchZip.Entry order = entries.get(prefix + "byteorder");
            if (order == null) return;                                          // before torch 2.1: always little
            if (order.method() != TorchZip.STORED || order.size() > 16) throw error(order.name() + " is not a short stored entry");
            String text = new String(mapping.asSlice(order.dataOffset(), order.size()).toArray(ValueLayout.JAVA_BYTE),
                    StandardCharsets.US_ASCII).strip();
            if (!text.equals("little")) {
                throw error("byte order \"" + TorchUnpickler.printable(text) + "\" is not supported (only little-endian)");
            }
        }

        /** data.pkl's bytes: a slice of the mapping, or inflated when the archive was recompressed; CRC checked. */
        private MemorySegment pickleBytes(TorchZip.Entry e) throws TensorFormatException {
            if (e.size() > TorchUnpickler.MAX_PICKLE_BYTES) {
                throw error(e.name() + " holds " + e.size() + " bytes, more than the " + TorchUnpickler.MAX_PICKLE_BYTES + " allowed");
            }
            MemorySegment bytes;
            if (e.method() == TorchZip.STORED) {
                bytes = mapping.asSlice(e.dataOffset(), e.size());
            } else if (e.method() == TorchZip.DEFLATED) {
                bytes = MemorySegment.ofArray(inflate(e));
            } else {
                throw error(e.name() + " is compressed with zip method " + e.method() + ", not read");
            }
            CRC32 crc = new CRC32();
            crc.update(bytes.asByteBuffer());
            if ((int) crc.getValue() != e.crc()) throw error(e.name() + " fails its CRC-32 check (damaged file)");
            return bytes;
        }

        /** Inflates e; the buffer grows with what actually comes out, so a false size claim costs nothing. */
        private byte[] inflate(TorchZip.Entry e) throws TensorFormatException {
            byte[] out = new byte[(int) Math.min(e.size(), 1 << 16)];
            Inflater inflater = new Inflater(true);
            try {
                inflater.setInput(mapping.asSlice(e.dataOffset(), e.compressedSize()).asByteBuffer());
                int n = 0;
                while (n < e.size()) {
                    if (n == out.length) out = Arrays.copyOf(out, (int) Math.min(e.size(), 2L * out.length));
                    int got = inflater.inflate(out, n, out.length - n);
                    if (got == 0 && (inflater.finished() || inflater.needsInput() || inflater.needsDictionary())) break;
                    n += got;
                }
                if (n != e.size()) throw error(e.name() + ": inflates to fewer than its " + e.size() + " bytes");
                return out;
            } catch (DataFormatException x) {
                throw error(e.name() + ": damaged deflate data (" + x.getMessage() + ")");
            } finally {
                inflater.end();
            }
        }

        /** Checks a tensor against its storage and slices its bytes; a strided layout is noted, not refused here. */
        private Loaded place(TorchUnpickler.Tensor t) throws TensorFormatException {
            TorchUnpickler.Storage s = t.storage();
            String what = "tensor of storage \"" + TorchUnpickler.printable(s.key()) + "\"";
            String entryName = prefix + "data/" + s.key();
            TorchZip.Entry entry = entries.get(entryName);
            if (entry == null) throw error("storage \"" + TorchUnpickler.printable(s.key()) + "\" is missing from the archive (no entry "
                    + TorchUnpickler.printable(entryName) + ")");
            if (entry.method() != TorchZip.STORED) {
                throw error("storage entry " + TorchUnpickler.printable(entryName) + " is compressed (zip method " + entry.method()
                        + "): torch writes storages uncompressed so that they can be mapped; re-save it with torch.save");
            }
            long storageBytes = Shapes.product(s.numel(), s.type().bytes());
            if (storageBytes < 0 || entry.size() < storageBytes) {
                throw error("storage \"" + TorchUnpickler.printable(s.key()) + "\" holds " + entry.size() + " bytes, fewer than its "
                        + s.numel() + " elements of " + s.type().bytes() + " bytes");
            }
            long[] size = t.size();
            long[] stride = t.stride();
            if (t.offset() < 0) throw error(what + ": negative storage offset " + t.offset());
            long numel = 1;
            long last = t.offset();                                  // the last element the tensor reaches
            for (int i = 0; i < size.length; i++) {
                if (size[i] < 0 || stride[i] < 0) {
                    throw error(what + ": negative size or stride in " + shape(size) + " / " + shape(stride));
                }
                numel = Shapes.product(numel, size[i]);
                if (numel < 0) throw error(what + ": shape " + shape(size) + " has more than 2^63 elements");
            }
            if (Shapes.bytes(size, 0, s.type().bytes()) < 0) {
                throw error(what + ": shape " + shape(size) + " has more than 2^63-1 bytes");
            }
            if (numel > 0) {
                for (int i = 0; i < size.length; i++) {
                    long reach = Shapes.product(size[i] - 1, stride[i]);
                    last = reach < 0 || last > Long.MAX_VALUE - reach ? -1 : last + reach;
                    if (last < 0) break;
                }
                if (last < 0 || last >= s.numel()) {
                    throw error(what + ": offset " + t.offset() + " with shape " + shape(size) + " and strides " + shape(stride)
                            + " reaches beyond its storage of " + s.numel() + " elements");
                }
            }
            String problem = null;
            long expected = 1;
            for (int i = size.length - 1; i >= 0 && numel > 0; i--) {
                if (size[i] != 1 && stride[i] != expected) {
                    problem = "is stored non-contiguously (shape " + shape(size) + ", strides " + shape(stride)
                            + "), e.g. a transposed view: save t.contiguous() instead";
                    break;
                }
                expected *= size[i];
            }
            DType dtype = s.type().dtype();
            MemorySegment bytes = null;
            if (dtype != null && problem == null) {
                bytes = mapping.asSlice(entry.dataOffset() + t.offset() * dtype.bytes(), numel * dtype.bytes());
            }
            TensorInfo info = dtype == null ? null : new TensorInfo("", dtype, size, stride, t.offset(), s.key());
            return new Loaded(info, bytes, problem);
        }

        /** value as a plain, unmodifiable value; deep or cyclic nesting and overlarge sharing are refused. */
        private Object plain(Object value, int depth) throws TensorFormatException {
            if (++nodes > MAX_VALUE_NODES) throw error("checkpoint values have more than " + MAX_VALUE_NODES + " nodes");
            if (depth > MAX_VALUE_DEPTH) throw error("checkpoint values nest deeper than " + MAX_VALUE_DEPTH + " levels (or hold a cycle)");
            return switch (value) {
                case null -> null;
                case String s -> s;
                case Long l -> l;
                case BigInteger b -> b;
                case Double d -> d;
                case Boolean b -> b;
                case byte[] b -> b.clone();
                case TorchUnpickler.Tuple(List<Object> items) -> plainList(items, depth);
                case List<?> l -> plainList(l, depth);
                case Map<?, ?> m -> {
                    Map<Object, Object> out = new LinkedHashMap<>();
                    for (Map.Entry<?, ?> e : m.entrySet()) out.put(e.getKey(), plain(e.getValue(), depth + 1));
                    yield Collections.unmodifiableMap(out);
                }
                case TorchUnpickler.Tensor t -> new TensorValue(t.storage().type().torchName(),
                        Arrays.stream(t.size()).boxed().toList());
                case TorchUnpickler.Unread u -> new Unread(u.className());
                default -> new Unread(TorchUnpickler.typeName(value));
            };
        }

        private List<Object> plainList(List<?> items, int depth) throws TensorFormatException {
            List<Object> out = new ArrayList<>(items.size());
            for (Object item : items) out.add(plain(item, depth + 1));
            return Collections.unmodifiableList(out);
        }

        private TensorFormatException error(String reason) {
            return new TensorFormatException(file, reason);
        }
    }

    /** A shape as Python prints it: (2, 3), (4,), (). */
    static String shape(long[] dims) {
        if (dims.length == 1) return "(" + dims[0] + ",)";
        StringBuilder b = new StringBuilder("(");
        for (int i = 0; i < dims.length; i++) b.append(i == 0 ? "" : ", ").append(dims[i]);
        return b.append(")").toString();
    }
}
