package dev.longnet.storage;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.math.BigInteger;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A pickle reader for torch.save's data.pkl that executes nothing. It builds plain values (None as null, bool,
 * Long or BigInteger, Double, String, byte[], lists as ArrayList, tuples as {@link Tuple}, dicts as LinkedHashMap
 * with scalar keys) and resolves GLOBAL only against an allow-list: collections.OrderedDict, torch's tensor and
 * parameter rebuild functions and storage classes, which become {@link Tensor} and {@link Storage} records. A few
 * classes that hold only data and are common in training checkpoints (argparse.Namespace, numpy scalars and arrays)
 * become {@link Unread} placeholders: never instantiated, refused where a tensor needs them. Any other global, any
 * opcode outside the set torch writes, and any size beyond the bounds is refused with the byte offset. The loop
 * consumes at least one byte per step and nothing recurses, so every input ends, within bounded memory.
 */
final class TorchUnpickler {
    /** data.pkl larger than this is refused (a state dict with a million tensors stays far below it). */
    static final long MAX_PICKLE_BYTES = 256L << 20;
    /** Objects the pickle may create (each string, number, container, tuple...). */
    static final int MAX_OBJECTS = 1 << 21;
    /** Items held in containers (list elements, dict entries, tuple elements), all containers together. */
    static final int MAX_ITEMS = 1 << 22;
    static final int MAX_STACK = 1 << 20;
    static final int MAX_MEMO = 1 << 20;
    /** Dimensions of a tensor. */
    static final int MAX_DIMS = 64;
    private static final int MAX_LONG_BYTES = 1 << 10;
    private static final int MAX_GLOBAL_LINE = 256;

    /** A tuple: an immutable list (null elements allowed). */
    record Tuple(List<Object> items) { }

    /** A storage named by a persistent id ('storage', type, key, location, numel); one record per key. */
    record Storage(TorchStorageType type, String key, long numel) { }

    /** A tensor rebuilt from a storage: element offset, sizes and strides (in elements), not yet checked. */
    record Tensor(Storage storage, long offset, long[] size, long[] stride) { }

    /** A value of a class that is not read (its module.name); nothing of it was instantiated. */
    record Unread(String className) { }

    /** A global the pickle may name. */
    private record Global(String module, String name, Kind kind, TorchStorageType storage) {
        String qualified() { return module + "." + name; }
    }

    private enum Kind { ORDERED_DICT, REBUILD_TENSOR_V2, REBUILD_TENSOR, REBUILD_PARAMETER, REBUILD_PARAMETER_WITH_STATE, STORAGE_TYPE, UNREAD }

    private static final Map<String, Global> ALLOWED = allowed();
    /** Data-only classes read as {@link Unread}. */
    private static final List<String> UNREAD = List.of("argparse.Namespace", "numpy.core.multiarray.scalar",
            "numpy.core.multiarray._reconstruct", "numpy._core.multiarray.scalar", "numpy._core.multiarray._reconstruct",
            "numpy.ndarray", "numpy.dtype", "_codecs.encode");

    private static final ValueLayout.OfInt INT = ValueLayout.JAVA_INT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfShort SHORT = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfLong LONG = ValueLayout.JAVA_LONG_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfDouble DOUBLE_BE = ValueLayout.JAVA_DOUBLE_UNALIGNED.withOrder(ByteOrder.BIG_ENDIAN);

    private final Path file;
    private final String entry;
    private final MemorySegment pickle;
    private final long end;
    private final List<Object> stack = new ArrayList<>();
    private int[] marks = new int[16];
    private int markCount;
    private final Map<Long, Object> memo = new HashMap<>();
    private final Map<String, Storage> storages = new HashMap<>();
    private final List<Tensor> tensors = new ArrayList<>();
    private long position;
    private long opcodeAt;
    private long objects;
    private long items;

    private TorchUnpickler(Path file, String entry, MemorySegment pickle) {
        this.file = file;
        this.entry = entry;
        this.pickle = pickle;
        this.end = pickle.byteSize();
    }

