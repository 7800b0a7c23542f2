package dev.longnet.cli;

import dev.longnet.engine.AttentionConfig;
import dev.longnet.storage.AtomicFile;
import dev.longnet.storage.Json;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Optional;
import tools.jackson.core.JsonParser;
import tools.jackson.core.JsonToken;

/**
 * What an attend run computed, recorded beside its output as {@code OUT.json} ({@code {"config": {...}}}, the
 * configuration's JSON form), so that {@code verify} can check the output against the run's own configuration,
 * or say that it was given another. Written after the output is complete; advisory: a missing or unreadable record
 * only means that verify needs the configuration flags.
 */
final class RunRecord {
    private RunRecord() { }

    /** The record of output {@code out}: {@code OUT.json} beside it. */
    static Path of(Path out) {
        return out.resolveSibling(out.getFileName() + ".json");
    }

    static void write(Path out, AttentionConfig config) throws IOException {
        byte[] text = (Json.object().put("config", config) + "\n").getBytes(StandardCharsets.UTF_8);
        AtomicFile.write(of(out), channel -> channel.write(ByteBuffer.wrap(text)));
    }

    /** The configuration recorded beside {@code out}, if a readable record is there. */
    static Optional<AttentionConfig> read(Path out) {
        Path record = of(out);
        try {
            if (!Files.isRegularFile(record) || Files.size(record) > 1 << 20) return Optional.empty();
            try (JsonParser p = Json.parser(Files.readAllBytes(record))) {
                if (p.nextToken() != JsonToken.START_OBJECT || !"config".equals(p.nextName())) return Optional.empty();
                p.nextToken();
                return Optional.of(AttentionConfig.readJson(p));
            }
        } catch (IOException | RuntimeException e) {
            return Optional.empty();
        }
    }
}
