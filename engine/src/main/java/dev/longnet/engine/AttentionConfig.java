package dev.longnet.engine;

import dev.longnet.storage.Json;
import java.io.StringWriter;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.SequencedMap;
import java.util.Set;
import java.util.stream.Collectors;
import tools.jackson.core.JacksonException;
import tools.jackson.core.JsonGenerator;
import tools.jackson.core.JsonParser;
import tools.jackson.core.JsonToken;
import tools.jackson.core.ObjectReadContext;
import tools.jackson.core.ObjectWriteContext;

/**
 * A validated dilated-attention configuration: the levels, the head layout, causality, the head-offset rule, the
 * softmax scale and the semantics. Build one with {@link #builder()} or take a paper preset with {@link #preset}.
 *
 * <p>It has one text form and one JSON form, both holding every field that affects the bits, under the same
 * camelCase names: {@link #toText()}, read back by {@link #parse(String)}, is
 * {@code segments=2048,4096 dilations=1,2 heads=8 headDim=64 causal=false offsets=torchscale scale=0.125 semantics=exact};
 * {@link #writeJson(JsonGenerator)}, read back by {@link #readJson(JsonParser)}, is
 * {@code {"segments":[2048,4096],"dilations":[1,2],"heads":8,"headDim":64,"causal":false,"offsets":"torchscale",
 * "scale":0.125,"semantics":"exact"}}. Both give back an equal configuration (the scale to the bit).
 */
