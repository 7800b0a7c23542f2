package dev.longnet.storage;

import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import tools.jackson.core.JacksonException;
import tools.jackson.core.JsonParser;
import tools.jackson.core.JsonToken;
import tools.jackson.core.ObjectReadContext;
import tools.jackson.core.TokenStreamLocation;

/**
 * The JSON header of a safetensors file, validated against the data section it describes: every tensor's dtype is
 * one we read, its offsets lie inside the data section, its byte count matches its shape, and no two overlap.
 * Unused bytes between or after tensors are tolerated (the reference implementation refuses them), as a .npy file
 * longer than its data is: they are harmless to a reader.
 */
record SafetensorsHeader(Map<String, SafetensorsFile.TensorInfo> tensors, Map<String, String> metadata) {
    private static final String METADATA_KEY = "__metadata__";

    /** Parses the header's bytes (UTF-8 JSON) for a data section of dataBytes bytes. */
    static SafetensorsHeader parse(Path file, byte[] header, long dataBytes) throws TensorFormatException {
        String text;
        try {
            text = StandardCharsets.UTF_8.newDecoder().onMalformedInput(CodingErrorAction.REPORT)
                    .onUnmappableCharacter(CodingErrorAction.REPORT).decode(ByteBuffer.wrap(header)).toString();
        } catch (CharacterCodingException e) {
            throw new TensorFormatException(file, "header is not valid UTF-8");
        }
        if (text.isEmpty() || text.charAt(0) != '{') {
            throw new TensorFormatException(file, "header does not start with '{'");
        }
        Map<String, SafetensorsFile.TensorInfo> tensors = new LinkedHashMap<>();
        Map<String, String> metadata = new LinkedHashMap<>();
        try (JsonParser json = Json.FACTORY.createParser(ObjectReadContext.empty(), text)) {
            expect(file, json, JsonToken.START_OBJECT, "'{'");
            // Duplicate keys, at any level, are refused by the parser (strict duplicate detection).
            for (String name = json.nextName(); name != null; name = json.nextName()) {
                if (name.equals(METADATA_KEY)) {
                    readMetadata(file, json, metadata);
                } else {
                    tensors.put(name, readTensor(file, json, name, dataBytes));
                }
            }
            if (json.nextToken() != null) throw error(file, json, "unexpected text after the header object");
        } catch (JacksonException e) {
            throw new TensorFormatException(file, "malformed JSON header at " + where(e.getLocation()) + ": "
                    + String.valueOf(e.getOriginalMessage()).replaceAll("\\s*\\R\\s*", " "));
        }
        checkNoOverlap(file, tensors);
        return new SafetensorsHeader(Collections.unmodifiableMap(tensors), Collections.unmodifiableMap(metadata));
    }

    private static void readMetadata(Path file, JsonParser json, Map<String, String> metadata) throws TensorFormatException {
        expect(file, json, JsonToken.START_OBJECT, "an object of strings");
        for (String key = json.nextName(); key != null; key = json.nextName()) {
            expect(file, json, JsonToken.VALUE_STRING, "a string");
            metadata.put(key, json.getString());
        }
    }

