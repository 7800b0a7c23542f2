package dev.longnet.cli;

import dev.longnet.engine.encoder.ShapedTensors;
import dev.longnet.storage.SafetensorsFile;
import java.io.IOException;
import java.nio.file.Path;

/** A model's tensors, opened by name: a .safetensors file (the one line that opens torch checkpoints goes here). */
final class Checkpoint implements AutoCloseable {
    private final SafetensorsFile file;
    private final ShapedTensors source;

    private Checkpoint(SafetensorsFile file) {
        this.file = file;
        this.source = ShapedTensors.of(file);
    }

    static Checkpoint open(Path path) throws IOException {
        return new Checkpoint(SafetensorsFile.open(path));
    }

    ShapedTensors source() { return source; }

    @Override
    public void close() {
        file.close();
    }
}