    /** The result of a pickle: its value and every tensor it rebuilt. */
    record Result(Object value, List<Tensor> tensors) { }

    /** Reads the pickle in pickle (named entry in messages) of file. */
    static Result read(Path file, String entry, MemorySegment pickle) throws TensorFormatException {
        if (pickle.byteSize() > MAX_PICKLE_BYTES) {
            throw new TensorFormatException(file, entry + " holds " + pickle.byteSize() + " bytes, more than the "
                    + MAX_PICKLE_BYTES + " allowed");
        }
        TorchUnpickler u = new TorchUnpickler(file, entry, pickle);
        Object value = u.run();
        return new Result(value, Collections.unmodifiableList(u.tensors));
    }

    private Object run() throws TensorFormatException {
        while (position < end) {
            opcodeAt = position;
            int op = u8();
            switch (op) {
                case 0x80 -> {                                                        // PROTO
                    int version = u8();
                    if (version > 5) throw error("pickle protocol " + version + " is not supported");
                }
                case 0x95 -> take(8);                                                 // FRAME: a length hint
                case '.' -> {                                                         // STOP
                    if (markCount != 0 || stack.size() != 1) throw error("STOP with " + stack.size() + " values on the stack");
                    return stack.getFirst();
                }
                case '(' -> mark();
                case '}' -> push(created(new LinkedHashMap<>()));
                case ']' -> push(created(new ArrayList<>()));
                case ')' -> push(created(new Tuple(List.of())));
                case 0x8f -> push(created(new ArrayList<>()));                        // EMPTY_SET, read as a list
                case 'd' -> push(dict(popMark()));                                    // DICT
                case 'l' -> push(list(popMark()));                                    // LIST
                case 't' -> push(tuple(popMark()));                                   // TUPLE
                case 0x91 -> push(tuple(popMark()));                                  // FROZENSET, read as a tuple
                case 0x85 -> push(tuple(popN(1)));
                case 0x86 -> push(tuple(popN(2)));
                case 0x87 -> push(tuple(popN(3)));
                case 'N' -> push(null);
                case 0x88 -> push(Boolean.TRUE);
                case 0x89 -> push(Boolean.FALSE);
                case 'J' -> push((long) pickle.get(INT, take(4)));                    // BININT
                case 'K' -> push((long) u8());                                        // BININT1
                case 'M' -> push((long) (pickle.get(SHORT, take(2)) & 0xFFFF));       // BININT2
                case 0x8a -> push(longOf(u8()));                                      // LONG1
                case 0x8b -> push(longOf(length(pickle.get(INT, take(4)) & 0xFFFFFFFFL, MAX_LONG_BYTES)));   // LONG4
                case 'G' -> push(pickle.get(DOUBLE_BE, take(8)));                     // BINFLOAT
                case 'X' -> push(text(pickle.get(INT, take(4)) & 0xFFFFFFFFL));       // BINUNICODE
                case 0x8c -> push(text(u8()));                                        // SHORT_BINUNICODE
                case 0x8d -> push(text(pickle.get(LONG, take(8))));                   // BINUNICODE8
                case 'T' -> push(latin1(pickle.get(INT, take(4)) & 0xFFFFFFFFL));     // BINSTRING (Python 2)
                case 'U' -> push(latin1(u8()));                                       // SHORT_BINSTRING (Python 2)
                case 'B' -> push(bytes(pickle.get(INT, take(4)) & 0xFFFFFFFFL));      // BINBYTES
                case 'C' -> push(bytes(u8()));                                        // SHORT_BINBYTES
                case 0x8e -> push(bytes(pickle.get(LONG, take(8))));                  // BINBYTES8
                case 's' -> { Object v = pop(); Object k = pop(); setItem(peek("SETITEM"), k, v); }
                case 'u' -> setItems(popMark());
                case 'a' -> { Object v = pop(); append(peek("APPEND"), Collections.singletonList(v)); }
                case 'e', 0x90 -> { List<Object> values = popMark(); append(peek("APPENDS"), values); }   // APPENDS, ADDITEMS
                case 'q' -> put(u8());                                                // BINPUT
                case 'r' -> put(pickle.get(INT, take(4)) & 0xFFFFFFFFL);              // LONG_BINPUT
                case 0x94 -> put(memo.size());                                        // MEMOIZE
                case 'h' -> push(get(u8()));                                          // BINGET
                case 'j' -> push(get(pickle.get(INT, take(4)) & 0xFFFFFFFFL));        // LONG_BINGET
                case '0' -> pop();                                                    // POP
                case '1' -> popMark();                                                // POP_MARK
                case '2' -> push(peek("DUP"));                                        // DUP
                case 'c' -> { String module = line(); String name = line(); push(global(module, name)); }
                case 0x93 -> {                                                        // STACK_GLOBAL
                    Object name = pop();
                    Object module = pop();
                    if (!(module instanceof String m) || !(name instanceof String n)) throw error("STACK_GLOBAL needs two strings");
                    push(global(m, n));
                }
                case 'R' -> { Object args = pop(); Object callable = pop(); push(reduce(callable, args)); }
                case 0x81 -> { Object args = pop(); Object cls = pop(); push(newObject(cls, args)); }   // NEWOBJ
                case 'Q' -> push(persistent(pop()));                                  // BINPERSID
                case 'b' -> { Object state = pop(); build(peek("BUILD"), state); }
                default -> throw error(String.format("pickle opcode 0x%02x is not supported", op));
            }
        }
        throw error("truncated: the pickle ends without STOP");
    }

