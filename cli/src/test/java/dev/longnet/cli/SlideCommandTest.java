package dev.longnet.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.longnet.storage.DType;
import dev.longnet.storage.NpyFile;
import dev.longnet.storage.RowWindow;
import dev.longnet.storage.SafetensorsFile;
import dev.longnet.storage.SafetensorsWriter;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * longnet slide embed and longnet encode on the engine's tiny GigaPath fixture (gigapath's own outputs; its levels
 * are given on the command line since they are not GigaPath's).
 */
class SlideCommandTest {
    static final Path FIXTURE = Path.of("..", "engine", "src", "test", "resources", "encoder");
    static final String[] LEVELS = {"--segments", "16,32,64,64,64", "--dilations", "1,2,4,8,16", "--threads", "2"};

    @TempDir
    Path tmp;

    static Path f(String name) { return FIXTURE.resolve(name); }

    static String[] args(String... more) {
        List<String> a = new ArrayList<>(List.of(more));
        a.addAll(List.of(LEVELS));
        return a.toArray(String[]::new);
    }

    static double maxDiff(Path a, Path b) throws IOException {
        double[] x = Cli.read(a), y = Cli.read(b);
        assertEquals(y.length, x.length, a + " vs " + b);
        double m = 0;
        for (int i = 0; i < x.length; i++) m = Math.max(m, Math.abs(x[i] - y[i]));
        return m;
    }

    static long[] shape(Path p) throws IOException {
        try (NpyFile f = NpyFile.open(p)) {
            return f.shape();
        }
    }

    @Test
    void embedsOneSlideAsGigapathDoes() throws IOException {
        Path out = tmp.resolve("e.npy"), layers = tmp.resolve("l.npy");
        Cli.Run r = Cli.run(args("slide", "embed", "--model", f("tiny.safetensors").toString(), "--tiles",
                f("tiles.npy").toString(), "--coords", f("coords.npy").toString(), "--out", out.toString(),
                "--all-layers-out", layers.toString(), "--json"));
        assertEquals(0, r.code(), r.toString());
        assertTrue(r.out().contains("\"tiles\":63"), r.out());
        assertEquals(List.of(1L, 32L), List.of(shape(out)[0], shape(out)[1]));
        assertEquals(List.of(3L, 32L), List.of(shape(layers)[0], shape(layers)[1]));
        assertTrue(maxDiff(out, f("expected.npy")) < 1e-4);
        assertTrue(maxDiff(layers, f("expected_all_layers.npy")) < 1e-4);
        try (var left = Files.list(tmp)) {
            assertEquals(2, left.count(), "only the outputs are left");
        }
        Cli.Run again = Cli.run(args("slide", "embed", "--model", f("tiny.safetensors").toString(), "--tiles",
                f("tiles.npy").toString(), "--coords", f("coords.npy").toString(), "--out", out.toString()));
        assertEquals(1, again.code(), again.toString());
        assertTrue(again.err().contains("exists (use --force"), again.err());
    }

    @Test
    void globalPoolWithIntegerCoordinatesAndHalfTiles() throws IOException {
        Path tiles16 = tmp.resolve("t16.npy");
        double[] t = Cli.read(f("tiles.npy"));
        try (NpyFile h = NpyFile.create(tiles16, DType.F16, 63, 48); RowWindow w = h.window(0, 63)) {
            for (int i = 0; i < t.length; i++) DType.F16.set(w.segment(), i, (float) t[i]);
            w.close();
            h.commit();
        }
        Path out = tmp.resolve("p.npy");
        Cli.Run r = Cli.run(args("slide", "embed", "--model", f("tiny.safetensors").toString(), "--tiles", f("tiles.npy").toString(),
                "--coords", f("coords_i64.npy").toString(), "--out", out.toString(), "--global-pool"));
        assertEquals(0, r.code(), r.toString());
        assertTrue(maxDiff(out, f("expected_pool.npy")) < 1e-4);
        Path out16 = tmp.resolve("p16.npy");
        Cli.Run r16 = Cli.run(args("slide", "embed", "--model", f("tiny.safetensors").toString(), "--tiles", tiles16.toString(),
                "--coords", f("coords.npy").toString(), "--out", out16.toString(), "--global-pool"));
        assertEquals(0, r16.code(), r16.toString());
        assertTrue(maxDiff(out16, f("expected_pool.npy")) < 5e-2, "f16 tiles stay close");
    }

