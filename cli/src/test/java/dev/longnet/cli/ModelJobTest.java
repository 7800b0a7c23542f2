package dev.longnet.cli;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.longnet.engine.job.JobLock;
import dev.longnet.storage.TokenFile;
import dev.longnet.storage.TokenFormat;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Random;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** score, generate, tokens import and model init keep the job layer's guarantees (issue 21). */
class ModelJobTest {
    @TempDir
    Path tmp;
    Path model;
    Path text;

    @BeforeEach
    void init() throws Exception {
        model = model("m.safetensors", 3);
        text = tmp.resolve("text.txt");
        Files.writeString(text, "The quick brown fox jumps over the lazy dog. ".repeat(20));
    }

    private Path model(String name, int seed) {
        Path file = tmp.resolve(name);
        Cli.Run run = Cli.run("model", "init", "--vocab", "256", "--dim", "16", "--heads", "2", "--layers", "2", "--ffn",
                "32", "--segments", "8,32", "--dilations", "1,2", "--seed", "" + seed, "--out", file.toString());
        assertEquals(0, run.code(), run.toString());
        return file;
    }

    /** 10000 i32 tokens below 256, but id 999 (outside the vocabulary) at 9000 unless {@code valid}. */
    private Path tokens(String name, boolean valid) throws Exception {
        int[] ids = new int[10000];
        Random r = new Random(5);
        for (int i = 0; i < ids.length; i++) ids[i] = r.nextInt(256);
        if (!valid) ids[9000] = 999;
        Path file = tmp.resolve(name);
        TokenFile.write(file, TokenFormat.I32, ids);
        return file;
    }

    /** A score run stopped by a bad token after its snapshot at 8192: nll.npy.partial and nll.npy.state stay. */
    private Path interruptedScore(Path tokens, Path nll) {
        Cli.Run first = Cli.run("score", "--model", model.toString(), "--tokens", tokens.toString(), "--nll-out",
                nll.toString(), "--snapshot-every", "4096", "--threads", "1", "--quiet");
        assertEquals(1, first.code(), first.toString());
        assertTrue(Files.isDirectory(tmp.resolve("nll.npy.state")), first.toString());
        return nll;
    }

    @Test
    void scoreResumedWithAnotherModelOfTheSameConfigIsRefused() throws Exception {
        Path bad = tokens("t.i32", false);
        Path nll = interruptedScore(bad, tmp.resolve("nll.npy"));
        tokens("t.i32", true);
        Path other = model("other.safetensors", 4);
        Cli.Run run = Cli.run("score", "--model", other.toString(), "--tokens", bad.toString(), "--nll-out",
                nll.toString(), "--snapshot-every", "4096", "--threads", "1", "--quiet");
        assertEquals(1, run.code(), run.toString());
        assertTrue(run.oneErrorLine() && run.err().contains("model") && run.err().contains("--restart"), run.err());
        assertFalse(Files.exists(nll));
    }

    @Test
    void scoreResumedWithEditedTokensIsRefused() throws Exception {
        Path bad = tokens("t.i32", false);
        Path nll = interruptedScore(bad, tmp.resolve("nll.npy"));
        tokens("t.i32", true);                                    // same length, one id changed
        Cli.Run run = Cli.run("score", "--model", model.toString(), "--tokens", bad.toString(), "--nll-out",
                nll.toString(), "--snapshot-every", "4096", "--threads", "1", "--quiet");
        assertEquals(1, run.code(), run.toString());
        assertTrue(run.oneErrorLine() && run.err().contains("tokens") && run.err().contains("--restart"), run.err());
        Cli.Run restart = Cli.run("score", "--model", model.toString(), "--tokens", bad.toString(), "--nll-out",
                nll.toString(), "--snapshot-every", "4096", "--threads", "1", "--quiet", "--restart");
        assertEquals(0, restart.code(), restart.toString());
    }