    // ---- the stack ----

    private void push(Object value) throws TensorFormatException {
        if (stack.size() >= MAX_STACK) throw error("more than " + MAX_STACK + " values on the pickle stack");
        stack.add(value);
    }

    private Object pop() throws TensorFormatException {
        int floor = markCount == 0 ? 0 : marks[markCount - 1];
        if (stack.size() <= floor) throw error("pickle stack underflow");
        return stack.removeLast();
    }

    private Object peek(String what) throws TensorFormatException {
        int floor = markCount == 0 ? 0 : marks[markCount - 1];
        if (stack.size() <= floor) throw error(what + " on an empty stack");
        return stack.getLast();
    }

    private void mark() throws TensorFormatException {
        if (markCount == marks.length) {
            if (markCount >= MAX_STACK) throw error("too many MARKs");
            marks = java.util.Arrays.copyOf(marks, markCount * 2);
        }
        marks[markCount++] = stack.size();
        objects(1);
    }

    /** The values above the last mark, removed with it. */
    private List<Object> popMark() throws TensorFormatException {
        if (markCount == 0) throw error("no MARK on the pickle stack");
        int from = marks[--markCount];
        List<Object> top = stack.subList(from, stack.size());
        List<Object> values = new ArrayList<>(top);
        top.clear();
        return values;
    }

    private List<Object> popN(int n) throws TensorFormatException {
        Object[] values = new Object[n];
        for (int i = n - 1; i >= 0; i--) values[i] = pop();
        return java.util.Arrays.asList(values);
    }

    // ---- values ----

    private Tuple tuple(List<Object> values) throws TensorFormatException {
        items(values.size());
        objects(1);
        return new Tuple(Collections.unmodifiableList(new ArrayList<>(values)));
    }

    private List<Object> list(List<Object> values) throws TensorFormatException {
        items(values.size());
        objects(1);
        return new ArrayList<>(values);
    }

    private Map<Object, Object> dict(List<Object> keysAndValues) throws TensorFormatException {
        objects(1);
        Map<Object, Object> dict = new LinkedHashMap<>();
        setItems(dict, keysAndValues);
        return dict;
    }

    private void setItems(List<Object> keysAndValues) throws TensorFormatException {
        setItems(peek("SETITEMS"), keysAndValues);
    }

    private void setItems(Object target, List<Object> keysAndValues) throws TensorFormatException {
        if (keysAndValues.size() % 2 != 0) throw error("SETITEMS with an odd number of values");
        for (int i = 0; i < keysAndValues.size(); i += 2) setItem(target, keysAndValues.get(i), keysAndValues.get(i + 1));
    }

