package dev.longnet.engine.encoder;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.longnet.engine.Semantics;
import dev.longnet.engine.model.TensorSource;
import dev.longnet.storage.NpyFile;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The slide encoder against gigapath's own outputs for the tiny fixture. Its levels make torchscale's dilated
 * attention and the exact one agree, so these run with either semantics.
 */
class SlideEncoderTest {
    static final double TOL = 1e-4;

    @TempDir
    Path tmp;

    private SlideEncoder.Result embed(Semantics semantics, String coords, boolean pool, boolean all,
                                      LongNetEncoder.Options options) throws IOException {
        SlideEncoder enc = new SlideEncoder(Fixture.weights(), Fixture.settings(semantics), options);
        Path work = Files.createTempDirectory(tmp, "work");
        try (NpyFile tiles = NpyFile.open(Fixture.file("tiles.npy"))) {
            SlideEncoder.Result r = enc.embed(tiles, "tiles.npy", TileCoords.cells(Fixture.file(coords)), work, pool, all,
                    LongNetEncoder.Progress.NONE);
            try (var left = Files.list(work)) {
                assertEquals(0, left.count(), "work files left behind");
            }
            return r;
        }
    }

    @Test
    void clsTokenMatchesGigapath() throws IOException {
        SlideEncoder.Result r = embed(Semantics.EXACT, "coords.npy", false, true, LongNetEncoder.Options.defaults());
        double d = Fixture.maxDiff(r.embedding(), Fixture.npy("expected.npy"));
        double dl = Fixture.maxDiff(Fixture.flat(r.layers()), Fixture.npy("expected_all_layers.npy"));
        assertTrue(d < TOL, "cls max diff " + d);
        assertTrue(dl < TOL, "all layers max diff " + dl);
    }

    @Test
    void globalPoolMatchesGigapath() throws IOException {
        SlideEncoder.Result r = embed(Semantics.EXACT, "coords_i64.npy", true, true, LongNetEncoder.Options.defaults());
        double d = Fixture.maxDiff(r.embedding(), Fixture.npy("expected_pool.npy"));
        double dl = Fixture.maxDiff(Fixture.flat(r.layers()), Fixture.npy("expected_all_layers_pool.npy"));
        assertTrue(d < TOL, "pool max diff " + d);
        assertTrue(dl < TOL, "all layers max diff " + dl);
    }

    @Test
    void torchscaleSemanticsAgreesWhereTheyCoincide() throws IOException {
        SlideEncoder.Result r = embed(Semantics.TORCHSCALE, "coords.npy", false, false, LongNetEncoder.Options.defaults());
        assertTrue(Fixture.maxDiff(r.embedding(), Fixture.npy("expected.npy")) < TOL);
    }

    @Test
    void chunkSizesAndThreadsGiveTheSameBits() throws IOException {
        float[] a = Fixture.flat(embed(Semantics.EXACT, "coords.npy", true, true, new LongNetEncoder.Options(1, 7, 1 << 20)).layers());
        float[] b = Fixture.flat(embed(Semantics.EXACT, "coords.npy", true, true, new LongNetEncoder.Options(3, 64, 256 << 20)).layers());
        float[] c = Fixture.flat(embed(Semantics.EXACT, "coords.npy", true, true, new LongNetEncoder.Options(2, 13, 4096)).layers());
        assertArrayEquals(a, b);
        assertArrayEquals(a, c);
    }

    @Test
    void positionEmbeddingMatchesNumpy() throws IOException {
        float[] cells = Fixture.npy("posembed_cells.npy");
        float[] expected768 = Fixture.npy("posembed_768.npy");
        float[] expected32 = Fixture.npy("posembed_32.npy");
        SlidePositions p768 = new SlidePositions(768), p32 = new SlidePositions(32);
        double worst = 0;
        for (int i = 0; i < cells.length / 2; i++) {
            int cell = SlidePositions.cell(cells[2 * i] * 256 + 3, cells[2 * i + 1] * 256 + 255.5);
            float[] r = p768.row(cell);
            for (int j = 0; j < 768; j++) worst = Math.max(worst, Math.abs(r[j] - expected768[i * 768 + j]));
            float[] s = p32.row(cell);
            for (int j = 0; j < 32; j++) worst = Math.max(worst, Math.abs(s[j] - expected32[i * 32 + j]));
        }
        assertTrue(worst <= 6e-8, "position embedding differs from numpy by " + worst);
    }

    @Test
    void gigapathSegmentLengths() {
        assertArrayEquals(new long[]{1024, 5792, 32768, 185363, 1048576}, SlideEncoder.segmentLengths(262144, 256));
    }

    @Test
    void offGridCoordinatesAreRefused(@TempDir Path dir) throws IOException {
        assertEquals(-1, SlidePositions.cell(256000, 0));
        assertEquals(-1, SlidePositions.cell(0, -1));
        assertEquals(-1, SlidePositions.cell(Double.NaN, 0));
        assertEquals(999_999, SlidePositions.cell(255999.9, 255999.9));
    }

    @Test
    void anotherArchitectureNamesMissingAndExtraTensors() throws IOException {
        ShapedTensors full = Fixture.weights();
        Map<String, TensorSource.Tensor> tensors = new HashMap<>();
        for (String n : full.names()) {
            if (n.startsWith("encoder.layers.1.ffn.ffn_layernorm")) continue;
            tensors.put(n, new TensorSource.Tensor(full.shape(n), full.read(n, full.shape(n))));
        }
        tensors.put("head.weight", new TensorSource.Tensor(new long[]{2, 32}, new float[64]));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> SlideEncoder.inspect(ShapedTensors.of(tensors)));
        assertTrue(e.getMessage().contains("2 missing tensors (encoder.layers.1.ffn.ffn_layernorm.bias")
                && e.getMessage().contains("1 unexpected tensors (head.weight)"), e.getMessage());
        SlideEncoder.Architecture a = SlideEncoder.inspect(full);
        assertEquals(new SlideEncoder.Architecture("LongNetViT", 48, 32, 2, 128, ""), a);
    }
}
