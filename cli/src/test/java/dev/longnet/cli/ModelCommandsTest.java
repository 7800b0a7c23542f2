package dev.longnet.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.longnet.engine.model.LayerAttention;
import dev.longnet.engine.model.LongNetModel;
import dev.longnet.engine.model.ModelFile;
import dev.longnet.engine.model.ModelStream;
import dev.longnet.storage.TokenFile;
import dev.longnet.storage.TokenFormat;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ModelCommandsTest {
    @TempDir
    Path tmp;
    Path model;
    Path text;

    @BeforeEach
    void init() throws Exception {
        model = tmp.resolve("m.safetensors");
        Cli.Run run = Cli.run("model", "init", "--vocab", "256", "--dim", "16", "--heads", "2", "--layers", "2", "--ffn",
                "32", "--segments", "8,32", "--dilations", "1,2", "--xpos", "--seed", "3", "--out", model.toString());
        assertEquals(0, run.code(), run.toString());
        text = tmp.resolve("text.txt");
        Files.writeString(text, "The quick brown fox jumps over the lazy dog. ".repeat(20));
    }

    @Test
    void initTakesCountsAsOtherCommandsDo() throws Exception {
        Path other = tmp.resolve("m2.safetensors");
        Cli.Run run = Cli.run("model", "init", "--vocab", "2^8", "--dim", "2^4", "--heads", "2", "--layers", "2", "--ffn",
                "2^5", "--segments", "2^3,2^5", "--dilations", "1,2", "--xpos", "--seed", "3", "--out", other.toString());
        assertEquals(0, run.code(), run.toString());
        assertEquals(-1L, Files.mismatch(model, other), "the same model as with plain numbers");
        run = Cli.run("model", "init", "--vocab", "2^40", "--dim", "16", "--heads", "2", "--layers", "2", "--ffn", "32",
                "--segments", "8", "--dilations", "1", "--out", tmp.resolve("x.safetensors").toString());
        assertEquals(2, run.code(), run.toString());
        assertTrue(run.oneErrorLine() && run.err().contains("'2^40' is not a valid count: too large"), run.err());
    }

    @Test
    void infoShowsTheConfiguration() {
        Cli.Run run = Cli.run("info", model.toString());
        assertEquals(0, run.code(), run.toString());
        assertTrue(run.out().contains("model: LongNet decoder, vocab=256 dim=16 heads=2 layers=2"), run.out());
        assertTrue(run.out().contains("layers.1.self_attn.xpos.scale: shape (4,)"), run.out());
    }

    @Test
    void scoreWritesTheNllFileAndSummary() throws Exception {
        Path nll = tmp.resolve("nll.npy");
        Cli.Run run = Cli.run("score", "--model", model.toString(), "--tokens", text.toString(), "--nll-out", nll.toString(),
                "--json", "--threads", "1");
        assertEquals(0, run.code(), run.toString());
        assertTrue(run.out().contains("\"tokens\":900"), run.out());
        double[] values = Cli.read(nll);
        assertEquals(899, values.length);
        double sum = 0;
        for (double v : values) sum += v;
        assertTrue(run.out().contains("\"meanNll\":" + (sum / 899)), run.out() + " vs " + sum / 899);
        assertTrue(Files.notExists(tmp.resolve("nll.npy.state")));
    }

    @Test
    void generateContinuesAsTheModelPredicts() throws Exception {
        Path prompt = tmp.resolve("p.i32");
        TokenFile.write(prompt, TokenFormat.I32, new int[]{84, 104, 101});
        Path out = tmp.resolve("g.i32");
        Cli.Run run = Cli.run("generate", "--model", model.toString(), "--prompt", prompt.toString(), "--max-new", "50",
                "--out", out.toString(), "--threads", "1", "--quiet");
        assertEquals(0, run.code(), run.toString());
        int[] generated;
        try (TokenFile f = TokenFile.open(out, null)) {
            generated = new int[(int) f.count()];
            f.read(0, generated, 0, generated.length);
        }
        assertEquals(50, generated.length);
        // Greedy: each id is the argmax of a full forward over everything before it.
        LongNetModel m = ModelFile.load(model);
        int[] all = new int[53];
        all[0] = 84; all[1] = 104; all[2] = 101;
        System.arraycopy(generated, 0, all, 3, 50);
        float[] logits = new float[53 * 256];
        try (ModelStream s = ModelStream.open(m, LayerAttention.factory(1))) {
            s.forward(all, 0, 53, logits, null);
        }
        for (int p = 2; p < 52; p++) {
            int best = 0;
            for (int v = 1; v < 256; v++) if (logits[p * 256 + v] > logits[p * 256 + best]) best = v;
            assertEquals(best, all[p + 1], "token " + (p + 1));
        }
        byte[] bytes = new byte[50];
        for (int i = 0; i < 50; i++) bytes[i] = (byte) generated[i];
        assertEquals(new String(bytes, StandardCharsets.UTF_8) + System.lineSeparator(), run.out());
    }

    @Test
    void generateTakesThePromptAsText() throws Exception {
        Path prompt = tmp.resolve("p.txt");
        Files.writeString(prompt, "Thé");
        Cli.Run file = Cli.run("generate", "--model", model.toString(), "--prompt", prompt.toString(), "--max-new", "20",
                "--threads", "1", "--quiet");
        Cli.Run text = Cli.run("generate", "--model", model.toString(), "--prompt-text", "Thé", "--max-new", "20",
                "--threads", "1", "--quiet");
        assertEquals(0, text.code(), text.toString());
        assertEquals(file.out(), text.out());
        Path out = tmp.resolve("g.bin");
        assertEquals(0, Cli.run("generate", "--model", model.toString(), "--prompt-text", "Thé", "--max-new", "20",
                "--threads", "1", "--quiet", "--out", out.toString()).code());
        assertEquals(20, Files.size(out), "the ids as bytes, the prompt's format");

        Cli.Run both = Cli.run("generate", "--model", model.toString(), "--prompt", prompt.toString(), "--prompt-text",
                "x", "--max-new", "1");
        assertEquals(2, both.code(), both.toString());
        assertTrue(both.oneErrorLine() && both.err().contains("--prompt FILE or --prompt-text TEXT"), both.err());
        Cli.Run none = Cli.run("generate", "--model", model.toString(), "--max-new", "1");
        assertEquals(2, none.code(), none.toString());
    }

    @Test
    void generatedBytesArePrintableOnATerminal() {
        byte[] bytes = {'a', '\n', 0x1b, '[', '2', 'J', 0x07, '\t', (byte) 0xc3, (byte) 0xa9, (byte) 0xff, '\\',
                (byte) 0xe2, (byte) 0x82, 'b', (byte) 0xc0, (byte) 0x80, 0x7f};
        assertEquals("a\n\\x1b[2J\\x07\té\\xff\\\\\\xe2\\x82b\\xc0\\x80\\x7f", GenerateCommand.printable(bytes));
    }

    @Test
    void tokensImportWritesAnLztThatScoresTheSame() throws Exception {
        Path lzt = tmp.resolve("t.lzt");
        Cli.Run run = Cli.run("tokens", "import", text.toString(), "--format", "bytes", "--out", lzt.toString(), "--chunk", "100");
        assertEquals(0, run.code(), run.toString());
        assertTrue(run.out().contains("900 tokens"), run.out());
        Cli.Run a = Cli.run("score", "--model", model.toString(), "--tokens", lzt.toString(), "--json", "--threads", "1");
        Cli.Run b = Cli.run("score", "--model", model.toString(), "--tokens", text.toString(), "--json", "--threads", "1");
        assertEquals(a.out().replaceAll("\"(tokensPerSecond|seconds|peakRssBytes)\":[^,}]*", ""),
                b.out().replaceAll("\"(tokensPerSecond|seconds|peakRssBytes)\":[^,}]*", ""));
    }

    @Test
    void tokensImportDetectsTheFormatAsScoreDoes() throws Exception {
        Path ids = tmp.resolve("ids.i32");
        TokenFile.write(ids, TokenFormat.I32, new int[]{70000, 1, 2, 3});
        Path lzt = tmp.resolve("ids.lzt");
        Cli.Run run = Cli.run("tokens", "import", ids.toString(), "--out", lzt.toString());
        assertEquals(0, run.code(), run.toString());
        assertTrue(run.out().contains("4 tokens"), run.out());
        int[] read = new int[4];
        try (TokenFile f = TokenFile.open(lzt, null)) {
            assertEquals(4, f.count());
            f.read(0, read, 0, 4);
        }
        assertEquals(70000, read[0]);
        Cli.Run text = Cli.run("tokens", "import", this.text.toString(), "--out", tmp.resolve("t.lzt").toString());
        assertTrue(text.code() == 0 && text.out().contains("900 tokens"), text.toString());
        Cli.Run again = Cli.run("tokens", "import", lzt.toString(), "--out", tmp.resolve("again.lzt").toString());
        assertEquals(1, again.code(), again.toString());
        assertTrue(again.oneErrorLine() && again.err().contains("is already an .lzt container"), again.err());
    }

    @Test
    void badInputsGiveOneLineErrors() throws Exception {
        Path bad = tmp.resolve("bad.u16");
        Files.write(bad, new byte[]{1, 2, 3});
        Cli.Run run = Cli.run("score", "--model", model.toString(), "--tokens", bad.toString(), "--quiet");
        assertEquals(1, run.code(), run.toString());
        assertTrue(run.oneErrorLine() && run.err().contains("not a whole number of 2-byte token ids"), run.err());

        Path big = tmp.resolve("big.i32");
        TokenFile.write(big, TokenFormat.I32, new int[]{1, 2, 300});
        run = Cli.run("score", "--model", model.toString(), "--tokens", big.toString(), "--quiet");
        assertEquals(1, run.code(), run.toString());
        assertTrue(run.oneErrorLine() && run.err().contains("token id 300"), run.err());

        run = Cli.run("score", "--model", text.toString(), "--tokens", text.toString());
        assertEquals(1, run.code(), run.toString());
        assertTrue(run.oneErrorLine(), run.err());

        run = Cli.run("model", "init", "--vocab", "256", "--dim", "16", "--heads", "3", "--layers", "2", "--ffn", "32",
                "--segments", "8", "--dilations", "1", "--out", tmp.resolve("x.safetensors").toString());
        assertEquals(2, run.code(), run.toString());
        assertTrue(run.oneErrorLine() && run.err().contains("not a multiple of decoder_attention_heads 3"), run.err());

        run = Cli.run("generate", "--model", model.toString(), "--prompt", text.toString(), "--max-new", "1",
                "--temperature", "-1");
        assertEquals(2, run.code(), run.toString());

        run = Cli.run("model", "init", "--vocab", "256", "--dim", "16", "--heads", "2", "--layers", "2", "--ffn", "32",
                "--segments", "8", "--dilations", "1", "--out", model.toString());
        assertEquals(1, run.code(), run.toString());
        assertTrue(run.oneErrorLine() && run.err().contains("exists (use --force to replace it)"), run.err());
    }
}