    @SuppressWarnings("unchecked")
    private void setItem(Object target, Object key, Object value) throws TensorFormatException {
        if (!(target instanceof Map<?, ?> map)) throw error("SETITEM on " + typeName(target) + ", not a dict");
        if (!(key == null || key instanceof String || key instanceof Long || key instanceof BigInteger
                || key instanceof Double || key instanceof Boolean)) {
            throw error("a dict key of type " + typeName(key) + " is not supported");
        }
        if (!map.containsKey(key)) items(1);
        ((Map<Object, Object>) map).put(key, value);
    }

    @SuppressWarnings("unchecked")
    private void append(Object target, List<Object> values) throws TensorFormatException {
        if (!(target instanceof ArrayList<?> list)) throw error("APPEND to " + typeName(target) + ", not a list");
        items(values.size());
        ((List<Object>) list).addAll(values);
    }

    private void put(long index) throws TensorFormatException {
        Object value = peek("PUT");
        if (!memo.containsKey(index) && memo.size() >= MAX_MEMO) throw error("more than " + MAX_MEMO + " memo entries");
        memo.put(index, value);
    }

    private Object get(long index) throws TensorFormatException {
        if (!memo.containsKey(index)) throw error("memo entry " + index + " is not defined");
        return memo.get(index);
    }

    private Object longOf(int length) throws TensorFormatException {
        long at = take(length);
        if (length == 0) return 0L;
        byte[] bigEndian = new byte[length];
        for (int i = 0; i < length; i++) bigEndian[i] = pickle.get(ValueLayout.JAVA_BYTE, at + length - 1 - i);
        objects(1);
        BigInteger value = new BigInteger(bigEndian);
        return value.bitLength() < 64 ? (Object) value.longValue() : value;
    }

    private String text(long length) throws TensorFormatException {
        return new String(array(length), StandardCharsets.UTF_8);
    }

    private String latin1(long length) throws TensorFormatException {
        return new String(array(length), StandardCharsets.ISO_8859_1);
    }

    private byte[] bytes(long length) throws TensorFormatException {
        return array(length);
    }

    private byte[] array(long length) throws TensorFormatException {
        if (length < 0 || length > end - position) throw error("truncated: a " + length + "-byte value runs past the pickle's end");
        objects(1);
        long at = take(length);
        return pickle.asSlice(at, length).toArray(ValueLayout.JAVA_BYTE);
    }

    private int length(long length, int max) throws TensorFormatException {
        if (length > max) throw error("a " + length + "-byte integer is not supported");
        return (int) length;
    }

    /** A line of a GLOBAL (module or name), ASCII, without its newline. */
    private String line() throws TensorFormatException {
        StringBuilder text = new StringBuilder();
        while (true) {
            int c = u8();
            if (c == '\n') return text.toString();
            if (c < 0x20 || c > 0x7e || text.length() >= MAX_GLOBAL_LINE) throw error("GLOBAL name is not a short ASCII line");
            text.append((char) c);
        }
    }

    // ---- globals and what calling them makes ----

    private static Map<String, Global> allowed() {
        Map<String, Global> allowed = new LinkedHashMap<>();
        allowed.put("collections.OrderedDict", new Global("collections", "OrderedDict", Kind.ORDERED_DICT, null));
        allowed.put("torch._utils._rebuild_tensor_v2", new Global("torch._utils", "_rebuild_tensor_v2", Kind.REBUILD_TENSOR_V2, null));
        allowed.put("torch._utils._rebuild_tensor", new Global("torch._utils", "_rebuild_tensor", Kind.REBUILD_TENSOR, null));
        allowed.put("torch._utils._rebuild_parameter", new Global("torch._utils", "_rebuild_parameter", Kind.REBUILD_PARAMETER, null));
        allowed.put("torch._utils._rebuild_parameter_with_state", new Global("torch._utils", "_rebuild_parameter_with_state",
                Kind.REBUILD_PARAMETER_WITH_STATE, null));
        for (TorchStorageType t : TorchStorageType.values()) {
            allowed.put("torch." + t.name(), new Global("torch", t.name(), Kind.STORAGE_TYPE, t));
        }
        return Collections.unmodifiableMap(allowed);
    }

