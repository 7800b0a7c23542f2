package dev.longnet.engine.encoder;

import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.longnet.engine.AttentionConfig;
import dev.longnet.engine.Semantics;
import dev.longnet.storage.NpyFile;
import dev.longnet.storage.TensorFile;
import java.io.IOException;
import java.net.URISyntaxException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * The slide encoder end to end against src/test/resources/gigapath (prov-gigapath's own outputs for a tiny random
 * LongNetViT whose levels hit every padding and shift path of torchscale's dilated attention): torch checkpoints
 * in f32, f16 and bf16, 500 and 12 tiles, float and int64 coordinates, CLS and pooled, all layers.
 */
class GigapathFixtureTest {
    static final double TOL = 1e-4;

    static Path dir() throws URISyntaxException {
        return Path.of(GigapathFixtureTest.class.getResource("/gigapath/tiny.json").toURI()).getParent();
    }

    @ParameterizedTest
    @CsvSource({
            "tiny.pth, '', '', coords.npy",
            "tiny.pth, _small, '', coords_small_i64.npy",
            "tiny-f16.pth, '', _f16, coords_i64.npy",
            "tiny-bf16.pth, _small, _bf16, coords_small.npy"})
    void matchesGigapath(String checkpoint, String size, String weights, String coords) throws Exception {
        Path d = dir();
        ShapedTensors ckpt = ShapedTensors.of(TensorFile.open(d.resolve(checkpoint)));
        SlideEncoder.Settings settings = new SlideEncoder.Settings(16, AttentionConfig.levels(
                new long[]{16, 45, 128, 362, 1024}, new int[]{1, 2, 4, 8, 16}), Semantics.TORCHSCALE);
        SlideEncoder enc = new SlideEncoder(ckpt, settings, LongNetEncoder.Options.defaults().withChunkRows(50));
        int[] cells = TileCoords.cells(d.resolve(coords));
        for (boolean pool : new boolean[]{false, true}) {
            Path work = Files.createTempDirectory("gigapath-fixture");
            try (NpyFile tiles = NpyFile.open(d.resolve("tiles" + size + ".npy"))) {
                SlideEncoder.Result r = enc.embed(tiles, "tiles", cells, work, pool, true, LongNetEncoder.Progress.NONE);
                String p = pool ? "_pool" : "";
                double cls = Fixture.maxDiff(r.embedding(), npy(d.resolve("expected" + size + "_cls" + p + weights + ".npy")));
                double all = Fixture.maxDiff(Pooled.flat(r.layers()), npy(d.resolve("expected" + size + "_all_layers" + p + weights + ".npy")));
                System.out.printf("gigapath fixture %s%s%s pool=%s: final %.3g, all layers %.3g%n", checkpoint, size, weights, pool, cls, all);
                assertTrue(cls < TOL && all < TOL, checkpoint + size + " pool=" + pool + ": max diff " + cls + ", all layers " + all);
            } finally {
                Files.deleteIfExists(work);
            }
        }
    }

    /** Under torchscale's semantics too, chunk sizes, thread counts and window budgets give the same bits. */
    @org.junit.jupiter.api.Test
    void threadsChunksAndBudgetsGiveTheSameBits() throws Exception {
        Path d = dir();
        ShapedTensors ckpt = ShapedTensors.of(TensorFile.open(d.resolve("tiny.pth")));
        SlideEncoder.Settings settings = new SlideEncoder.Settings(16, AttentionConfig.levels(
                new long[]{16, 45, 128, 362, 1024}, new int[]{1, 2, 4, 8, 16}), Semantics.TORCHSCALE);
        int[] cells = TileCoords.cells(d.resolve("coords.npy"));
        float[] first = null;
        for (LongNetEncoder.Options o : new LongNetEncoder.Options[]{new LongNetEncoder.Options(1, 7, 1 << 16),
                new LongNetEncoder.Options(3, 500, 256 << 20), new LongNetEncoder.Options(2, 64, 40_000)}) {
            Path work = Files.createTempDirectory("gigapath-bits");
            try (NpyFile tiles = NpyFile.open(d.resolve("tiles.npy"))) {
                float[] all = Pooled.flat(new SlideEncoder(ckpt, settings, o).embed(tiles, "tiles", cells, work, true, true,
                        LongNetEncoder.Progress.NONE).layers());
                if (first == null) first = all;
                else org.junit.jupiter.api.Assertions.assertArrayEquals(first, all, o.toString());
            } finally {
                Files.deleteIfExists(work);
            }
        }
    }

    private static float[] npy(Path file) throws IOException {
        try (NpyFile f = NpyFile.open(file); var w = f.window(0, f.rows())) {
            float[] out = new float[(int) (f.rows() * f.rowElements())];
            for (int i = 0; i < out.length; i++) out[i] = f.dtype().get(w.segment(), i);
            return out;
        }
    }
}
