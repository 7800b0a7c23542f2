package dev.longnet.engine.model;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.longnet.storage.NpyFile;
import dev.longnet.storage.RowWindow;
import dev.longnet.storage.TensorFile;
import java.io.IOException;
import java.net.URISyntaxException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The decoder against torchscale's own LongNetDecoder: torch.save checkpoints and logits made by
 * src/test/python/make_torchscale_decoder_fixtures.py (learned positions as fairseq lays them out; xPos), loaded
 * straight from the .pt with the configuration beside it.
 */
class TorchscaleDecoderTest {
    @ParameterizedTest
    @ValueSource(strings = {"learned", "xpos"})
    void logitsMatchTorchscale(String name) throws Exception {
        ModelConfig config = ModelConfig.parse(Files.readString(resource(name + ".json")));
        float[] tokens = floats(name + ".tokens.npy");
        float[] expected = floats(name + ".logits.npy");
        LongNetModel model;
        try (TensorFile file = TensorFile.open(resource(name + ".pt"))) {
            model = LongNetModel.load(config, TensorSource.of(file));
        }
        int n = tokens.length;
        int[] ids = new int[n];
        for (int i = 0; i < n; i++) ids[i] = (int) tokens[i];
        float[] logits = new float[n * config.vocabSize()];
        try (ModelStream stream = ModelStream.open(model, LayerAttention.factory(1))) {
            stream.forward(ids, 0, 17, logits, null);                     // in two chunks: positions carry over
            float[] rest = new float[(n - 17) * config.vocabSize()];
            stream.forward(ids, 17, n - 17, rest, null);
            System.arraycopy(rest, 0, logits, 17 * config.vocabSize(), rest.length);
        }
        assertEquals(expected.length, logits.length);
        double max = 0;
        for (int i = 0; i < logits.length; i++) max = Math.max(max, Math.abs(logits[i] - expected[i]));
        assertTrue(max < 2e-4, name + ": max |engine - torchscale| = " + max);
    }

    private static float[] floats(String name) throws IOException {
        try (NpyFile file = NpyFile.open(resource(name)); RowWindow w = file.window(0, file.rows())) {
            long count = w.segment().byteSize() / file.dtype().bytes();
            float[] out = new float[Math.toIntExact(count)];
            for (int i = 0; i < out.length; i++) out[i] = file.dtype().get(w.segment(), i);
            return out;
        }
    }

    private static Path resource(String name) {
        try {
            return Path.of(TorchscaleDecoderTest.class.getResource("/torchscale-decoder/" + name).toURI());
        } catch (URISyntaxException e) {
            throw new IllegalStateException(e);
        }
    }
}