    private Global global(String module, String name) throws TensorFormatException {
        String qualified = module + "." + name;
        Global g = ALLOWED.get(qualified);
        if (g != null) return g;
        if (UNREAD.contains(qualified)) return new Global(module, name, Kind.UNREAD, null);
        throw error("global " + printable(qualified) + " is not allowed: a checkpoint may only name "
                + "collections.OrderedDict, torch._utils._rebuild_tensor_v2, _rebuild_tensor, _rebuild_parameter(_with_state) "
                + "and torch.*Storage classes (nothing in the file is executed)");
    }

    private Object reduce(Object callable, Object args) throws TensorFormatException {
        if (!(callable instanceof Global g)) throw error("REDUCE of " + typeName(callable) + ", not a global");
        if (!(args instanceof Tuple(List<Object> a))) throw error("REDUCE of " + g.qualified() + " without an argument tuple");
        objects(1);
        return switch (g.kind) {
            case ORDERED_DICT -> {
                if (!a.isEmpty()) throw error("collections.OrderedDict is only read empty (then filled by SETITEMS)");
                yield new LinkedHashMap<>();
            }
            case REBUILD_TENSOR_V2 -> {
                if (a.size() != 6 && a.size() != 7) throw error(g.qualified() + " takes 6 or 7 arguments, not " + a.size());
                yield tensor(g, a);
            }
            case REBUILD_TENSOR -> {
                if (a.size() != 4) throw error(g.qualified() + " takes 4 arguments, not " + a.size());
                yield tensor(g, a);
            }
            case REBUILD_PARAMETER, REBUILD_PARAMETER_WITH_STATE -> {
                int n = g.kind == Kind.REBUILD_PARAMETER ? 3 : 4;
                if (a.size() != n) throw error(g.qualified() + " takes " + n + " arguments, not " + a.size());
                if (!(a.getFirst() instanceof Tensor t)) throw error(g.qualified() + " of " + typeName(a.getFirst()) + ", not a tensor");
                yield t;
            }
            case STORAGE_TYPE -> throw error(g.qualified() + " is only read as a storage type, never called");
            case UNREAD -> new Unread(g.qualified());
        };
    }

    private Object newObject(Object cls, Object args) throws TensorFormatException {
        if (!(cls instanceof Global g) || g.kind != Kind.UNREAD) {
            throw error("NEWOBJ of " + (cls instanceof Global g ? g.qualified() : typeName(cls)) + " is not allowed");
        }
        if (!(args instanceof Tuple)) throw error("NEWOBJ without an argument tuple");
        objects(1);
        return new Unread(g.qualified());
    }

    /** BUILD sets an object's state: ignored on dicts (OrderedDict's _metadata), tensors and unread values. */
    private void build(Object target, Object state) throws TensorFormatException {
        if (!(target instanceof Map || target instanceof Tensor || target instanceof Unread)) {
            throw error("BUILD on " + typeName(target) + " is not allowed");
        }
    }

    private Tensor tensor(Global g, List<Object> a) throws TensorFormatException {
        if (!(a.get(0) instanceof Storage storage)) throw error(g.qualified() + " of " + typeName(a.get(0)) + ", not a storage");
        if (!(a.get(1) instanceof Long offset)) throw error(g.qualified() + ": storage offset is " + typeName(a.get(1)));
        long[] size = dims(g, "size", a.get(2));
        long[] stride = dims(g, "stride", a.get(3));
        if (size.length != stride.length) {
            throw error(g.qualified() + ": " + size.length + " sizes but " + stride.length + " strides");
        }
        Tensor t = new Tensor(storage, offset, size, stride);
        tensors.add(t);
        return t;
    }

