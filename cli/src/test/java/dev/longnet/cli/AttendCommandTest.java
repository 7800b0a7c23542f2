package dev.longnet.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.longnet.engine.AttentionConfig;
import dev.longnet.engine.HeadOffsetRule;
import dev.longnet.engine.ReferenceAttention;
import dev.longnet.storage.DType;
import dev.longnet.storage.NpyFile;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class AttendCommandTest {
    static final int N = 300;
    static final int HEADS = 3;
    static final int D = 8;

    @TempDir
    Path tmp;
    Path q;
    Path k;
    Path v;
    Path out;

    @BeforeEach
    void generate() {
        Cli.Run run = Cli.run("gen", "--n", "" + N, "--heads", "" + HEADS, "--head-dim", "" + D, "--seed", "7",
                "--out", tmp.toString(), "--quiet");
        assertEquals(0, run.code(), run.toString());
        q = tmp.resolve("q.npy");
        k = tmp.resolve("k.npy");
        v = tmp.resolve("v.npy");
        out = tmp.resolve("out.npy");
    }

    private Cli.Run attend(String... extra) {
        List<String> args = new ArrayList<>(List.of("attend", "--q", q.toString(), "--k", k.toString(), "--v", v.toString(),
                "--out", out.toString()));
        args.addAll(List.of(extra));
        return Cli.run(args.toArray(String[]::new));
    }

    private void assertMatchesReference(AttentionConfig config, double tolerance) throws IOException {
        double[] expected = ReferenceAttention.attend(config, N, Cli.read(q), Cli.read(k), Cli.read(v)).out();
        double[] actual = Cli.read(out);
        assertEquals(expected.length, actual.length);
        double max = 0;
        for (int i = 0; i < expected.length; i++) max = Math.max(max, Math.abs(expected[i] - actual[i]));
        assertTrue(max <= tolerance, "max abs error " + max);
    }

    @Test
    void torchscaleSemanticsFlag() throws IOException {
        // (64, 3) shifts its later segments under torchscale semantics; the default, exact, does not.
        Cli.Run run = attend("--segments", "16,64", "--dilations", "1,3", "--semantics", "torchscale", "--json");
        assertEquals(0, run.code(), run.toString());
        assertTrue(run.out().contains("\"semantics\":\"torchscale\""), run.out());
        AttentionConfig torchscale = AttentionConfig.builder().levels(new long[]{16, 64}, new int[]{1, 3})
                .heads(HEADS).headDim(D).semantics(dev.longnet.engine.Semantics.TORCHSCALE).build();
        assertMatchesReference(torchscale, 1e-5);
        Cli.Run exact = attend("--segments", "16,64", "--dilations", "1,3", "--force", "--quiet");
        assertEquals(0, exact.code(), exact.toString());
        assertMatchesReference(AttentionConfig.builder().levels(new long[]{16, 64}, new int[]{1, 3}).heads(HEADS)
                .headDim(D).build(), 1e-5);
        Cli.Run bad = attend("--segments", "16", "--dilations", "1", "--semantics", "fast", "--force");
        assertEquals(2, bad.code(), bad.toString());
        assertTrue(bad.oneErrorLine() && bad.err().contains("unknown semantics 'fast'"), bad.toString());
    }

    @Test
    void computesTheReferenceAndPrintsOneSummaryLine() throws IOException {
        Cli.Run run = attend("--segments", "64,128", "--dilations", "1,2", "--threads", "2");
        assertEquals(0, run.code(), run.toString());
        assertTrue(run.out().startsWith("attend: 300 tokens in "), run.out());
        assertTrue(run.out().contains(" tokens/s, ") && run.out().contains(" GFLOPS, peak RSS ")
                && run.out().contains("backend cpu (cpu-vector"), run.out());
        assertEquals(1, run.out().strip().lines().count(), run.out());
        assertTrue(run.err().startsWith("backend: cpu (auto: ") && run.err().contains("), kernel cpu-vector"), run.err());
        assertMatchesReference(AttentionConfig.builder().levels(new long[]{64, 128}, new int[]{1, 2})
                .heads(HEADS).headDim(D).build(), 1e-4);
        try (NpyFile f = NpyFile.open(out)) {
            assertEquals(DType.F32, f.dtype(), "the output type defaults to q's");
        }
        try (var files = Files.list(tmp)) {
            assertEquals(List.of("k.npy", "out.npy", "out.npy.json", "q.npy", "v.npy"),
                    files.map(p -> p.getFileName().toString()).sorted().toList(), "no scratch left behind, the run's record");
        }
    }

    @Test
    void causalPaperOffsetsScaleAndSizeSuffixes() throws IOException {
        Cli.Run run = attend("--segments", "2^6,128,1k", "--dilations", "1,2,4", "--causal", "--offsets", "paper",
                "--scale", "0.25", "--backend", "cpu", "--quiet");
        assertEquals(0, run.code(), run.toString());
        assertEquals("", run.err());
        assertMatchesReference(AttentionConfig.builder().levels(new long[]{64, 128, 1024}, new int[]{1, 2, 4})
                .heads(HEADS).headDim(D).causal(true).offsetRule(HeadOffsetRule.PAPER).scale(0.25f).build(), 1e-4);
    }

    @Test
    void presetAndF16Output() throws IOException {
        Cli.Run run = attend("--preset", "bench", "--out-dtype", "f16", "--quiet");
        assertEquals(0, run.code(), run.toString());
        try (NpyFile f = NpyFile.open(out)) {
            assertEquals(DType.F16, f.dtype());
        }
        assertMatchesReference(AttentionConfig.preset("bench").heads(HEADS).headDim(D).build(), 2e-3);
    }

    @Test
    void jsonIsOneObjectWithTheSummaryKeys() {
        Cli.Run run = attend("--segments", "64", "--dilations", "1", "--json");
        assertEquals(0, run.code(), run.toString());
        assertEquals("", run.err(), "--json keeps stderr quiet");
        String json = run.out().strip();
        assertEquals(1, json.lines().count());
        assertTrue(json.startsWith("{\"tokens\":300,\"seconds\":") && json.endsWith("}}"), json);
        for (String key : new String[]{"tokensPerSecond", "gflops", "peakRssBytes", "backend", "config", "segments",
                "dilations", "heads", "headDim", "causal", "offsets", "scale", "semantics"}) {
            assertTrue(json.contains("\"" + key + "\":"), key + " in " + json);
        }
        assertTrue(json.contains("\"config\":{\"segments\":[64],\"dilations\":[1],\"heads\":3,\"headDim\":8,"
                + "\"causal\":false,\"offsets\":\"torchscale\",\"scale\":0.35355338,\"semantics\":\"exact\"}"), json);
        assertTrue(json.contains("\"backend\":\"cpu\""), json);
    }

    @Test
    void anExistingOutputIsRefusedUnlessForced() throws IOException {
        assertEquals(0, attend("--segments", "64", "--dilations", "1", "--quiet").code());
        byte[] before = Files.readAllBytes(out);
        Cli.Run refused = attend("--segments", "64", "--dilations", "1", "--causal");
        assertEquals(1, refused.code(), refused.toString());
        assertEquals("longnet attend: " + out + ": output exists (use --force to replace it)", lastLine(refused.err()));
        assertTrue(java.util.Arrays.equals(before, Files.readAllBytes(out)));
        Cli.Run forced = attend("--segments", "64", "--dilations", "1", "--causal", "--force", "--quiet");
        assertEquals(0, forced.code(), forced.toString());
        assertFalse(java.util.Arrays.equals(before, Files.readAllBytes(out)));
    }

    @Test
    void aMissingInputIsNamed() {
        Path missing = tmp.resolve("nope.npy");
        q = missing;
        Cli.Run run = attend("--segments", "64", "--dilations", "1", "--quiet");
        assertEquals(1, run.code(), run.toString());
        assertEquals("longnet attend: " + missing + ": no such file or directory", run.err().strip());
        assertFalse(Files.exists(out));
    }

    @Test
    void disagreeingShapesNameTheFileAndLeaveNoOutput() {
        Cli.Run gen = Cli.run("gen", "--n", "" + (N + 1), "--heads", "" + HEADS, "--head-dim", "" + D,
                "--out", tmp.resolve("other").toString(), "--quiet");
        assertEquals(0, gen.code());
        k = tmp.resolve("other/k.npy");
        Cli.Run run = attend("--segments", "64", "--dilations", "1", "--quiet");
        assertEquals(1, run.code(), run.toString());
        assertTrue(run.oneErrorLine(), run.toString());
        assertTrue(run.err().startsWith("longnet attend: " + k + ": shape [301, 3, 8] does not match q's [300, 3, 8]"),
                run.err());
        assertNoOutput();
    }

    @Test
    void anUnsupportedDtypeIsNamed() throws IOException {
        q = Cli.writeNpy(tmp.resolve("ints.npy"), "<i4", "(2, 1, 1)", new byte[8]);
        Cli.Run run = attend("--segments", "64", "--dilations", "1", "--quiet");
        assertEquals(1, run.code(), run.toString());
        assertTrue(run.oneErrorLine(), run.toString());
        assertTrue(run.err().startsWith("longnet attend: " + q + ": "), run.err());
        assertTrue(run.err().contains("<i4"), run.err());
        assertNoOutput();
    }

    @Test
    void aCorruptFileIsATensorFormatError() throws IOException {
        q = Files.write(tmp.resolve("junk.npy"), "this is not numpy".getBytes());
        Cli.Run run = attend("--segments", "64", "--dilations", "1");
        assertEquals(1, run.code(), run.toString());
        assertTrue(run.oneErrorLine(), run.toString());
        assertTrue(run.err().startsWith("longnet attend: " + q + ": "), run.err());
        Cli.Run verbose = attend("--segments", "64", "--dilations", "1", "--verbose");
        assertEquals(1, verbose.code());
        assertTrue(verbose.err().contains("dev.longnet.storage.TensorFormatException"), "--verbose adds the stack trace");
        assertTrue(verbose.err().contains("\tat "), verbose.err());
    }

    @Test
    void aWrongRankIsNamed() throws IOException {
        q = Cli.writeNpy(tmp.resolve("flat.npy"), "<f4", "(2, 4)", new byte[32]);
        Cli.Run run = attend("--segments", "64", "--dilations", "1");
        assertEquals(1, run.code(), run.toString());
        assertEquals("longnet attend: " + q + ": expected shape (N, heads, headDim) or a batch (B, N, heads, headDim), got [2, 4]", run.err().strip());
    }

    @Test
    void cudaWithoutAGpuFailsClearly() {
        org.junit.jupiter.api.Assumptions.assumeFalse(dev.longnet.engine.cuda.CudaBackend.available().available(),
                "this machine has CUDA");
        Cli.Run run = attend("--segments", "64", "--dilations", "1", "--backend", "cuda");
        assertEquals(1, run.code(), run.toString());
        String line = run.err().strip();
        assertTrue(line.startsWith("longnet attend: --backend cuda: ") && line.contains("libcuda") && !line.contains("\n"),
                line);
        assertNoOutput();
    }

    @Test
    void autoFallsBackToTheCpuAndSaysWhy() {
        org.junit.jupiter.api.Assumptions.assumeFalse(dev.longnet.engine.cuda.CudaBackend.available().available(),
                "this machine has CUDA");
        Cli.Run run = attend("--segments", "64", "--dilations", "1", "--backend", "auto");
        assertEquals(0, run.code(), run.toString());
        assertTrue(run.err().contains("backend: cpu (auto: no NVIDIA driver), kernel cpu-vector"), run.err());
    }

    @Test
    void invalidConfigurationsAndFlagsAreUsageErrors() {
        String[][] cases = {
                {"--segments", "64,128", "--dilations", "1"},
                {"--segments", "0", "--dilations", "1"},
                {"--segments", "64", "--dilations", "0"},
                {"--segments", "64"},
                {"--dilations", "1"},
                {},
                {"--preset", "bench", "--segments", "64", "--dilations", "1"},
                {"--preset", "nope"},
                {"--segments", "64", "--dilations", "1", "--offsets", "sideways"},
                {"--segments", "64", "--dilations", "1", "--scale", "-1"},
                {"--segments", "64", "--dilations", "1", "--out-dtype", "bf16"},
                {"--segments", "64", "--dilations", "1", "--backend", "tpu"},
                {"--segments", "64", "--dilations", "1", "--threads", "-2"},
                {"--segments", "64", "--dilations", "1", "--frobnicate"},
        };
        String[] expected = {
                "must have the same number of entries", "segment length must be >= 1", "dilation rate must be >= 1",
                "--segments needs --dilations", "--dilations needs --segments", "a configuration is needed",
                "use either --preset or --segments/--dilations", "unknown preset 'nope'", "unknown head-offset rule 'sideways'",
                "softmax scale must be a positive finite number", "unsupported dtype 'bf16'", "--backend", "Invalid value for option '--threads'",
                "Unknown option: '--frobnicate'",
        };
        for (int i = 0; i < cases.length; i++) {
            Cli.Run run = attend(cases[i]);
            assertEquals(2, run.code(), run.toString());
            assertTrue(run.oneErrorLine(), run.toString());
            assertTrue(run.err().startsWith("longnet attend: "), run.err());
            assertTrue(run.err().contains(expected[i]), expected[i] + " in " + run.err());
            assertTrue(run.err().strip().endsWith("(see 'longnet attend --help')"), run.err());
        }
        assertNoOutput();
    }

    private void assertNoOutput() {
        assertFalse(Files.exists(out), "no output under the final name");
        for (Path p : AttendCommand.temporaryFiles(out)) assertFalse(Files.exists(p), p + " left behind");
    }

    /**
     * A (2, 150, 3, 8) batch made of q, k and v's rows: --key-padding-mask and --lengths give the same output, each
     * sequence's rows are those of its run alone, bit for bit, and padding rows are zero.
     */
    @Test
    void aPaddedBatchGivesEachSequenceTheBitsOfItsRunAlone() throws IOException {
        int n = N / 2;
        int rowBytes = HEADS * D * 4;
        Path[] batch = new Path[3];
        Path[] files = {q, k, v};
        String[] names = {"q", "k", "v"};
        for (int t = 0; t < 3; t++) {
            batch[t] = Cli.writeNpy(tmp.resolve("b" + names[t] + ".npy"), "<f4", "(2, " + n + ", " + HEADS + ", " + D + ")",
                    data(files[t]));
        }
        byte[] mask = new byte[2 * n];
        for (int i = 97; i < n; i++) mask[n + i] = 1;
        Path maskFile = Cli.writeNpy(tmp.resolve("mask.npy"), "|b1", "(2, " + n + ")", mask);
        String[] levels = {"--segments", "64,128", "--dilations", "1,2", "--quiet"};
        Cli.Run masked = Cli.run(concat(new String[]{"attend", "--q", batch[0].toString(), "--k", batch[1].toString(),
                "--v", batch[2].toString(), "--out", tmp.resolve("masked.npy").toString(), "--key-padding-mask",
                maskFile.toString()}, levels));
        assertEquals(0, masked.code(), masked.toString());
        Cli.Run lengths = Cli.run(concat(new String[]{"attend", "--q", batch[0].toString(), "--k", batch[1].toString(),
                "--v", batch[2].toString(), "--out", tmp.resolve("lengths.npy").toString(), "--lengths", "150,97"}, levels));
        assertEquals(0, lengths.code(), lengths.toString());
        byte[] output = data(tmp.resolve("masked.npy"));
        assertTrue(java.util.Arrays.equals(output, data(tmp.resolve("lengths.npy"))));
        int[] lengthOf = {150, 97};
        for (int b = 0; b < 2; b++) {
            Path[] alone = new Path[3];
            for (int t = 0; t < 3; t++) {
                byte[] all = data(files[t]);
                alone[t] = Cli.writeNpy(tmp.resolve(names[t] + b + ".npy"), "<f4", "(" + lengthOf[b] + ", " + HEADS + ", "
                        + D + ")", java.util.Arrays.copyOfRange(all, b * n * rowBytes, (b * n + lengthOf[b]) * rowBytes));
            }
            Path aloneOut = tmp.resolve("alone" + b + ".npy");
            Cli.Run one = Cli.run(concat(new String[]{"attend", "--q", alone[0].toString(), "--k", alone[1].toString(),
                    "--v", alone[2].toString(), "--out", aloneOut.toString()}, levels));
            assertEquals(0, one.code(), one.toString());
            byte[] expected = data(aloneOut);
            assertTrue(java.util.Arrays.equals(expected, java.util.Arrays.copyOfRange(output, b * n * rowBytes,
                    b * n * rowBytes + expected.length)), "sequence " + b);
            for (int i = b * n * rowBytes + expected.length; i < (b + 1) * n * rowBytes; i++) assertEquals(0, output[i]);
        }

        Cli.Run single = attend("--segments", "64", "--dilations", "1", "--lengths", "100");
        assertEquals(2, single.code(), single.toString());
        assertTrue(lastLine(single.err()).contains("--lengths is for a batch"), single.err());
        mask[n + 120] = 0;
        Cli.writeNpy(maskFile, "|b1", "(2, " + n + ")", mask);
        Cli.Run holes = Cli.run(concat(new String[]{"attend", "--q", batch[0].toString(), "--k", batch[1].toString(),
                "--v", batch[2].toString(), "--out", tmp.resolve("holes.npy").toString(), "--key-padding-mask",
                maskFile.toString()}, levels));
        assertEquals(1, holes.code(), holes.toString());
        assertEquals("longnet attend: " + maskFile + ": sequence 1 has a real row (120) after padding (from row 97);"
                + " padding must come at the end of each sequence", holes.err().strip());
        assertFalse(Files.exists(tmp.resolve("holes.npy")));
    }

    private static byte[] data(Path npy) throws IOException {
        try (NpyFile f = NpyFile.open(npy)) {
            byte[] all = Files.readAllBytes(npy);
            return java.util.Arrays.copyOfRange(all, (int) f.header().dataOffset(), all.length);
        }
    }

    private static String[] concat(String[] a, String[] b) {
        String[] all = java.util.Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, all, a.length, b.length);
        return all;
    }

    private static String lastLine(String text) {
        List<String> lines = text.strip().lines().toList();
        return lines.get(lines.size() - 1);
    }
}
