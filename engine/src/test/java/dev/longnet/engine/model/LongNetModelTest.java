package dev.longnet.engine.model;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.longnet.engine.DilatedAttention;
import dev.longnet.engine.Semantics;
import java.nio.file.Path;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class LongNetModelTest {
    static final LayerAttention.Factory ATTENTION = LayerAttention.factory(1);

    /** Small: d = 8, H = 3 (not a multiple of r = 2), N not a multiple of the segments, segments > N at times. */
    static ModelConfig small(boolean xpos) {
        return ModelConfig.of(41, 24, 3, 2, 40, new long[]{5, 12, 64}, new int[]{1, 2, 4}, xpos);
    }

    static int[] tokens(Random random, int n, int vocab) {
        int[] t = new int[n];
        for (int i = 0; i < n; i++) t[i] = random.nextInt(vocab);
        return t;
    }

    static float[] forward(LongNetModel model, int[] tokens, int chunk) throws Exception {
        return forward(model, tokens, chunk, ATTENTION);
    }

    static float[] forward(LongNetModel model, int[] tokens, int chunk, LayerAttention.Factory attention) throws Exception {
        return forward(model, tokens, chunk, attention, 1);
    }

    static float[] forward(LongNetModel model, int[] tokens, int chunk, LayerAttention.Factory attention, int threads)
            throws Exception {
        int v = model.config().vocabSize();
        float[] logits = new float[tokens.length * v];
        try (ModelStream stream = ModelStream.open(model, attention, threads)) {
            float[] part = new float[chunk * v];
            for (int from = 0; from < tokens.length; from += chunk) {
                int n = Math.min(chunk, tokens.length - from);
                stream.forward(tokens, from, n, part, null);
                System.arraycopy(part, 0, logits, from * v, n * v);
            }
            assertEquals(tokens.length, stream.position());
        }
        return logits;
    }

    private static void assertMatchesReference(ModelConfig config, long seed, int n) throws Exception {
        Map<String, TensorSource.Tensor> tensors = ModelInit.tensors(config, seed);
        LongNetModel model = LongNetModel.load(config, TensorSource.of(tensors));
        int[] tokens = tokens(new Random(seed), n, config.vocabSize());
        float[] logits = forward(model, tokens, n);
        double[][] expected = new ReferenceModel(config, tensors).logits(tokens);
        double worst = 0;
        for (int p = 0; p < n; p++) {
            for (int v = 0; v < config.vocabSize(); v++) {
                double diff = Math.abs(logits[p * config.vocabSize() + v] - expected[p][v]) / Math.max(1, Math.abs(expected[p][v]));
                worst = Math.max(worst, diff);
            }
        }
        assertTrue(worst < 1e-4, config + ": worst relative error " + worst);
    }

    @Test
    void matchesDoubleReferenceWithoutXpos() throws Exception {
        assertMatchesReference(small(false), 11, 70);
    }

    @Test
    void matchesDoubleReferenceWithXpos() throws Exception {
        assertMatchesReference(small(true), 12, 70);
    }

    @Test
    void matchesDoubleReferenceInTheOtherVariants() throws Exception {
        // post-LN without sub-LN, relu, tied embeddings, scaled embedding; swish with xPos on a base of 64.
        assertMatchesReference(new ModelConfig(23, 16, 2, 3, 20, new long[]{7, 3}, new int[]{2, 1}, false, 512, 1e-5,
                ModelConfig.Activation.RELU, false, false, true, false, 0, 1, Semantics.EXACT), 13, 40);
        assertMatchesReference(new ModelConfig(19, 32, 4, 1, 24, new long[]{16, 32}, new int[]{1, 4}, true, 64, 1e-6,
                ModelConfig.Activation.SWISH, true, true, false, true, 0, 1, Semantics.TORCHSCALE), 14, 50);
    }

    @Test
    void learnedPositionsMatchTheDoubleReference() throws Exception {
        // fairseq's LearnedPositionalEmbedding: position p reads row padding_idx + 1 + p (here 3 + p).
        assertMatchesReference(small(false).withLearnedPositions(64, 2), 15, 60);
    }

    @Test
    void positionsPastTheLearnedOnesAreRefused() throws Exception {
        ModelConfig config = small(false).withLearnedPositions(10, 1);
        LongNetModel model = LongNetModel.load(config, TensorSource.of(ModelInit.tensors(config, 3)));
        try (ModelStream stream = ModelStream.open(model, LayerAttention.factory(1))) {
            stream.forward(new int[10], 0, 10, null, null);
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> stream.forward(new int[1], 0, 1, null, null));
            assertTrue(e.getMessage().contains("position 10 is past the model's 10 learned positions"), e.getMessage());
        }
    }

    @Test
    void torchscaleSemanticsRefusesLevelsThatShift() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> ModelConfig.of(23, 16, 2, 1, 20, new long[]{7, 4}, new int[]{2, 1}, false));
        assertTrue(e.getMessage().contains("segment_length 7 is not a multiple of its dilated_ratio 2"), e.getMessage());
        assertEquals(Semantics.EXACT, ModelConfig.of(23, 16, 2, 1, 20, new long[]{8, 4}, new int[]{2, 1}, false)
                .withSemantics(Semantics.EXACT).attention().semantics());
    }

    @Test
    void chunkedForwardEqualsOneShot() throws Exception {
        ModelConfig config = small(true);
        LongNetModel model = LongNetModel.load(config, TensorSource.of(ModelInit.tensors(config, 5)));
        int[] tokens = tokens(new Random(5), 300, config.vocabSize());
        float[] whole = forward(model, tokens, 4096);
        for (int chunk : new int[]{1, 7, 100}) assertArrayEquals(whole, forward(model, tokens, chunk), 0f, "chunk " + chunk);
        assertArrayEquals(whole, forward(model, tokens, 300, LayerAttention.factory(2), 3), 0f, "threads");
    }

    @Test
    void theStreamGivesTheBatchEnginesRows() throws Exception {
        ModelConfig config = small(true);
        LongNetModel model = LongNetModel.load(config, TensorSource.of(ModelInit.tensors(config, 4)));
        int[] tokens = tokens(new Random(4), 200, config.vocabSize());
        LayerAttention.Factory batch = PrefixAttention.factory(DilatedAttention.Options.defaults().withThreads(1));
        assertArrayEquals(forward(model, tokens, 33, batch), forward(model, tokens, 33), 0f);
    }

    @Test
    void chunksOf4096EqualOneShot() throws Exception {
        ModelConfig config = ModelConfig.of(17, 8, 2, 1, 8, new long[]{64, 512}, new int[]{1, 8}, true);
        LongNetModel model = LongNetModel.load(config, TensorSource.of(ModelInit.tensors(config, 6)));
        int[] tokens = tokens(new Random(6), 5000, config.vocabSize());
        assertArrayEquals(forward(model, tokens, 5000), forward(model, tokens, 4096), 0f);
    }

    @Test
    void generatedStepsHaveTheLogitsOfAFullForward() throws Exception {
        ModelConfig config = small(true);                     // largest segment 64; the sequence reaches 4 times that
        LongNetModel model = LongNetModel.load(config, TensorSource.of(ModelInit.tensors(config, 8)));
        int v = config.vocabSize();
        int[] sequence = new int[256];
        int prompt = 10;
        System.arraycopy(tokens(new Random(8), prompt, v), 0, sequence, 0, prompt);
        float[][] stepLogits = new float[sequence.length][];
        Sampler sampler = new Sampler(0.8, 5, 99);
        try (ModelStream stream = ModelStream.open(model, ATTENTION)) {
            stream.forward(sequence, 0, prompt - 1, null, null);
            for (int p = prompt - 1; p < sequence.length - 1; p++) {
                float[] logits = new float[v];
                stream.forward(sequence, p, 1, logits, null);
                stepLogits[p] = logits;
                sequence[p + 1] = sampler.next(logits);
            }
        }
        float[] full = forward(model, sequence, sequence.length);
        for (int p = prompt - 1; p < sequence.length - 1; p++) {
            assertArrayEquals(java.util.Arrays.copyOfRange(full, p * v, (p + 1) * v), stepLogits[p], 0f, "step at " + p);
        }
    }

    @Test
    void snapshotThenRestoreContinuesExactly(@TempDir Path dir) throws Exception {
        ModelConfig config = small(true);
        LongNetModel model = LongNetModel.load(config, TensorSource.of(ModelInit.tensors(config, 9)));
        int v = config.vocabSize();
        int[] tokens = tokens(new Random(9), 150, v);
        float[] whole = forward(model, tokens, 150);
        try (ModelStream stream = ModelStream.open(model, ATTENTION)) {
            stream.forward(tokens, 0, 97, null, null);
            stream.snapshot(dir.resolve("snap"));
        }
        float[] rest = new float[(150 - 97) * v];
        try (ModelStream stream = ModelStream.restore(model, ATTENTION, dir.resolve("snap"), 1)) {
            assertEquals(97, stream.position());
            stream.forward(tokens, 97, 150 - 97, rest, null);
        }
        assertArrayEquals(java.util.Arrays.copyOfRange(whole, 97 * v, 150 * v), rest, 0f);
    }

    @Test
    void tokensOutsideTheVocabularyAreRefused() throws Exception {
        ModelConfig config = small(false);
        LongNetModel model = LongNetModel.load(config, TensorSource.of(ModelInit.tensors(config, 1)));
        try (ModelStream stream = ModelStream.open(model, ATTENTION)) {
            var e = org.junit.jupiter.api.Assertions.assertThrows(IllegalArgumentException.class,
                    () -> stream.forward(new int[]{1, 2, 41}, 0, 3, null, null));
            assertTrue(e.getMessage().contains("token id 41 at position 2"), e.getMessage());
        }
    }
}