    private long[] dims(Global g, String what, Object value) throws TensorFormatException {
        if (!(value instanceof Tuple(List<Object> d))) throw error(g.qualified() + ": " + what + " is " + typeName(value) + ", not a tuple");
        if (d.size() > MAX_DIMS) throw error(g.qualified() + ": " + d.size() + " dimensions (at most " + MAX_DIMS + ")");
        long[] dims = new long[d.size()];
        for (int i = 0; i < dims.length; i++) {
            if (!(d.get(i) instanceof Long n)) throw error(g.qualified() + ": " + what + " holds " + typeName(d.get(i)));
            dims[i] = n;
        }
        return dims;
    }

    /** torch's persistent id of a storage: ('storage', torch.XStorage, key, location, numel). */
    private Storage persistent(Object pid) throws TensorFormatException {
        if (!(pid instanceof Tuple(List<Object> p)) || p.size() != 5 || !"storage".equals(p.get(0))) {
            throw error("persistent id is not ('storage', type, key, location, numel)");
        }
        if (!(p.get(1) instanceof Global g) || g.kind != Kind.STORAGE_TYPE) {
            throw error("persistent id names " + typeName(p.get(1)) + ", not a torch storage class");
        }
        if (!(p.get(2) instanceof String key)) throw error("persistent id: storage key is " + typeName(p.get(2)));
        if (!(p.get(4) instanceof Long numel) || numel < 0) throw error("persistent id: storage size is not a count");
        Storage known = storages.get(key);
        if (known != null) {
            if (known.type() != g.storage() || known.numel() != numel) {
                throw error("storage \"" + printable(key) + "\" is named with two different types or sizes");
            }
            return known;
        }
        if (storages.size() >= MAX_MEMO) throw error("more than " + MAX_MEMO + " storages");
        objects(1);
        Storage s = new Storage(g.storage(), key, numel);
        storages.put(key, s);
        return s;
    }

    // ---- reading and bounds ----

    private int u8() throws TensorFormatException {
        return pickle.get(ValueLayout.JAVA_BYTE, take(1)) & 0xFF;
    }

    /** The position of the next n bytes, consumed. */
    private long take(long n) throws TensorFormatException {
        if (n > end - position) throw error("truncated: the pickle ends inside an opcode");
        long at = position;
        position += n;
        return at;
    }

    private void objects(long n) throws TensorFormatException {
        objects += n;
        if (objects > MAX_OBJECTS) throw error("more than " + MAX_OBJECTS + " objects");
    }

    private Object created(Object value) throws TensorFormatException {
        objects(1);
        return value;
    }

    private void items(long n) throws TensorFormatException {
        items += n;
        if (items > MAX_ITEMS) throw error("more than " + MAX_ITEMS + " container items");
    }

    static String typeName(Object value) {
        return switch (value) {
            case null -> "None";
            case String s -> "a string";
            case Long l -> "an int";
            case BigInteger b -> "an int";
            case Double d -> "a float";
            case Boolean b -> "a bool";
            case byte[] b -> "bytes";
            case Tuple t -> "a tuple";
            case List<?> l -> "a list";
            case Map<?, ?> m -> "a dict";
            case Global g -> g.qualified();
            case Storage s -> "a storage";
            case Tensor t -> "a tensor";
            case Unread u -> "an unread " + u.className();
            default -> value.getClass().getSimpleName();
        };
    }

    /** At most 100 characters of text from the file, control characters escaped. */
    static String printable(String text) {
        StringBuilder out = new StringBuilder();
        for (int i = 0; i < Math.min(text.length(), 100); i++) {
            char c = text.charAt(i);
            if (c < 0x20 || (c >= 0x7f && c <= 0x9f)) out.append(String.format("\\u%04x", (int) c));
            else out.append(c);
        }
        if (text.length() > 100) out.append("...");
        return out.toString();
    }

    private TensorFormatException error(String reason) {
        return new TensorFormatException(file, entry + ": " + reason + " (at byte " + opcodeAt + ")");
    }
}