    @Test
    void statReadsAScoreState() throws Exception {
        Path nll = interruptedScore(tokens("t.i32", false), tmp.resolve("nll.npy"));
        Cli.Run stat = Cli.run("stat", nll.toString());                   // NLL-OUT finds its default state
        assertEquals(0, stat.code(), stat.toString());
        assertTrue(stat.out().startsWith(tmp.resolve("nll.npy.state") + ": score state, stopped"), stat.out());
        assertTrue(stat.out().contains("tokens done      8,192 / 10,000 (81.9%) at the last snapshot"), stat.out());
        Path state = tmp.resolve("nll.npy.state");
        try (JobLock held = JobLock.acquire(state.resolve("lock"), state)) {
            Cli.Run running = Cli.run("stat", state.toString(), "--json");
            assertEquals(0, running.code(), running.toString());
            assertTrue(running.out().contains("\"kind\":\"score\",\"state\":\"running\",\"pid\":"
                    + ProcessHandle.current().pid()) && running.out().contains("\"tokensDone\":8192"), running.out());
        }
    }

    @Test
    void scoreOfAnOutputHeldByAnotherRunIsRefused() throws Exception {
        Path nll = tmp.resolve("nll.npy");
        try (JobLock held = JobLock.acquire(tmp.resolve("nll.npy.run").resolve("lock"), nll)) {
            Cli.Run run = Cli.run("score", "--model", model.toString(), "--tokens", text.toString(), "--nll-out",
                    nll.toString(), "--threads", "1", "--quiet");
            assertEquals(1, run.code(), run.toString());
            assertTrue(run.oneErrorLine() && run.err().contains("another run"), run.err());
        }
        assertFalse(Files.exists(nll));
    }

    @Test
    void scoreWithAStateDirectoryNamedDotExitsZero() throws Exception {
        Path state = tmp.resolve("s");
        Files.createDirectories(state);
        Path nll = tmp.resolve("nll.npy");
        Cli.Run run = Cli.run("score", "--model", model.toString(), "--tokens", text.toString(), "--nll-out",
                nll.toString(), "--state", state.resolve(".").toString(), "--threads", "1", "--quiet");
        assertEquals(0, run.code(), run.toString());
        assertTrue(Files.exists(nll));
    }

