package dev.longnet.engine;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.longnet.storage.DType;
import dev.longnet.storage.NpyFile;
import dev.longnet.storage.RowWindow;
import java.io.IOException;
import java.net.URISyntaxException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * SPEC.md's torchscale semantics against torchscale's own DilatedAttention (fixtures made by
 * src/test/python/make_torchscale_fixtures.py): the reference and the engine both match it, and the exact
 * semantics do not (so each case really exercises torchscale's padding).
 */
class TorchscaleSemanticsTest {
    record Case(String name, int n, int heads, int d, boolean causal, long[] segments, int[] dilations) {
        AttentionConfig config(Semantics semantics) {
            return AttentionConfig.builder().levels(segments, dilations).heads(heads).headDim(d).causal(causal)
                    .semantics(semantics).build();
        }

        @Override
        public String toString() { return name; }
    }

    static Path resource(String name) {
        try {
            return Path.of(TorchscaleSemanticsTest.class.getResource("/torchscale/" + name).toURI());
        } catch (URISyntaxException e) {
            throw new IllegalStateException(e);
        }
    }

    static List<Case> cases() throws IOException {
        List<Case> cases = new ArrayList<>();
        for (String line : Files.readAllLines(resource("cases.txt"))) {
            if (line.isBlank()) continue;
            String[] f = line.trim().split(" ");
            cases.add(new Case(f[0], Integer.parseInt(f[1]), Integer.parseInt(f[2]), Integer.parseInt(f[3]),
                    Boolean.parseBoolean(f[4]), Arrays.stream(f[5].split(",")).mapToLong(Long::parseLong).toArray(),
                    Arrays.stream(f[6].split(",")).mapToInt(Integer::parseInt).toArray()));
        }
        return cases;
    }

    static List<Case> smallCases() throws IOException {
        return cases().stream().filter(c -> !c.name().equals("issue")).toList();
    }

    static double[] read(String name) throws IOException {
        try (NpyFile file = NpyFile.open(resource(name)); RowWindow w = file.window(0, file.rows())) {
            double[] x = new double[Math.toIntExact(file.rows() * file.rowElements())];
            for (int i = 0; i < x.length; i++) x[i] = file.dtype().get(w.segment(), i);
            return x;
        }
    }

    static DType dtypeOf(String name) throws IOException {
        try (NpyFile file = NpyFile.open(resource(name))) {
            return file.dtype();
        }
    }

    /** The generator make_torchscale_fixtures.py's inputs() uses: splitmix64, top 24 bits, exact in float. */
    static double[] inputs(long seed, int count) {
        double[] x = new double[count];
        for (int i = 0; i < count; i++) {
            long z = (seed << 32) + (i + 1L) * 0x9E3779B97F4A7C15L;
            z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9L;
            z = (z ^ (z >>> 27)) * 0x94D049BB133111EBL;
            z = z ^ (z >>> 31);
            x[i] = (double) (z >>> 40) / (1 << 23) - 1.0;
        }
        return x;
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("smallCases")
    void referenceAndEngineMatchTorchscale(Case c) throws Exception {
        double[] q = read(c.name() + ".q.npy");
        double[] k = read(c.name() + ".k.npy");
        double[] v = read(c.name() + ".v.npy");
        double[] expected = read(c.name() + ".out.npy");
        DType dtype = dtypeOf(c.name() + ".q.npy");
        AttentionConfig torchscale = c.config(Semantics.TORCHSCALE);
        double[] reference = ReferenceAttention.attend(torchscale, c.n(), q, k, v).out();
        assertTrue(TestData.maxAbsDiff(expected, reference) <= 1e-5,
                c + ": reference differs from torchscale by " + TestData.maxAbsDiff(expected, reference));
        double[] exact = ReferenceAttention.attend(c.config(Semantics.EXACT), c.n(), q, k, v).out();
        assertTrue(TestData.maxAbsDiff(expected, exact) > 1e-3, c + ": the exact semantics should differ here");
        for (int threads : new int[]{1, 3}) {
            double[] engine = TestData.engine(torchscale, c.n(), q, k, v, dtype,
                    DilatedAttention.Options.defaults().withThreads(threads));
            assertTrue(TestData.maxAbsDiff(expected, engine) <= 1e-5,
                    c + ": engine differs from torchscale by " + TestData.maxAbsDiff(expected, engine));
        }
    }

    /** The reported case: N = 30001, w = 1000, 4096, 12000, r = 1, 3, 8, H = 6 (d = 4), at sampled rows. */
    @Test
    void issueCase() throws Exception {
        Case c = cases().stream().filter(x -> x.name().equals("issue")).findFirst().orElseThrow();
        int count = c.n() * c.heads() * c.d();
        double[] q = inputs(100, count);
        double[] k = inputs(101, count);
        double[] v = inputs(102, count);
        double[] rows = read("issue.rows.npy");
        double[] expected = read("issue.out.npy");
        int rowSize = c.heads() * c.d();
        assertEquals(rows.length * rowSize, expected.length);
        AttentionConfig torchscale = c.config(Semantics.TORCHSCALE);
        double[] engine = TestData.engine(torchscale, c.n(), q, k, v, DType.F32, DilatedAttention.Options.defaults());
        AttentionConfig exactConfig = c.config(Semantics.EXACT);
        double[] exact = TestData.engine(exactConfig, c.n(), q, k, v, DType.F32, DilatedAttention.Options.defaults());
        double engineDiff = 0;
        double referenceDiff = 0;
        double exactDiff = 0;
        ReferenceAttention.RowAccess qa = ReferenceAttention.RowAccess.of(q, c.heads(), c.d());
        ReferenceAttention.RowAccess ka = ReferenceAttention.RowAccess.of(k, c.heads(), c.d());
        ReferenceAttention.RowAccess va = ReferenceAttention.RowAccess.of(v, c.heads(), c.d());
        for (int i = 0; i < rows.length; i++) {
            int p = (int) rows[i];
            for (int h = 0; h < c.heads(); h++) {
                double[] ref = (i % 8 == 0 || p >= 4000) && i % 2 == 0
                        ? ReferenceAttention.attendRow(torchscale, c.n(), qa, ka, va, p, h, null) : null;
                for (int j = 0; j < c.d(); j++) {
                    double want = expected[i * rowSize + h * c.d() + j];
                    int at = p * rowSize + h * c.d() + j;
                    engineDiff = Math.max(engineDiff, Math.abs(engine[at] - want));
                    exactDiff = Math.max(exactDiff, Math.abs(exact[at] - want));
                    if (ref != null) referenceDiff = Math.max(referenceDiff, Math.abs(ref[j] - want));
                }
            }
        }
        System.out.printf("torchscale semantics, N=30001 issue case: max |engine - torchscale| = %.3g,"
                + " |reference - torchscale| = %.3g, |exact - torchscale| = %.3g%n", engineDiff, referenceDiff, exactDiff);
        assertTrue(engineDiff <= 1e-5, "engine differs from torchscale by " + engineDiff);
        assertTrue(referenceDiff <= 1e-5, "reference differs from torchscale by " + referenceDiff);
        assertTrue(exactDiff > 1e-2, "exact semantics should differ from torchscale here, by " + exactDiff);
    }
}