    @Test
    void directoryOfSlidesResumes() throws IOException {
        Path in = Files.createDirectory(tmp.resolve("in")), out = tmp.resolve("out");
        for (String name : new String[]{"a", "b"}) {
            Files.copy(f("tiles.npy"), in.resolve(name + ".npy"));
            Files.copy(f("coords.npy"), in.resolve(name + ".coords.npy"));
        }
        String[] cmd = args("slide", "embed", "--model", f("tiny.safetensors").toString(), "--tiles", in.toString(),
                "--out", out.toString(), "--json");
        Cli.Run r = Cli.run(cmd);
        assertEquals(0, r.code(), r.toString());
        assertTrue(r.out().contains("\"embedded\":2"), r.out());
        assertTrue(maxDiff(out.resolve("a.npy"), f("expected.npy")) < 1e-4);
        assertTrue(maxDiff(out.resolve("b.npy"), f("expected.npy")) < 1e-4);
        Files.delete(out.resolve("b.npy"));
        long before = Files.getLastModifiedTime(out.resolve("a.npy")).toMillis();
        Cli.Run again = Cli.run(cmd);
        assertEquals(0, again.code(), again.toString());
        assertTrue(again.out().contains("\"embedded\":1") && again.out().contains("\"skipped\":1"), again.out());
        assertEquals(before, Files.getLastModifiedTime(out.resolve("a.npy")).toMillis());
        assertTrue(Files.exists(out.resolve("b.npy")));
        Cli.Run over = Cli.run(args("slide", "embed", "--quiet", "--model", f("tiny.safetensors").toString(), "--tiles",
                in.toString(), "--out", in.toString()));
        assertEquals(2, over.code(), over.toString());
        assertTrue(over.err().contains("is the tiles directory"), over.err());
    }

    /** coords (N, 2) f32 of the given values. */
    private Path coords(String name, float[] values) throws IOException {
        ByteBuffer b = ByteBuffer.allocate(values.length * 4).order(ByteOrder.LITTLE_ENDIAN);
        for (float v : values) b.putFloat(v);
        return Cli.writeNpy(tmp.resolve(name), "<f4", "(" + values.length / 2 + ", 2)", b.array());
    }

    private Path tiles(String name, int n, int width, int nanAt) throws IOException {
        ByteBuffer b = ByteBuffer.allocate(n * width * 4).order(ByteOrder.LITTLE_ENDIAN);
        for (int i = 0; i < n * width; i++) b.putFloat(i == nanAt ? Float.NaN : (float) Math.sin(i));
        return Cli.writeNpy(tmp.resolve(name), "<f4", "(" + n + ", " + width + ")", b.array());
    }

    private Cli.Run embed(Path tiles, Path coords) {
        return Cli.run(args("slide", "embed", "--quiet", "--model", f("tiny.safetensors").toString(), "--tiles", tiles.toString(),
                "--coords", coords.toString(), "--out", tmp.resolve("bad-out.npy").toString()));
    }

    private static void refused(Cli.Run r, String... fragments) {
        assertTrue(r.code() == 1 || r.code() == 2, r.toString());
        assertTrue(r.oneErrorLine(), r.toString());
        for (String s : fragments) assertTrue(r.err().contains(s), "expected '" + s + "' in: " + r.err());
    }

    @Test
    void badInputsAreOneLine() throws IOException {
        Path good = tiles("t.npy", 3, 48, -1);
        Path xy = coords("c.npy", new float[]{0, 0, 256, 512, 1000, 3000});
        refused(embed(good, coords("off.npy", new float[]{0, 0, 256000, 5, 1, 1})), "off.npy", "row 1", "256000");
        refused(embed(good, coords("neg.npy", new float[]{0, 0, 5, -1, 1, 1})), "neg.npy", "row 1");
        refused(embed(tiles("nan.npy", 3, 48, 2 * 48 + 5), xy), "nan.npy", "row 2", "NaN");
        refused(embed(tiles("wide.npy", 3, 40, -1), xy), "wide.npy", "(N, 48)");
        refused(embed(Cli.writeNpy(tmp.resolve("empty.npy"), "<f4", "(0, 48)", new byte[0]),
                coords("c0.npy", new float[0])), "N = 0");
        refused(embed(tiles("four.npy", 4, 48, -1), xy), "4 tiles but 3 coordinates");
        assertFalse(Files.exists(tmp.resolve("bad-out.npy")));
        assertFalse(Files.exists(tmp.resolve("bad-out.npy.work")));
        Cli.Run same = Cli.run(args("slide", "embed", "--quiet", "--model", f("tiny.safetensors").toString(), "--tiles", good.toString(),
                "--coords", xy.toString(), "--out", good.toString(), "--force"));
        refused(same, "is the output");
    }

