package dev.longnet.cli;

import dev.longnet.engine.model.TensorSource;
import dev.longnet.storage.SafetensorsFile;
import java.io.IOException;
import java.nio.file.Path;

/** A model's tensors, opened by name: a .safetensors file (the one line that opens torch checkpoints goes here). */
final class Checkpoint implements AutoCloseable {
    private final SafetensorsFile file;
    private final TensorSource source;

    private Checkpoint(SafetensorsFile file) {
        this.file = file;
        this.source = TensorSource.of(file);
    }

    static Checkpoint open(Path path) throws IOException {
        return new Checkpoint(SafetensorsFile.open(path));
    }

    TensorSource source() { return source; }

    @Override
    public void close() {
        file.close();
    }
}
