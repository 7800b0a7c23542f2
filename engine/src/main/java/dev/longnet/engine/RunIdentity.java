package dev.longnet.engine;

import dev.longnet.storage.DType;
import dev.longnet.storage.FileFingerprint;
import dev.longnet.storage.NpyFile;
import java.io.IOException;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * What identifies a run, written as the journal's header: the format, the configuration, the schedule, the kernel,
 * the output type, and each input's type, shape and fingerprint (size, modification time and sampled contents).
 * A later run resumes the journal only if all of these are equal; the inputs' paths and the start time are
 * recorded for people and not compared.
 */
final class RunIdentity {
    private static final List<String> COMPARED = List.of("format", "config", "schedule", "kernel", "output", "q", "k", "v");
    private static final String[] NAMES = {"q", "k", "v"};

    private RunIdentity() { }

    static Map<String, String> of(AttentionConfig config, String kernel, Schedule schedule, DType outputType,
                                  Map<String, String> inputs) {
        Map<String, String> fields = new LinkedHashMap<>();
        fields.put("format", "longnet-run 2");
        fields.put("config", config.toText());
        fields.put("schedule", schedule.describe());
        fields.put("kernel", kernel);
        fields.put("output", outputType.name());
        fields.putAll(inputs);
        fields.put("started", java.time.Instant.now().toString());
        return fields;
    }

    /**
     * The fields of the input files q, k and v: each one's type, shape and fingerprint (compared), and its path
     * (recorded). Reading a fingerprint opens the file: call this before the inputs are locked.
     */
    static Map<String, String> inputs(NpyFile q, NpyFile k, NpyFile v) throws IOException {
        Map<String, String> fields = new LinkedHashMap<>();
        NpyFile[] files = {q, k, v};
        for (int i = 0; i < 3; i++) {
            NpyFile f = files[i];
            fields.put(NAMES[i], f.dtype().name() + " " + Arrays.toString(f.shape()) + " "
                    + FileFingerprint.of(f.path(), f.header().dataOffset()));
            fields.put(NAMES[i] + ".path", f.path().toAbsolutePath().toString());
        }
        return fields;
    }

    /** The input fields of sequence {@code index} of a batch, its first {@code rows} rows, from the batch's fields. */
    static Map<String, String> sequence(Map<String, String> batch, long index, long rows) {
        Map<String, String> fields = new LinkedHashMap<>(batch);
        for (String name : NAMES) fields.put(name, "sequence " + index + " (" + rows + " rows) of " + batch.get(name));
        return fields;
    }
    /** Refuses to resume the run in {@code dir} when its recorded identity differs from {@code now}, saying how. */
    static void requireSame(Path dir, Map<String, String> recorded, Map<String, String> now) {
        for (String key : COMPARED) {
            String was = recorded.get(key);
            String is = now.get(key);
            if (Objects.equals(was, is)) continue;
            String what = switch (key) {
                case "q", "k", "v" -> key + " (" + now.get(key + ".path") + ") changed since the run started (its"
                        + " header, size or sampled contents differ)";
                case "config" -> "the configuration changed since the run started (was: " + was + "; now: " + is + ")";
                case "schedule" -> "the window budget or the input types changed since the run started, which cuts"
                        + " the work differently (was: " + was + "; now: " + is + ")";
                case "kernel" -> "the kernel changed since the run started (was " + was + ", now " + is + ")";
                case "output" -> "the output type changed since the run started (was " + was + ", now " + is + ")";
                default -> "it was written by another version (" + was + ")";
            };
            throw new RunConflictException("cannot resume the run in " + dir + ": " + what, true);
        }
    }
}
