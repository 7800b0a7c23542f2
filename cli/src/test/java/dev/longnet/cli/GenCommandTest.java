package dev.longnet.cli;

import dev.longnet.engine.Generator;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.longnet.storage.DType;
import dev.longnet.storage.NpyFile;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class GenCommandTest {
    @TempDir
    Path tmp;

    private Cli.Run gen(Path dir, String... extra) {
        String[] base = {"gen", "--n", "300", "--heads", "3", "--head-dim", "5", "--seed", "42", "--out", dir.toString(), "--quiet"};
        String[] args = new String[base.length + extra.length];
        System.arraycopy(base, 0, args, 0, base.length);
        System.arraycopy(extra, 0, args, base.length, extra.length);
        return Cli.run(args);
    }

    @Test
    void writesThreeFilesOfTheShapeAndDtype() throws IOException {
        Cli.Run run = gen(tmp.resolve("a"));
        assertEquals(0, run.code(), run.toString());
        assertTrue(run.out().startsWith("gen: wrote q, k, v (300, 3, 5) f32, seed 42"), run.out());
        assertEquals("", run.err(), "--quiet prints nothing on stderr");
        for (String name : Generator.NAMES) {
            try (NpyFile f = NpyFile.open(tmp.resolve("a").resolve(name))) {
                assertArrayEquals(new long[]{300, 3, 5}, f.shape());
                assertEquals(DType.F32, f.dtype());
            }
            assertFalse(Files.exists(NpyFile.partialPath(tmp.resolve("a").resolve(name))));
        }
    }

    @Test
    void theSameSeedGivesTheSameBytesWhateverTheWindowsAndThreads() throws IOException {
        assertEquals(0, gen(tmp.resolve("a")).code());
        // 7 rows of 15 elements: windows start on odd elements, so Box-Muller pairs straddle windows.
        assertEquals(0, gen(tmp.resolve("b"), "--window-rows", "7", "--threads", "1").code());
        assertEquals(0, gen(tmp.resolve("c"), "--window-rows", "1", "--threads", "2").code());
        for (String name : Generator.NAMES) {
            byte[] a = Files.readAllBytes(tmp.resolve("a").resolve(name));
            assertArrayEquals(a, Files.readAllBytes(tmp.resolve("b").resolve(name)), name);
            assertArrayEquals(a, Files.readAllBytes(tmp.resolve("c").resolve(name)), name);
        }
        assertFalse(java.util.Arrays.equals(Files.readAllBytes(tmp.resolve("a").resolve("q.npy")),
                Files.readAllBytes(tmp.resolve("a").resolve("k.npy"))), "q and k are different streams");
    }

    @Test
    void windowsLargerThanAParallelChunkGiveTheSameBytes() throws IOException {
        // 1000 rows of 128 elements is two parallel chunks per window; compare 2 threads with 1.
        String[] args = {"--n", "1000", "--heads", "4", "--head-dim", "32", "--quiet"};
        assertEquals(0, Cli.run(concat(new String[]{"gen", "--out", tmp.resolve("x").toString(), "--threads", "2"}, args)).code());
        assertEquals(0, Cli.run(concat(new String[]{"gen", "--out", tmp.resolve("y").toString(), "--threads", "1",
                "--window-rows", "333"}, args)).code());
        assertArrayEquals(Files.readAllBytes(tmp.resolve("x/v.npy")), Files.readAllBytes(tmp.resolve("y/v.npy")));
    }

    @Test
    void valuesAreTheCounterBasedStandardNormals() throws IOException {
        assertEquals(0, gen(tmp.resolve("a")).code());
        double[] k = Cli.read(tmp.resolve("a/k.npy"));
        for (int i = 0; i < k.length; i++) assertEquals((float) Generator.normal(42, 1, i), (float) k[i], "element " + i);
        double sum = 0;
        double squares = 0;
        for (double x : k) {
            sum += x;
            squares += x * x;
        }
        double mean = sum / k.length;
        assertEquals(0, mean, 0.1);
        assertEquals(1, squares / k.length - mean * mean, 0.1);
    }

    @Test
    void theStreamIsPinned() {
        // Changing the generator would silently change every file users made with a given seed.
        assertEquals(-0.25068906f, (float) Generator.normal(0, 0, 0));
        assertEquals(-2.0561502f, (float) Generator.normal(0, 0, 1));
        assertEquals(0.23099223f, (float) Generator.normal(0, 0, 1_000_001));
        assertEquals(-0.8076912f, (float) Generator.normal(0, 1, 1));
        assertEquals(1.4235612f, (float) Generator.normal(0, 2, 2));
    }

    @Test
    void aDifferentSeedGivesDifferentValues() throws IOException {
        assertEquals(0, gen(tmp.resolve("a")).code());
        assertEquals(0, Cli.run("gen", "--n", "300", "--heads", "3", "--head-dim", "5", "--seed", "43",
                "--out", tmp.resolve("b").toString(), "--quiet").code());
        assertFalse(java.util.Arrays.equals(Cli.read(tmp.resolve("a/q.npy")), Cli.read(tmp.resolve("b/q.npy"))));
    }

    @Test
    void f16RoundsTheSameValues() throws IOException {
        assertEquals(0, gen(tmp.resolve("a")).code());
        assertEquals(0, gen(tmp.resolve("h"), "--dtype", "f16").code());
        double[] full = Cli.read(tmp.resolve("a/q.npy"));
        try (NpyFile f = NpyFile.open(tmp.resolve("h/q.npy"))) {
            assertEquals(DType.F16, f.dtype());
        }
        double[] half = Cli.read(tmp.resolve("h/q.npy"));
        for (int i = 0; i < full.length; i++) {
            assertEquals(Float.float16ToFloat(Float.floatToFloat16((float) full[i])), (float) half[i], "element " + i);
        }
    }

    @Test
    void sizesAcceptPowersAndSuffixes() throws IOException {
        Cli.Run run = Cli.run("gen", "--n", "2^10", "--heads", "1", "--head-dim", "1k", "--out", tmp.toString(),
                "--quiet", "--json");
        assertEquals(0, run.code(), run.toString());
        try (NpyFile f = NpyFile.open(tmp.resolve("q.npy"))) {
            assertArrayEquals(new long[]{1024, 1, 1024}, f.shape());
        }
        assertTrue(run.out().strip().startsWith("{\"tokens\":1024,"), run.out());
        assertTrue(run.out().contains("\"peakRssBytes\":"), run.out());
    }

    @Test
    void existingFilesAreRefusedUnlessForced() throws IOException {
        assertEquals(0, gen(tmp).code());
        byte[] before = Files.readAllBytes(tmp.resolve("q.npy"));
        Cli.Run refused = Cli.run("gen", "--n", "10", "--heads", "1", "--head-dim", "2", "--out", tmp.toString());
        assertEquals(1, refused.code(), refused.toString());
        assertTrue(refused.oneErrorLine(), refused.toString());
        assertTrue(refused.err().startsWith("longnet gen: " + tmp.resolve("q.npy") + ": output exists (use --force"), refused.err());
        assertArrayEquals(before, Files.readAllBytes(tmp.resolve("q.npy")));
        Cli.Run forced = Cli.run("gen", "--n", "10", "--heads", "1", "--head-dim", "2", "--out", tmp.toString(),
                "--force", "--quiet");
        assertEquals(0, forced.code(), forced.toString());
        try (NpyFile f = NpyFile.open(tmp.resolve("q.npy"))) {
            assertArrayEquals(new long[]{10, 1, 2}, f.shape());
        }
    }

    @Test
    void badFlagsAreUsageErrorsOnOneLine() throws IOException {
        String out = tmp.toString();
        String[][] cases = {
                {"gen", "--n", "0", "--heads", "1", "--head-dim", "1", "--out", out},
                {"gen", "--n", "abc", "--heads", "1", "--head-dim", "1", "--out", out},
                {"gen", "--n", "8", "--heads", "1", "--head-dim", "1", "--out", out, "--dtype", "bf16"},
                {"gen", "--n", "8", "--heads", "1", "--head-dim", "1", "--out", out, "--threads", "0"},
                {"gen", "--n", "8", "--heads", "1", "--out", out},
        };
        String[] expected = {"--n must be >= 1", "'abc' is not a valid count", "unsupported dtype 'bf16'",
                "--threads must be >= 1", "Missing required option: '--head-dim=D'"};
        for (int i = 0; i < cases.length; i++) {
            Cli.Run run = Cli.run(cases[i]);
            assertEquals(2, run.code(), run.toString());
            assertTrue(run.oneErrorLine(), run.toString());
            assertTrue(run.err().startsWith("longnet gen: "), run.err());
            assertTrue(run.err().contains(expected[i]), run.err());
        }
        try (var files = Files.list(tmp)) {
            assertEquals(0, files.count(), "nothing written on a usage error");
        }
    }

    @Test
    void anOutputThatIsAFileIsAFailure() throws IOException {
        Path file = Files.writeString(tmp.resolve("plain"), "x");
        Cli.Run run = Cli.run("gen", "--n", "8", "--heads", "1", "--head-dim", "1", "--out", file.toString());
        assertEquals(1, run.code(), run.toString());
        assertEquals("longnet gen: " + file + ": exists and is not a directory", run.err().strip());
    }

    private static String[] concat(String[] a, String[] b) {
        String[] all = new String[a.length + b.length];
        System.arraycopy(a, 0, all, 0, a.length);
        System.arraycopy(b, 0, all, a.length, b.length);
        return all;
    }
}
