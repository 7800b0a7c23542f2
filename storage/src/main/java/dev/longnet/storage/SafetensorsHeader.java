package dev.longnet.storage;

import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The JSON header of a safetensors file, validated against the data section it describes: every tensor's dtype is
 * one we read, its offsets lie inside the data section, its byte count matches its shape, and no two overlap.
 * Unused bytes between or after tensors are tolerated (the reference implementation refuses them), as a .npy file
 * longer than its data is: they are harmless to a reader.
 */
record SafetensorsHeader(Map<String, SafetensorsFile.TensorInfo> tensors, Map<String, String> metadata) {
    private static final String METADATA_KEY = "__metadata__";

    /** Parses json (the header's bytes, UTF-8) for a data section of dataBytes bytes. */
    static SafetensorsHeader parse(Path file, byte[] json, long dataBytes) throws TensorFormatException {
        String text;
        try {
            text = StandardCharsets.UTF_8.newDecoder().onMalformedInput(CodingErrorAction.REPORT)
                    .onUnmappableCharacter(CodingErrorAction.REPORT).decode(ByteBuffer.wrap(json)).toString();
        } catch (CharacterCodingException e) {
            throw new TensorFormatException(file, "header is not valid UTF-8");
        }
        if (text.isEmpty() || text.charAt(0) != '{') {
            throw new TensorFormatException(file, "header does not start with '{'");
        }
        JsonReader reader = new JsonReader(file, text);
        Map<String, SafetensorsFile.TensorInfo> tensors = new LinkedHashMap<>();
        Map<String, String> metadata = new LinkedHashMap<>();
        boolean sawMetadata = false;
        reader.expect('{');
        if (!reader.consume('}')) {
            do {
                String name = reader.readString();
                reader.expect(':');
                if (name.equals(METADATA_KEY)) {
                    if (sawMetadata) throw reader.error("duplicate key \"" + METADATA_KEY + "\"");
                    sawMetadata = true;
                    readMetadata(reader, metadata);
                } else {
                    if (tensors.containsKey(name)) throw reader.error("duplicate tensor \"" + name + "\"");
                    tensors.put(name, readTensor(file, reader, name, dataBytes));
                }
            } while (reader.consume(','));
            reader.expect('}');
        }
        if (!reader.atEnd()) throw reader.error("unexpected text after the header object");
        checkNoOverlap(file, tensors);
        return new SafetensorsHeader(Collections.unmodifiableMap(tensors), Collections.unmodifiableMap(metadata));
    }

    private static void readMetadata(JsonReader json, Map<String, String> metadata) throws TensorFormatException {
        json.expect('{');
        if (json.consume('}')) return;
        do {
            String key = json.readString();
            json.expect(':');
            if (metadata.put(key, json.readString()) != null) throw json.error("duplicate metadata key \"" + key + "\"");
        } while (json.consume(','));
        json.expect('}');
    }

    private static SafetensorsFile.TensorInfo readTensor(Path file, JsonReader json, String name, long dataBytes)
            throws TensorFormatException {
        String dtypeName = null;
        long[] shape = null;
        long[] offsets = null;
        json.expect('{');
        if (!json.consume('}')) {
            do {
                String key = json.readString();
                json.expect(':');
                switch (key) {
                    case "dtype" -> { if (dtypeName != null) throw duplicate(json, name, key); dtypeName = json.readString(); }
                    case "shape" -> { if (shape != null) throw duplicate(json, name, key); shape = json.readLongArray(); }
                    case "data_offsets" -> {
                        if (offsets != null) throw duplicate(json, name, key);
                        offsets = json.readLongArray();
                    }
                    default -> throw json.error("unexpected key \"" + key + "\" in tensor \"" + name
                            + "\" (expected dtype, shape, data_offsets)");
                }
            } while (json.consume(','));
            json.expect('}');
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
        long bytes = dtype.bytes();
        for (long dim : shape) {
            if (dim < 0) throw new TensorFormatException(file, "negative dimension " + dim + " in " + where);
            if (Math.multiplyHigh(bytes, dim) != 0 || bytes * dim < 0) {
                throw new TensorFormatException(file, "shape of " + where + " overflows: over 2^63-1 bytes");
            }
            bytes *= dim;
        }
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

    private static TensorFormatException duplicate(JsonReader json, String name, String key) {
        return json.error("duplicate key \"" + key + "\" in tensor \"" + name + "\"");
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
