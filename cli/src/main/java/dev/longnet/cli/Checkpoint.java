package dev.longnet.cli;

import dev.longnet.engine.encoder.ShapedTensors;
import dev.longnet.storage.TensorFile;
import java.io.IOException;
import java.nio.file.Path;

/** A model's tensors and their shapes, opened by name: a safetensors file or a torch checkpoint (TensorFile). */
final class Checkpoint implements AutoCloseable {
    private final TensorFile file;
    private final ShapedTensors source;

    private Checkpoint(TensorFile file) {
        this.file = file;
        this.source = ShapedTensors.of(file);
    }

    static Checkpoint open(Path path) throws IOException {
        return new Checkpoint(TensorFile.open(path));
    }

    ShapedTensors source() { return source; }

    @Override
    public void close() {
        file.close();
    }
}