    @Test
    void checkpointOfAnotherArchitectureNamesTensors() throws IOException {
        SafetensorsWriter w = new SafetensorsWriter();
        try (SafetensorsFile st = SafetensorsFile.open(f("tiny.safetensors"))) {
            for (String name : st.names()) {
                if (name.startsWith("encoder.layers.1.self_attn.inner_attn_ln")) continue;
                SafetensorsFile.TensorInfo info = st.info(name);
                long count = 1;
                for (long d : info.shape()) count *= d;
                w.tensor(name, DType.F32, info.shape(), new float[(int) count]);
            }
        }
        w.tensor("fc_norm.weight", DType.F32, new long[]{32}, new float[32]);
        Path other = tmp.resolve("other.safetensors");
        w.write(other);
        Cli.Run r = Cli.run(args("slide", "embed", "--quiet", "--model", other.toString(), "--tiles", f("tiles.npy").toString(),
                "--coords", f("coords.npy").toString(), "--out", tmp.resolve("o.npy").toString()));
        refused(r, "2 missing tensors (encoder.layers.1.self_attn.inner_attn_ln.bias", "1 unexpected tensors (fc_norm.weight)");
    }

    /** gigapath's own tiny LongNetViT as torch checkpoints, f32, f16 and bf16. */
    @Test
    void torchCheckpointsAsGigapathWroteThem() throws IOException {
        Path g = Path.of("..", "engine", "src", "test", "resources", "gigapath");
        for (String weights : new String[]{"", "-f16", "-bf16"}) {
            Path out = tmp.resolve("g" + weights + ".npy"), layers = tmp.resolve("gl" + weights + ".npy");
            Cli.Run r = Cli.run("slide", "embed", "--model", g.resolve("tiny" + weights + ".pth").toString(), "--tiles",
                    g.resolve("tiles.npy").toString(), "--coords", g.resolve("coords_i64.npy").toString(), "--out",
                    out.toString(), "--all-layers-out", layers.toString(), "--segments", "16,45,128,362,1024", "--global-pool");
            assertEquals(0, r.code(), r.toString());
            String suffix = weights.isEmpty() ? "" : "_" + weights.substring(1);
            assertTrue(maxDiff(out, g.resolve("expected_cls_pool" + suffix + ".npy")) < 1e-4);
            assertTrue(maxDiff(layers, g.resolve("expected_all_layers_pool" + suffix + ".npy")) < 1e-4);
        }
    }

    @Test
    void infoNamesTheArchitecture() {
        Cli.Run r = Cli.run("info", f("tiny.safetensors").toString());
        assertEquals(0, r.code(), r.toString());
        assertTrue(r.out().contains("model: GigaPath slide encoder LongNetViT (in_chans 48, dim 32, depth 2, ffn 128)")
                && r.out().contains("semantics: torchscale"), r.out());
    }

    @Test
    void encodeRefusesBadRowsInOneLine() throws IOException {
        Path out = tmp.resolve("h.npy");
        Cli.Run wide = Cli.run(args("encode", "--quiet", "--model", f("tiny.safetensors").toString(), "--in",
                tiles("w.npy", 3, 48, -1).toString(), "--out", out.toString()));
        refused(wide, "w.npy", "(N, 32)");
        Cli.Run nan = Cli.run(args("encode", "--quiet", "--model", f("tiny.safetensors").toString(), "--in",
                tiles("n.npy", 3, 32, 40).toString(), "--out", out.toString()));
        refused(nan, "n.npy", "row 1", "NaN");
        Cli.Run empty = Cli.run(args("encode", "--quiet", "--model", f("tiny.safetensors").toString(), "--in",
                Cli.writeNpy(tmp.resolve("e.npy"), "<f4", "(0, 32)", new byte[0]).toString(), "--out", out.toString()));
        refused(empty, "N = 0");
        assertFalse(Files.exists(out));
        assertFalse(Files.exists(tmp.resolve("h.npy.work")));
        assertFalse(Files.exists(tmp.resolve("h.npy.partial")));
    }

    @Test
    void encodeRunsTheBareEncoder() throws IOException {
        Path out = tmp.resolve("h.npy"), states = tmp.resolve("s.npy");
        Cli.Run r = Cli.run(args("encode", "--model", f("tiny.safetensors").toString(), "--in", f("encoder_in.npy").toString(),
                "--out", out.toString(), "--all-layers-out", states.toString()));
        assertEquals(0, r.code(), r.toString());
        assertTrue(maxDiff(out, f("encoder_out.npy")) < 1e-4, "encoder out differs by " + maxDiff(out, f("encoder_out.npy")));
        assertTrue(maxDiff(states, f("encoder_states.npy")) < 1e-4);
        try (var left = Files.list(tmp)) {
            assertEquals(2, left.count(), "only the outputs are left");
        }
    }
}