public record AttentionConfig(List<Level> levels, int heads, int headDim, boolean causal, HeadOffsetRule offsetRule,
                              float scale, Semantics semantics) implements Json.Writable {
    /** The fields of the text and JSON forms, in the order they are written. */
    public static final List<String> FIELDS = List.of("segments", "dilations", "heads", "headDim", "causal", "offsets",
            "scale", "semantics");

    /** Named level sets from SPEC.md "Reference configurations" and the benchmark configuration. */
    public static final Map<String, List<Level>> PRESETS = Map.of(
            "paper", levels(new long[]{2048, 4096, 8192, 16384, 32768}, new int[]{1, 2, 4, 6, 12}),
            "pow2", levels(new long[]{2048, 8192, 32768, 131072}, new int[]{1, 4, 16, 64}),
            "bench", levels(new long[]{2048, 4096, 8192, 16384}, new int[]{1, 2, 4, 8}));

    public AttentionConfig {
        if (levels == null || levels.isEmpty()) throw new IllegalArgumentException("at least one level is needed");
        levels = List.copyOf(levels);
        if (heads < 1) throw new IllegalArgumentException("heads must be >= 1, got " + heads);
        if (headDim < 1) throw new IllegalArgumentException("head dimension must be >= 1, got " + headDim);
        if (offsetRule == null) throw new IllegalArgumentException("a head-offset rule is needed");
        if (!(scale > 0) || Float.isInfinite(scale)) {
            throw new IllegalArgumentException("softmax scale must be a positive finite number, got " + scale);
        }
        if (semantics == null) throw new IllegalArgumentException("a semantics is needed (exact or torchscale)");
    }

    /** With SPEC.md's exact semantics. */
    public AttentionConfig(List<Level> levels, int heads, int headDim, boolean causal, HeadOffsetRule offsetRule,
                           float scale) {
        this(levels, heads, headDim, causal, offsetRule, scale, Semantics.EXACT);
    }

    /** This configuration with other levels (same heads, causality, rule, scale and semantics). */
    public AttentionConfig withLevels(List<Level> other) {
        return new AttentionConfig(other, heads, headDim, causal, offsetRule, scale, semantics);
    }

    public static Builder builder() { return new Builder(); }

    /** A builder preset with a named level set: "paper", "pow2" or "bench". */
    public static Builder preset(String name) {
        List<Level> levels = PRESETS.get(name.toLowerCase(Locale.ROOT));
        if (levels == null) {
            throw new IllegalArgumentException("unknown preset '" + name + "' (known: "
                    + PRESETS.keySet().stream().sorted().collect(Collectors.joining(", ")) + ")");
        }
        return builder().levels(levels);
    }

    /** Levels from parallel lists of segment lengths and dilation rates, checked to have the same length. */
    public static List<Level> levels(long[] segmentLengths, int[] dilations) {
        if (segmentLengths.length != dilations.length) {
            throw new IllegalArgumentException("segment lengths " + Arrays.toString(segmentLengths) + " and dilation rates "
                    + Arrays.toString(dilations) + " must have the same number of entries");
        }
        List<Level> out = new ArrayList<>();
        for (int i = 0; i < segmentLengths.length; i++) out.add(new Level(segmentLengths[i], dilations[i]));
        return out;
    }

    /** Attention flops for n positions as SPEC.md counts them: 4·N·d·H·Σ min(w,N)/r², halved when causal. */
    public double flops(long n) {
        double sum = 0;
        for (Level level : levels) sum += (double) level.effectiveSegment(n) / ((double) level.dilation() * level.dilation());
        double total = 4.0 * n * headDim * heads * sum;
        return causal ? total / 2 : total;
    }

    /** The phase of head h at the given level. */
    public int offset(Level level, int head) { return offsetRule.offset(head, level.dilation(), heads); }

    /** A builder holding this configuration's fields, scale included. */
    public Builder toBuilder() {
        return builder().levels(levels).heads(heads).headDim(headDim).causal(causal).offsetRule(offsetRule).scale(scale)
                .semantics(semantics);
    }

    /**
     * The fields of the text form, named as {@link #FIELDS} and in that order: segment lengths and dilation rates
     * comma-separated, the rule and the semantics in lower case, the scale as {@link Float#toString(float)} (which
     * reads back to the same bits).
     */
    public SequencedMap<String, String> fields() {
        SequencedMap<String, String> fields = new LinkedHashMap<>();
        fields.put("segments", levels.stream().map(l -> Long.toString(l.segmentLength())).collect(Collectors.joining(",")));
        fields.put("dilations", levels.stream().map(l -> Integer.toString(l.dilation())).collect(Collectors.joining(",")));
        fields.put("heads", Integer.toString(heads));
        fields.put("headDim", Integer.toString(headDim));
        fields.put("causal", Boolean.toString(causal));
        fields.put("offsets", offsetRule.name().toLowerCase(Locale.ROOT));
        fields.put("scale", Float.toString(scale));
        fields.put("semantics", semantics.name().toLowerCase(Locale.ROOT));
        return fields;
    }

    /** The text form: the {@link #fields()} as {@code name=value}, separated by single spaces. */
    public String toText() {
        return fields().entrySet().stream().map(f -> f.getKey() + "=" + f.getValue()).collect(Collectors.joining(" "));
    }

    /** The text form. */
    @Override
    public String toString() { return toText(); }

    /**
     * The configuration of a text form: every field of {@link #FIELDS} once, in any order, separated by white space.
     *
     * @throws IllegalArgumentException with one line naming what is wrong
     */
    public static AttentionConfig parse(String text) {
        if (text == null || text.isBlank()) throw malformed(text, "it is empty");
        Map<String, String> fields = new LinkedHashMap<>();
        for (String token : text.strip().split("\\s+")) {
            int eq = token.indexOf('=');
            if (eq <= 0) throw malformed(text, "'" + token + "' is not name=value");
            String name = token.substring(0, eq);
            if (!FIELDS.contains(name)) throw malformed(text, "unknown field '" + name + "' (known: " + String.join(", ", FIELDS) + ")");
            if (fields.put(name, token.substring(eq + 1)) != null) throw malformed(text, "field " + name + " is given twice");
        }
        List<String> missing = FIELDS.stream().filter(f -> !fields.containsKey(f)).toList();
        if (!missing.isEmpty()) throw malformed(text, "no " + String.join(", ", missing));
        try {
            return builder().levels(longs("segments", fields.get("segments")), ints("dilations", fields.get("dilations")))
                    .heads(integer("heads", fields.get("heads"))).headDim(integer("headDim", fields.get("headDim")))
                    .causal(bool("causal", fields.get("causal"))).offsetRule(HeadOffsetRule.parse(fields.get("offsets")))
                    .scale(number("scale", fields.get("scale"))).semantics(Semantics.parse(fields.get("semantics")))
                    .build();
        } catch (IllegalArgumentException e) {
            throw malformed(text, e.getMessage());
        }
    }

    /** Writes the JSON form: an object of {@link #FIELDS}, the levels as arrays of numbers. */
    @Override
    public void writeJson(JsonGenerator g) {
        g.writeStartObject();
        g.writeName("segments");
        g.writeStartArray();
        for (Level level : levels) g.writeNumber(level.segmentLength());
        g.writeEndArray();
        g.writeName("dilations");
        g.writeStartArray();
        for (Level level : levels) g.writeNumber(level.dilation());
        g.writeEndArray();
        g.writeNumberProperty("heads", heads);
        g.writeNumberProperty("headDim", headDim);
        g.writeBooleanProperty("causal", causal);
        g.writeStringProperty("offsets", offsetRule.name().toLowerCase(Locale.ROOT));
        g.writeName("scale");
        g.writeNumber(scale);
        g.writeStringProperty("semantics", semantics.name().toLowerCase(Locale.ROOT));
        g.writeEndObject();
    }

    /** The JSON form as a string. */
    public String toJson() {
        StringWriter text = new StringWriter();
        try (JsonGenerator g = Json.FACTORY.createGenerator(ObjectWriteContext.empty(), text)) {
            writeJson(g);
        }
        return text.toString();
    }

    /**
     * The configuration of a JSON form read from {@code p}, whose current token (or, if none, next) is the object's
     * start; it is left at the object's end. Every field of {@link #FIELDS} is needed once; no other is allowed.
     *
     * @throws IllegalArgumentException with one line naming what is wrong and where
     */
    public static AttentionConfig readJson(JsonParser p) {
        try {
            if (p.currentToken() == null) p.nextToken();
            if (p.currentToken() != JsonToken.START_OBJECT) throw jsonError(p, "expected an object, got " + p.currentToken());
            long[] segments = null;
            int[] dilations = null;
            Builder builder = builder();
            Set<String> seen = new HashSet<>();
            for (String name = p.nextName(); name != null; name = p.nextName()) {
                if (!FIELDS.contains(name)) throw jsonError(p, "unknown field '" + name + "' (known: " + String.join(", ", FIELDS) + ")");
                if (!seen.add(name)) throw jsonError(p, "field " + name + " is given twice");
                JsonToken t = p.nextToken();
                try {
                    switch (name) {
                        case "segments" -> segments = jsonNumbers(p, name, t).stream().mapToLong(v -> longOf("segments", v)).toArray();
                        case "dilations" -> dilations = jsonNumbers(p, name, t).stream().mapToInt(v -> integer("dilations", v)).toArray();
                        case "heads" -> builder.heads(integer(name, jsonScalar(p, name, t, JsonToken.VALUE_NUMBER_INT)));
                        case "headDim" -> builder.headDim(integer(name, jsonScalar(p, name, t, JsonToken.VALUE_NUMBER_INT)));
                        case "causal" -> {
                            if (t != JsonToken.VALUE_TRUE && t != JsonToken.VALUE_FALSE) throw new IllegalArgumentException(name + " must be true or false");
                            builder.causal(t == JsonToken.VALUE_TRUE);
                        }
                        case "offsets" -> builder.offsetRule(HeadOffsetRule.parse(jsonScalar(p, name, t, JsonToken.VALUE_STRING)));
                        case "scale" -> builder.scale(number(name, t == JsonToken.VALUE_NUMBER_INT ? p.getString()
                                : jsonScalar(p, name, t, JsonToken.VALUE_NUMBER_FLOAT)));
                        case "semantics" -> builder.semantics(Semantics.parse(jsonScalar(p, name, t, JsonToken.VALUE_STRING)));
                        default -> throw new AssertionError(name);
                    }
                } catch (IllegalArgumentException e) {
                    if (e.getMessage() != null && e.getMessage().startsWith(JSON_MALFORMED)) throw e;
                    throw jsonError(p, e.getMessage());
                }
            }
            List<String> missing = FIELDS.stream().filter(f -> !seen.contains(f)).toList();
            if (!missing.isEmpty()) throw jsonError(p, "no " + String.join(", ", missing));
            try {
                return builder.levels(segments, dilations).build();
            } catch (IllegalArgumentException e) {
                throw jsonError(p, e.getMessage());
            }
        } catch (JacksonException e) {
            throw new IllegalArgumentException(JSON_MALFORMED + e.getOriginalMessage() + " at "
                    + (e.getLocation() != null ? e.getLocation().offsetDescription() : "?"), e);
        }
    }

    /** The configuration of a JSON form given as a string; nothing but white space may follow the object. */
    public static AttentionConfig fromJson(String json) {
        try (JsonParser p = Json.FACTORY.createParser(ObjectReadContext.empty(), json)) {
            AttentionConfig config = readJson(p);
            if (p.nextToken() != null) throw jsonError(p, "text after the object");
            return config;
        } catch (JacksonException e) {
            throw new IllegalArgumentException(JSON_MALFORMED + e.getOriginalMessage() + " at "
                    + (e.getLocation() != null ? e.getLocation().offsetDescription() : "?"), e);
        }
    }

    private static final String JSON_MALFORMED = "malformed attention configuration (JSON): ";

    private static IllegalArgumentException jsonError(JsonParser p, String what) {
        return new IllegalArgumentException(JSON_MALFORMED + what + " at " + p.currentLocation().offsetDescription());
    }

    private static String jsonScalar(JsonParser p, String name, JsonToken t, JsonToken expected) {
        if (t != expected) {
            throw new IllegalArgumentException(name + " must be " + switch (expected) {
                case VALUE_NUMBER_INT -> "a whole number";
                case VALUE_NUMBER_FLOAT -> "a number";
                default -> "a string";
            } + ", got " + t);
        }
        return p.getString();
    }

    private static List<String> jsonNumbers(JsonParser p, String name, JsonToken t) {
        if (t != JsonToken.START_ARRAY) throw new IllegalArgumentException(name + " must be an array of whole numbers, got " + t);
        List<String> values = new ArrayList<>();
        for (JsonToken e = p.nextToken(); e != JsonToken.END_ARRAY; e = p.nextToken()) {
            values.add(jsonScalar(p, name, e, JsonToken.VALUE_NUMBER_INT));
        }
        return values;
    }

    private static IllegalArgumentException malformed(String text, String what) {
        return new IllegalArgumentException("malformed attention configuration '" + (text == null ? "" : text.strip().replaceAll("\\s+", " "))
                + "': " + what);
    }

    private static long[] longs(String name, String list) {
        return Arrays.stream(list.split(",", -1)).mapToLong(v -> longOf(name, v)).toArray();
    }

    private static int[] ints(String name, String list) {
        return Arrays.stream(list.split(",", -1)).mapToInt(v -> integer(name, v)).toArray();
    }

    private static long longOf(String name, String value) {
        try {
            return Long.parseLong(value);
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException(name + ": '" + value + "' is not a whole number");
        }
    }

    private static int integer(String name, String value) {
        try {
            return Integer.parseInt(value);
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException(name + ": '" + value + "' is not a whole number (up to 2^31-1)");
        }
    }

    private static boolean bool(String name, String value) {
        return switch (value) {
            case "true" -> true;
            case "false" -> false;
            default -> throw new IllegalArgumentException(name + ": '" + value + "' is not true or false");
        };
    }

    private static float number(String name, String value) {
        if (value.isEmpty() || !value.equals(value.strip()) || !value.matches("[-+0-9.eE]+")) {
            throw new IllegalArgumentException(name + ": '" + value + "' is not a decimal number");
        }
        try {
            return Float.parseFloat(value);
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException(name + ": '" + value + "' is not a decimal number");
        }
    }

    /**
     * Builds a configuration. The levels, the heads and the head dimension have no defaults: a shape the caller did
     * not state would attend data of another shape without a word. Not thread-safe; the configuration it builds is
     * an immutable record, safe to share.
     */
    public static final class Builder {
        private static final int UNSET = Integer.MIN_VALUE;
        private List<Level> levels = List.of();
        private int heads = UNSET;
        private int headDim = UNSET;
        private boolean causal;
        private HeadOffsetRule offsetRule = HeadOffsetRule.TORCHSCALE;
        private Float scale;
        private Semantics semantics = Semantics.EXACT;

        public Builder levels(List<Level> levels) { this.levels = levels; return this; }
        public Builder levels(long[] segmentLengths, int[] dilations) { return levels(AttentionConfig.levels(segmentLengths, dilations)); }
        public Builder heads(int heads) { this.heads = heads; return this; }
        public Builder headDim(int headDim) { this.headDim = headDim; return this; }
        public Builder causal(boolean causal) { this.causal = causal; return this; }
        public Builder offsetRule(HeadOffsetRule rule) { this.offsetRule = rule; return this; }
        /** The softmax scale; 1/sqrt(headDim) when not set. */
        public Builder scale(float scale) { this.scale = scale; return this; }
        /** The default softmax scale, 1/sqrt(headDim), whatever scale was set before. */
        public Builder defaultScale() { this.scale = null; return this; }
        /** Which operator: {@link Semantics#EXACT} (default) or torchscale's. */
        public Builder semantics(Semantics semantics) { this.semantics = semantics; return this; }

        public AttentionConfig build() {
            if (heads == UNSET) throw new IllegalStateException("the number of heads is not set: call heads(H)");
            if (headDim == UNSET) throw new IllegalStateException("the head dimension is not set: call headDim(D)");
            float s = scale != null ? scale : (float) (1.0 / Math.sqrt(Math.max(headDim, 1)));
            return new AttentionConfig(levels, heads, headDim, causal, offsetRule, s, semantics);
        }
    }
}
