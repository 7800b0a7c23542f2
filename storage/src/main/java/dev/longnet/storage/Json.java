package dev.longnet.storage;

import java.io.StringWriter;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import tools.jackson.core.JacksonException;
import tools.jackson.core.JsonGenerator;
import tools.jackson.core.JsonParser;
import tools.jackson.core.JsonToken;
import tools.jackson.core.ObjectReadContext;
import tools.jackson.core.ObjectWriteContext;
import tools.jackson.core.StreamReadConstraints;
import tools.jackson.core.StreamReadFeature;
import tools.jackson.core.json.JsonFactory;

/**
 * The project's one JSON support, on jackson-core's streaming API: a strict parser factory (duplicate keys refused,
 * bounded nesting and string lengths, error locations) for untrusted headers; {@link #parse} for small trusted
 * documents (test vectors, a child run's summary) as maps, lists, strings, longs, doubles, booleans and null; and
 * {@link Obj}, an ordered object written out by the generator (escaping, non-finite numbers as null).
 */
public final class Json {
    /** Strict and bounded: what reads a file's header also reads everything else. */
    public static final JsonFactory FACTORY = JsonFactory.builder()
            .enable(StreamReadFeature.STRICT_DUPLICATE_DETECTION)
            .streamReadConstraints(StreamReadConstraints.builder().maxNestingDepth(64)
                    .maxStringLength(100 << 20).maxNumberLength(64).build())
            .build();

    private Json() { }

    /** A parser over {@code bytes} (UTF-8). */
    public static JsonParser parser(byte[] bytes) {
        return FACTORY.createParser(ObjectReadContext.empty(), bytes);
    }

    /** Parses one JSON value; anything after it but whitespace is an error. */
    public static Object parse(String text) {
        try (JsonParser p = FACTORY.createParser(ObjectReadContext.empty(), text)) {
            p.nextToken();
            Object value = value(p);
            if (p.nextToken() != null) throw new IllegalArgumentException("trailing text after the JSON value at "
                    + p.currentLocation().offsetDescription());
            return value;
        } catch (JacksonException e) {
            throw new IllegalArgumentException("malformed JSON: " + e.getOriginalMessage() + " at "
                    + (e.getLocation() != null ? e.getLocation().offsetDescription() : "?"), e);
        }
    }

    private static Object value(JsonParser p) {
        JsonToken t = p.currentToken();
        if (t == null) throw new IllegalArgumentException("no JSON value");
        return switch (t) {
            case START_OBJECT -> {
                Map<String, Object> map = new LinkedHashMap<>();
                for (String name = p.nextName(); name != null; name = p.nextName()) {
                    p.nextToken();
                    map.put(name, value(p));
                }
                yield map;
            }
            case START_ARRAY -> {
                List<Object> list = new ArrayList<>();
                while (p.nextToken() != JsonToken.END_ARRAY) list.add(value(p));
                yield list;
            }
            case VALUE_STRING -> p.getString();
            case VALUE_NUMBER_INT -> p.getLongValue();
            case VALUE_NUMBER_FLOAT -> p.getDoubleValue();
            case VALUE_TRUE -> Boolean.TRUE;
            case VALUE_FALSE -> Boolean.FALSE;
            case VALUE_NULL -> null;
            default -> throw new IllegalArgumentException("unexpected " + t + " at " + p.currentLocation().offsetDescription());
        };
    }

    /** A value that writes itself as one JSON value (an {@link Obj} puts it in as that value). */
    public interface Writable {
        /** Writes this value, whole, as the generator's next value. */
        void writeJson(JsonGenerator g);
    }

    /** A new ordered object to write. */
    public static Obj object() { return new Obj(); }

    /**
     * An ordered JSON object: values are strings, numbers (non-finite ones written as null), booleans, null,
     * long arrays, lists, nested objects and {@link Writable}s; anything else is written as its toString().
     */
    public static final class Obj {
        private final Map<String, Object> fields = new LinkedHashMap<>();

        private Obj() { }

        public Obj put(String key, Object value) {
            fields.put(key, value);
            return this;
        }

        @Override
        public String toString() {
            StringWriter text = new StringWriter();
            try (JsonGenerator g = FACTORY.createGenerator(ObjectWriteContext.empty(), text)) {
                write(g, this);
            }
            return text.toString();
        }

        private static void write(JsonGenerator g, Object value) {
            switch (value) {
                case null -> g.writeNull();
                case Obj o -> {
                    g.writeStartObject();
                    for (Map.Entry<String, Object> f : o.fields.entrySet()) {
                        g.writeName(f.getKey());
                        write(g, f.getValue());
                    }
                    g.writeEndObject();
                }
                case String s -> g.writeString(s);
                case Boolean b -> g.writeBoolean(b);
                case Double d -> { if (Double.isFinite(d)) g.writeNumber(d); else g.writeNull(); }
                case Float f -> { if (Float.isFinite(f)) g.writeNumber(f); else g.writeNull(); }
                case Long l -> g.writeNumber(l);
                case Integer i -> g.writeNumber(i);
                case Number n -> g.writeNumber(n.toString());
                case Writable w -> w.writeJson(g);
                case long[] array -> {
                    g.writeStartArray();
                    for (long x : array) g.writeNumber(x);
                    g.writeEndArray();
                }
                case List<?> list -> {
                    g.writeStartArray();
                    for (Object x : list) write(g, x);
                    g.writeEndArray();
                }
                default -> g.writeString(value.toString());
            }
        }
    }
}
