package dev.longnet.engine.model;

import dev.longnet.storage.TensorFile;
import dev.longnet.storage.TensorFormatException;
import java.io.IOException;
import java.nio.file.Path;

/**
 * A model in a tensor file (read by {@link TensorFile#open}): torchscale's tensor names, the configuration under
 * {@value ModelConfig#METADATA_KEY}.
 */
public final class ModelFile {
    private ModelFile() { }

    /** The file's configuration; a missing or bad one is an error naming the file and the field. */
    public static ModelConfig config(TensorFile file) throws TensorFormatException {
        String json = file.metadata().get(ModelConfig.METADATA_KEY);
        if (json == null && file.format().equals("torch")) {
            throw new TensorFormatException(file.path(), "a PyTorch checkpoint carries no LongNet model configuration: "
                    + "convert it with 'longnet convert', then add DecoderConfig's fields under the __metadata__ key \""
                    + ModelConfig.METADATA_KEY + "\"");
        }
        if (json == null) {
            throw new TensorFormatException(file.path(), "no model configuration (__metadata__ key \""
                    + ModelConfig.METADATA_KEY + "\"); write one with 'longnet model init' or add DecoderConfig's fields");
        }
        try {
            return ModelConfig.parse(json);
        } catch (IllegalArgumentException e) {
            throw new TensorFormatException(file.path(), ModelConfig.METADATA_KEY + ": " + e.getMessage());
        }
    }

    /** Loads the model: configuration, then every tensor checked against it. */
    public static LongNetModel load(Path path) throws IOException {
        try (TensorFile file = TensorFile.open(path)) {
            ModelConfig config = config(file);
            try {
                return LongNetModel.load(config, TensorSource.of(file));
            } catch (IllegalArgumentException e) {
                String m = e.getMessage();
                throw new TensorFormatException(path, m.startsWith(path.toString()) ? m.substring(path.toString().length() + 2) : m);
            }
        }
    }
}