    @Test
    void nanWeightsAreAnErrorNotAnOutput() throws Exception {
        Path nan = tmp.resolve("nan.safetensors");
        byte[] bytes = Files.readAllBytes(model);
        long headerLength = ByteBuffer.wrap(bytes, 0, 8).order(ByteOrder.LITTLE_ENDIAN).getLong();
        ByteBuffer data = ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN);
        for (int at = (int) (8 + headerLength); at + 4 <= bytes.length; at += 4) data.putFloat(at, Float.NaN);
        Files.write(nan, bytes);
        Path nll = tmp.resolve("nll.npy");
        Cli.Run score = Cli.run("score", "--model", nan.toString(), "--tokens", text.toString(), "--nll-out",
                nll.toString(), "--threads", "1", "--quiet");
        assertEquals(1, score.code(), score.toString());
        assertTrue(score.oneErrorLine() && score.err().contains(nan.toString()) && !score.err().contains("of row"),
                score.err());
        assertFalse(Files.exists(nll));
        Path prompt = tmp.resolve("p.i32");
        TokenFile.write(prompt, TokenFormat.I32, new int[]{84, 104, 101});
        Cli.Run generate = Cli.run("generate", "--model", nan.toString(), "--prompt", prompt.toString(), "--max-new",
                "5", "--out", tmp.resolve("g.i32").toString(), "--threads", "1", "--quiet");
        assertEquals(1, generate.code(), generate.toString());
        assertTrue(generate.oneErrorLine() && generate.err().contains(nan.toString()), generate.err());
        assertFalse(Files.exists(tmp.resolve("g.i32")));
    }

    @Test
    void anLztWithADamagedMagicIsRefusedNotReadAsBytes() throws Exception {
        Path lzt = tmp.resolve("t.lzt");
        Cli.Run run = Cli.run("tokens", "import", text.toString(), "--format", "bytes", "--out", lzt.toString());
        assertEquals(0, run.code(), run.toString());
        byte[] bytes = Files.readAllBytes(lzt);
        bytes[0] ^= 1;
        Files.write(lzt, bytes);
        Cli.Run score = Cli.run("score", "--model", model.toString(), "--tokens", lzt.toString(), "--threads", "1",
                "--quiet");
        assertEquals(1, score.code(), score.toString());
        assertTrue(score.oneErrorLine() && score.err().contains(lzt.toString()) && score.err().contains(".lzt"),
                score.err());
    }

    @Test
    void forceNeverLetsACommandOverwriteItsInput() throws Exception {
        byte[] before = Files.readAllBytes(text);
        Cli.Run score = Cli.run("score", "--model", model.toString(), "--tokens", text.toString(), "--nll-out",
                text.toString(), "--force", "--threads", "1", "--quiet");
        assertTrue(score.code() != 0 && score.err().contains("overwrite"), score.toString());
        Cli.Run scoreModel = Cli.run("score", "--model", model.toString(), "--tokens", text.toString(), "--nll-out",
                model.toString(), "--force", "--threads", "1", "--quiet");
        assertTrue(scoreModel.code() != 0 && scoreModel.err().contains("overwrite"), scoreModel.toString());
        Cli.Run generate = Cli.run("generate", "--model", model.toString(), "--prompt", text.toString(), "--max-new",
                "3", "--out", text.toString(), "--force", "--threads", "1", "--quiet");
        assertTrue(generate.code() != 0 && generate.err().contains("overwrite"), generate.toString());
        Cli.Run tokens = Cli.run("tokens", "import", text.toString(), "--format", "bytes", "--out", text.toString(),
                "--force");
        assertTrue(tokens.code() != 0 && tokens.err().contains("overwrite"), tokens.toString());
        assertArrayEquals(before, Files.readAllBytes(text));
        assertTrue(Files.exists(model));
    }

    @Test
    void messagesSayWhatIsWrong() throws Exception {
        Path prompt = tmp.resolve("p.i32");
        TokenFile.write(prompt, TokenFormat.I32, new int[]{84, 104, 101});
        Cli.Run generate = Cli.run("generate", "--model", model.toString(), "--prompt", prompt.toString(), "--max-new",
                "" + (Integer.MAX_VALUE - 2), "--threads", "1", "--quiet");
        assertTrue(generate.code() != 0 && generate.oneErrorLine() && generate.err().contains("--max-new")
                && !generate.err().contains("prompt too long"), generate.toString());
        Cli.Run init = Cli.run("model", "init", "--vocab", "33554432", "--dim", "64", "--heads", "2", "--layers", "2",
                "--ffn", "128", "--segments", "8", "--dilations", "1", "--out", tmp.resolve("big.safetensors").toString());
        assertTrue(init.code() != 0 && init.oneErrorLine() && init.err().contains("--vocab")
                && !init.err().contains("NegativeArraySize"), init.toString());
        Path dir = Files.createDirectories(tmp.resolve("adir"));
        Cli.Run toDir = Cli.run("tokens", "import", text.toString(), "--format", "bytes", "--out", dir.toString(), "--force");
        assertTrue(toDir.code() != 0 && toDir.oneErrorLine() && toDir.err().contains(dir.toString())
                && !toDir.err().contains("I/O error"), toDir.toString());
    }

    @Test
    void aModelWhoseStateDoesNotFitInMemoryIsRefusedBeforeItRuns() throws Exception {
        System.setProperty(dev.longnet.engine.job.MemoryBudget.AVAILABLE_PROPERTY, "1024");
        try {
            Cli.Run score = Cli.run("score", "--model", model.toString(), "--tokens", text.toString(), "--threads", "1",
                    "--quiet");
            assertEquals(1, score.code(), score.toString());
            assertTrue(score.oneErrorLine() && score.err().contains("memory"), score.toString());
        } finally {
            System.clearProperty(dev.longnet.engine.job.MemoryBudget.AVAILABLE_PROPERTY);
        }
    }
}
