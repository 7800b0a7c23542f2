package dev.longnet.engine.model;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.longnet.storage.TokenFile;
import dev.longnet.storage.TokenFormat;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ScoreRunTest {
    static final ModelConfig CONFIG = ModelConfig.of(256, 16, 2, 2, 32, new long[]{16, 64}, new int[]{1, 2}, true);
    static final int TOKENS = 1200;

    static LongNetModel model() throws Exception {
        return LongNetModel.load(CONFIG, TensorSource.of(ModelInit.tensors(CONFIG, 21)));
    }

    static ScoreRun.Options options(Path dir, String name) {
        return new ScoreRun.Options(dir.resolve(name + ".npy"), null, dir.resolve(name + ".state"), 100, false,
                Long.MAX_VALUE, 50, LayerAttention.factory(1), 1);
    }

    /** The child JVM: scores with snapshots, printing each position and slowing down so that it can be killed. */
    public static void main(String[] args) throws Exception {
        Path dir = Path.of(args[0]);
        try (TokenFile tokens = TokenFile.open(dir.resolve("tokens.bin"), TokenFormat.BYTES)) {
            ScoreRun.run(model(), tokens, options(dir, "killed"), position -> {
                System.out.println(position);
                System.out.flush();
                try { Thread.sleep(20); } catch (InterruptedException e) { Thread.currentThread().interrupt(); }
            });
        }
    }

    @Test
    void nllMatchesTheModelsLogitsAndSummary(@TempDir Path dir) throws Exception {
        byte[] bytes = new byte[500];
        new Random(4).nextBytes(bytes);
        Files.write(dir.resolve("tokens.bin"), bytes);
        LongNetModel model = model();
        ScoreRun.Result result;
        try (TokenFile tokens = TokenFile.open(dir.resolve("tokens.bin"), TokenFormat.BYTES)) {
            ScoreRun.Options o = options(dir, "nll");
            result = ScoreRun.run(model, tokens, new ScoreRun.Options(o.nllOut(), dir.resolve("h.npy"), o.stateDir(),
                    o.snapshotEvery(), false, Long.MAX_VALUE, 0, o.attention(), 2), p -> { });
        }
        int[] ids = new int[bytes.length];
        for (int i = 0; i < ids.length; i++) ids[i] = bytes[i] & 0xFF;
        float[] logits = LongNetModelTest.forward(model, ids, ids.length);
        float[] nll = readNll(dir.resolve("nll.npy"), ids.length - 1);
        double sum = 0;
        for (int t = 0; t < ids.length - 1; t++) {
            assertEquals(ScoreRun.nll(logits, t * 256, 256, ids[t + 1]), nll[t], 0f);
            sum += nll[t];
        }
        assertEquals(sum, result.nllSum(), 0);
        assertEquals(499, result.predictions());
        assertTrue(result.meanNll() > 4 && result.meanNll() < 7, "random bytes under a random model: ~ln 256");
        assertTrue(Files.notExists(dir.resolve("nll.npy.partial")));
        float[] hidden = new float[ids.length * 16];
        try (ModelStream stream = ModelStream.open(model, LayerAttention.factory(1))) {
            stream.forward(ids, 0, ids.length, null, hidden);
        }
        assertArrayEquals(hidden, readNll(dir.resolve("h.npy"), ids.length * 16), 0f);
    }

    @Test
    void killNineThenResumeGivesTheSameNllFile(@TempDir Path dir) throws Exception {
        byte[] bytes = new byte[TOKENS];
        new Random(5).nextBytes(bytes);
        Files.write(dir.resolve("tokens.bin"), bytes);
        String java = ProcessHandle.current().info().command().orElse("java");
        List<String> command = new ArrayList<>(List.of(java, "--add-modules=jdk.incubator.vector",
                "--enable-native-access=ALL-UNNAMED", "-cp", System.getProperty("java.class.path"),
                ScoreRunTest.class.getName(), dir.toString()));
        Process child = new ProcessBuilder(command).redirectError(ProcessBuilder.Redirect.DISCARD).start();
        long seen = 0;
        try (BufferedReader out = new BufferedReader(new InputStreamReader(child.getInputStream()))) {
            for (String line; seen < 600 && (line = out.readLine()) != null; ) seen = Long.parseLong(line.trim());
        }
        child.destroyForcibly();                                   // SIGKILL
        child.waitFor();
        assertTrue(seen >= 600 && seen < TOKENS, "killed at " + seen);
        assertTrue(Files.exists(dir.resolve("killed.npy.partial")) && Files.notExists(dir.resolve("killed.npy")));

        LongNetModel model = model();
        ScoreRun.Result resumed, clean;
        try (TokenFile tokens = TokenFile.open(dir.resolve("tokens.bin"), TokenFormat.BYTES)) {
            resumed = ScoreRun.run(model, tokens, options(dir, "killed"), p -> { });
            clean = ScoreRun.run(model, tokens, options(dir, "clean"), p -> { });
        }
        assertTrue(resumed.resumedFrom() > 0, "resumed from " + resumed.resumedFrom());
        assertEquals(0, clean.resumedFrom());
        assertArrayEquals(Files.readAllBytes(dir.resolve("clean.npy")), Files.readAllBytes(dir.resolve("killed.npy")));
        assertEquals(clean.nllSum(), resumed.nllSum(), 0);
    }

    static float[] readNll(Path file, int n) throws Exception {
        try (var npy = dev.longnet.storage.NpyFile.open(file); var w = npy.window(0, npy.rows())) {
            float[] x = new float[n];
            for (int i = 0; i < n; i++) x[i] = dev.longnet.storage.DType.F32.get(w.segment(), i);
            return x;
        }
    }
}