    private static SafetensorsFile.TensorInfo readTensor(Path file, JsonParser json, String name, long dataBytes)
            throws TensorFormatException {
        String dtypeName = null;
        long[] shape = null;
        long[] offsets = null;
        expect(file, json, JsonToken.START_OBJECT, "an object (dtype, shape, data_offsets)");
        for (String key = json.nextName(); key != null; key = json.nextName()) {
            switch (key) {
                case "dtype" -> {
                    expect(file, json, JsonToken.VALUE_STRING, "a string");
                    dtypeName = json.getString();
                }
                case "shape" -> shape = readLongArray(file, json);
                case "data_offsets" -> offsets = readLongArray(file, json);
                default -> throw error(file, json, "unexpected key \"" + key + "\" in tensor \"" + name
                        + "\" (expected dtype, shape, data_offsets)");
            }
        }
        String where = "tensor \"" + name + "\"";
        if (dtypeName == null) throw new TensorFormatException(file, where + " has no dtype");
        if (shape == null) throw new TensorFormatException(file, where + " has no shape");
        if (offsets == null) throw new TensorFormatException(file, where + " has no data_offsets");
        DType dtype = DType.fromSafetensors(dtypeName);
        if (dtype == null) {
            throw new TensorFormatException(file, "unsupported dtype \"" + dtypeName + "\" of " + where
                    + " (supported: F32, F16, BF16)");
        }
        for (long dim : shape) {
            if (dim < 0) throw new TensorFormatException(file, "negative dimension " + dim + " in " + where);
        }
        long bytes = Shapes.bytes(shape, 0, dtype.bytes());
        if (bytes < 0) throw new TensorFormatException(file, "shape of " + where + " overflows: over 2^63-1 bytes");
        if (offsets.length != 2) {
            throw new TensorFormatException(file, "data_offsets of " + where + " must be [begin, end]");
        }
        long begin = offsets[0];
        long end = offsets[1];
        if (begin < 0 || end < begin || end > dataBytes) {
            throw new TensorFormatException(file, "data_offsets [" + begin + ", " + end + "] of " + where
                    + " lie outside the data section of " + dataBytes + " bytes");
        }
        if (end - begin != bytes) {
            throw new TensorFormatException(file, where + " spans " + (end - begin) + " bytes but its shape and "
                    + dtypeName + " need " + bytes);
        }
        return new SafetensorsFile.TensorInfo(name, dtype, shape, begin, end);
    }

    /** An array of integers that fit a long: [1, 2, 3]; fractions and exponents are refused. */
    private static long[] readLongArray(Path file, JsonParser json) throws TensorFormatException {
        expect(file, json, JsonToken.START_ARRAY, "an array of integers");
        long[] values = new long[4];
        int count = 0;
        while (json.nextToken() != JsonToken.END_ARRAY) {
            if (json.currentToken() != JsonToken.VALUE_NUMBER_INT) throw error(file, json, "expected an integer");
            if (json.getNumberType() != JsonParser.NumberType.INT && json.getNumberType() != JsonParser.NumberType.LONG) {
                throw error(file, json, "integer too large");
            }
            if (count == values.length) values = Arrays.copyOf(values, count * 2);
            values[count++] = json.getLongValue();
        }
        return Arrays.copyOf(values, count);
    }

    /** Moves to the next token and requires it to be {@code token}. */
    private static void expect(Path file, JsonParser json, JsonToken token, String what) throws TensorFormatException {
        if (json.nextToken() != token) throw error(file, json, "expected " + what);
    }

    private static TensorFormatException error(Path file, JsonParser json, String reason) {
        return new TensorFormatException(file, "malformed JSON header at " + where(json.currentLocation()) + ": " + reason);
    }

    private static String where(TokenStreamLocation at) {
        return at == null ? "an unknown position" : "character " + at.getCharOffset();
    }

    private static void checkNoOverlap(Path file, Map<String, SafetensorsFile.TensorInfo> tensors)
            throws TensorFormatException {
        List<SafetensorsFile.TensorInfo> byOffset = new ArrayList<>(tensors.values());
        byOffset.sort(Comparator.comparingLong(SafetensorsFile.TensorInfo::begin)
                .thenComparingLong(SafetensorsFile.TensorInfo::end));
        for (int i = 1; i < byOffset.size(); i++) {
            SafetensorsFile.TensorInfo previous = byOffset.get(i - 1);
            SafetensorsFile.TensorInfo current = byOffset.get(i);
            if (current.begin() < previous.end()) {
                throw new TensorFormatException(file, "tensors \"" + previous.name() + "\" and \"" + current.name()
                        + "\" overlap in the data section");
            }
        }
    }
}
