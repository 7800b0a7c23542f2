package dev.longnet.engine.job;

import dev.longnet.storage.FileFingerprint;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Objects;

/**
 * What a resumable job is a run of, recorded with its state and compared when it resumes: named text fields (the
 * format, the configuration, the dtype, the length, ...) and, for each input file, its size and fingerprint (the
 * header, the first and last MiB and samples between: {@link FileFingerprint}). A field whose name ends in
 * {@code .path} is recorded for people and never compared (a file moved keeps its identity).
 */
public final class Identity {
    /** The suffix of the fields that are recorded but not compared. */
    public static final String PATH = ".path";

    private final Map<String, String> fields = new LinkedHashMap<>();

    private Identity() { }

    /** A new identity whose first field is {@code format} (a job kind and version: "longnet-stream 1"). */
    public static Identity of(String format) {
        Identity identity = new Identity();
        identity.fields.put("format", format);
        return identity;
    }

    /** Adds a field compared on resume. */
    public Identity put(String name, Object value) {
        fields.put(name, String.valueOf(value));
        return this;
    }

    /**
     * Adds the identity of the input file {@code file} (its size and fingerprint) as {@code name}, and its path as
     * {@code name.path}; a pipe or standard input ({@code null}) is recorded as "stdin", and cannot be checked.
     */
    public Identity file(String name, Path file) throws IOException {
        if (file == null) {
            fields.put(name, "stdin");
            return this;
        }
        fields.put(name, Files.size(file) + " bytes " + FileFingerprint.of(file, 0));
        fields.put(name + PATH, file.toAbsolutePath().toString());
        return this;
    }

    /**
     * Adds the identity of the first {@code length} bytes of {@code file} (a file that may grow, read from its
     * start: a stream's input) as {@code name}, and its path as {@code name.path}.
     */
    public Identity filePrefix(String name, Path file, long length) throws IOException {
        fields.put(name, Math.min(length, Files.size(file)) + " bytes " + FileFingerprint.ofPrefix(file, length));
        fields.put(name + PATH, file.toAbsolutePath().toString());
        return this;
    }

    /** The fields, in the order they were added. */
    public Map<String, String> fields() { return Collections.unmodifiableMap(fields); }

    /** The fields with {@code prefix} before each name, to record inside another header. */
    public Map<String, String> fields(String prefix) {
        Map<String, String> out = new LinkedHashMap<>();
        fields.forEach((k, v) -> out.put(prefix + k, v));
        return out;
    }

    /**
     * Refuses to resume the state in {@code where} when the identity recorded there (the fields of {@code recorded}
     * whose names start with {@code prefix}) differs from this one, naming the first field that differs.
     */
    public void requireSame(Path where, Map<String, String> recorded, String prefix) {
        for (Map.Entry<String, String> e : fields.entrySet()) {
            String name = e.getKey();
            if (name.endsWith(PATH)) continue;
            String was = recorded.get(prefix + name);
            String is = e.getValue();
            if (Objects.equals(was, is)) continue;
            String what;
            if (was == null) {
                what = "its state was written by another version (it does not record " + name + ")";
            } else if (fields.containsKey(name + PATH)) {
                what = name + " (" + fields.get(name + PATH) + ") changed since the run started (its size or sampled"
                        + " contents differ)";
            } else {
                what = "the " + name + " changed since the run started (was " + was + ", now " + is + ")";
            }
            throw new JobConflictException("cannot resume the run in " + where + ": " + what, true);
        }
    }
}
