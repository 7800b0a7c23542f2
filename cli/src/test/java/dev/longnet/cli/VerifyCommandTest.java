package dev.longnet.cli;

import dev.longnet.engine.Verifier;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.longnet.storage.DType;
import dev.longnet.storage.NpyFile;
import dev.longnet.storage.RowWindow;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class VerifyCommandTest {
    @TempDir
    Path tmp;
    Path out;

    static final String[] CONFIG = {"--segments", "64,256", "--dilations", "1,4", "--causal"};

    @BeforeEach
    void attend() {
        assertEquals(0, Cli.run("gen", "--n", "500", "--heads", "2", "--head-dim", "16", "--out", tmp.toString(),
                "--quiet").code());
        out = tmp.resolve("out.npy");
        assertEquals(0, run("attend", "--quiet").code());
    }

    private Cli.Run run(String command, String... extra) {
        List<String> args = new ArrayList<>(List.of(command, "--q", tmp.resolve("q.npy").toString(),
                "--k", tmp.resolve("k.npy").toString(), "--v", tmp.resolve("v.npy").toString(), "--out", out.toString()));
        args.addAll(List.of(CONFIG));
        args.addAll(List.of(extra));
        return Cli.run(args.toArray(String[]::new));
    }

    @Test
    void aCorrectOutputPasses() {
        Cli.Run run = run("verify");
        assertEquals(0, run.code(), run.toString());
        assertTrue(run.out().startsWith("verify: " + out + ": 64 positions x 2 heads, max abs error "), run.out());
        assertTrue(run.out().strip().endsWith("(tolerance 0.000100): OK"), run.out());
    }

    @Test
    void moreRowsThanPositionsChecksEveryPosition() {
        Cli.Run run = run("verify", "--rows", "1k", "--json");
        assertEquals(0, run.code(), run.toString());
        String json = run.out().strip();
        assertTrue(json.startsWith("{\"ok\":true,\"positions\":500,\"heads\":2,\"maxAbsError\":"), json);
        assertTrue(json.contains("\"tolerance\":1.0E-4") && json.contains("\"config\":{"), json);
    }

    @Test
    void aWrongLastRowFails() throws IOException {
        try (NpyFile f = NpyFile.openWritable(out); RowWindow last = f.window(499, 1)) {
            DType.F32.set(last.segment(), 17, DType.F32.get(last.segment(), 17) + 0.01f);   // head 1, element 1
        }
        Cli.Run run = run("verify", "--rows", "2");
        assertEquals(1, run.code(), run.toString());
        assertTrue(run.out().contains("2 positions x 2 heads") && run.out().strip().endsWith("FAILED"), run.out());
        assertTrue(run.oneErrorLine(), run.toString());
        assertTrue(run.err().startsWith("longnet verify: " + out + ": max abs error 0.0100 at position 499 head 1 exceeds"),
                run.err());
        assertEquals(0, run("verify", "--rows", "2", "--tolerance", "0.02").code(), "a looser tolerance accepts it");
    }

    @Test
    void aDifferentConfigurationIsCaught() {
        List<String> args = new ArrayList<>(List.of("verify", "--q", tmp.resolve("q.npy").toString(),
                "--k", tmp.resolve("k.npy").toString(), "--v", tmp.resolve("v.npy").toString(), "--out", out.toString(),
                "--segments", "64,256", "--dilations", "1,4"));                    // not causal
        Cli.Run run = Cli.run(args.toArray(String[]::new));
        assertEquals(1, run.code(), run.toString());
        assertTrue(run.oneErrorLine() && run.err().contains(out + " was computed with other levels or options than these"
                + " (the run's: segments=64,256 dilations=1,4 heads=2 headDim=16 causal=true"), run.err());
    }

    @Test
    void withoutLevelFlagsTheRunsOwnConfigurationIsChecked() throws java.io.IOException {
        List<String> args = new ArrayList<>(List.of("verify", "--q", tmp.resolve("q.npy").toString(),
                "--k", tmp.resolve("k.npy").toString(), "--v", tmp.resolve("v.npy").toString(), "--out", out.toString(),
                "--rows", "8"));
        Cli.Run run = Cli.run(args.toArray(String[]::new));
        assertEquals(0, run.code(), run.toString());
        assertTrue(run.out().contains(": 8 positions x 2 heads") && run.out().contains("OK"), run.out());
        // without the record, verify needs the flags again
        java.nio.file.Files.delete(RunRecord.of(out));
        Cli.Run noRecord = Cli.run(args.toArray(String[]::new));
        assertEquals(2, noRecord.code(), noRecord.toString());
        assertTrue(noRecord.err().contains("a configuration is needed"), noRecord.err());
    }

    @Test
    void samplesIncludeTheEndsAndAreSeeded() {
        long[] s = Verifier.sample(1_000_000, 16, 3);
        assertEquals(16, s.length);
        assertEquals(0, s[0]);
        assertEquals(999_999, s[15]);
        assertArrayEquals(s, Verifier.sample(1_000_000, 16, 3));
        assertArrayEquals(new long[]{0, 1, 2}, Verifier.sample(3, 16, 3));
    }

    @Test
    void errorsAreOneLine() {
        Cli.Run badRows = run("verify", "--rows", "0");
        assertEquals(2, badRows.code(), badRows.toString());
        assertTrue(badRows.err().contains("--rows must be >= 1") && badRows.oneErrorLine(), badRows.err());
        out = tmp.resolve("missing.npy");
        Cli.Run missing = run("verify");
        assertEquals(1, missing.code(), missing.toString());
        assertEquals("longnet verify: " + out + ": no such file or directory", missing.err().strip());
    }
}
