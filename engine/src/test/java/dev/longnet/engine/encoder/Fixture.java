package dev.longnet.engine.encoder;

import dev.longnet.engine.AttentionConfig;
import dev.longnet.engine.Semantics;
import dev.longnet.storage.NpyFile;
import dev.longnet.storage.RowWindow;
import dev.longnet.storage.SafetensorsFile;
import java.io.IOException;
import java.net.URISyntaxException;
import java.nio.file.Path;

/** The tiny slide encoder of src/test/resources/encoder (make_encoder_fixture.py: gigapath's own code). */
final class Fixture {
    private Fixture() { }

    static Path dir() {
        try {
            return Path.of(Fixture.class.getResource("/encoder/tiny.safetensors").toURI()).getParent();
        } catch (URISyntaxException e) {
            throw new IllegalStateException(e);
        }
    }

    static Path file(String name) { return dir().resolve(name); }

    /** The fixture's levels: every segment divides the 64 rows and every dilation its segment. */
    static SlideEncoder.Settings settings(Semantics semantics) {
        return new SlideEncoder.Settings(16, AttentionConfig.levels(new long[]{16, 32, 64, 64, 64}, new int[]{1, 2, 4, 8, 16}),
                semantics);
    }

    static ShapedTensors weights() throws IOException {
        return ShapedTensors.of(SafetensorsFile.open(file("tiny.safetensors")));
    }

    static float[] npy(String name) throws IOException {
        try (NpyFile f = NpyFile.open(file(name)); RowWindow w = f.window(0, f.rows())) {
            float[] out = new float[(int) (f.rows() * f.rowElements())];
            for (int i = 0; i < out.length; i++) out[i] = f.dtype().get(w.segment(), i);
            return out;
        }
    }

    static double maxDiff(float[] a, float[] b) {
        if (a.length != b.length) throw new AssertionError("lengths " + a.length + " and " + b.length);
        double m = 0;
        for (int i = 0; i < a.length; i++) m = Math.max(m, Math.abs((double) a[i] - b[i]));
        return m;
    }

    static float[] flat(float[][] rows) {
        int d = rows[0].length;
        float[] out = new float[rows.length * d];
        for (int i = 0; i < rows.length; i++) System.arraycopy(rows[i], 0, out, i * d, d);
        return out;
    }
}
