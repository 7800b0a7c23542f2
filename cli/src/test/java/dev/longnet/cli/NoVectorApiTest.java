package dev.longnet.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.longnet.storage.ChildJvm;
import dev.longnet.storage.NpyFile;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A JVM without the Vector API (no --add-modules jdk.incubator.vector, as a library user's may be): attention runs
 * on the scalar kernel, says so once, and agrees with the vector kernel to float rounding; the language model,
 * which has no scalar path, is refused in one line naming the flag.
 */
class NoVectorApiTest {
    static final String VECTOR_FLAG = "--add-modules=jdk.incubator.vector";

    @TempDir
    Path tmp;

    private record Child(int code, List<String> err) { }

    private Child run(String... args) throws Exception {
        List<String> command = new ArrayList<>(ChildJvm.command(List.of("-Xmx256m", "-XX:+UseSerialGC"),
                "dev.longnet.cli.Main", List.of(args)));
        assertTrue(command.remove(VECTOR_FLAG), command.toString());
        assertFalse(command.contains(VECTOR_FLAG), command.toString());
        ProcessBuilder builder = new ProcessBuilder(command).redirectError(tmp.resolve("err").toFile())
                .redirectOutput(tmp.resolve("out").toFile());
        builder.environment().remove("JAVA_TOOL_OPTIONS");
        Process child = builder.start();
        assertTrue(child.waitFor(120, TimeUnit.SECONDS), "the child did not end");
        return new Child(child.exitValue(), Files.readAllLines(tmp.resolve("err")));
    }

    @Test
    void attentionRunsOnTheScalarKernelAndTheModelIsRefusedNamingTheFlag() throws Exception {
        assertEquals(0, Cli.run("gen", "--n", "700", "--heads", "3", "--head-dim", "8", "--dtype", "f16", "--seed", "5",
                "--out", tmp.toString()).code());
        List<String> attend = List.of("attend", "--q", tmp.resolve("q.npy").toString(), "--k", tmp.resolve("k.npy").toString(),
                "--v", tmp.resolve("v.npy").toString(), "--segments", "64,256", "--dilations", "1,2", "--causal",
                "--out-dtype", "f32");
        List<String> scalarArgs = new ArrayList<>(attend);
        scalarArgs.addAll(List.of("--out", tmp.resolve("scalar.npy").toString()));
        Child scalar = run(scalarArgs.toArray(String[]::new));
        assertEquals(0, scalar.code(), String.join("\n", scalar.err()));
        assertEquals(1, scalar.err().stream().filter(l -> l.contains("the Vector API is not in this JVM")).count(),
                String.join("\n", scalar.err()));
        assertTrue(scalar.err().stream().anyMatch(l -> l.contains("kernel cpu-scalar")), String.join("\n", scalar.err()));

        List<String> vectorArgs = new ArrayList<>(attend);
        vectorArgs.addAll(List.of("--out", tmp.resolve("vector.npy").toString(), "--quiet"));
        assertEquals(0, Cli.run(vectorArgs.toArray(String[]::new)).code());
        try (NpyFile a = NpyFile.open(tmp.resolve("scalar.npy")); NpyFile b = NpyFile.open(tmp.resolve("vector.npy"));
             var wa = a.window(0, 700); var wb = b.window(0, 700)) {
            double max = 0;
            for (long i = 0; i < 700L * 3 * 8; i++) {
                max = Math.max(max, Math.abs(a.dtype().get(wa.segment(), i) - b.dtype().get(wb.segment(), i)));
            }
            assertTrue(max < 1e-5, "scalar and vector kernels differ by " + max);
        }

        assertEquals(0, Cli.run("model", "init", "--vocab", "256", "--dim", "16", "--heads", "2", "--layers", "1",
                "--ffn", "32", "--segments", "8", "--dilations", "1", "--out", tmp.resolve("m.safetensors").toString(),
                "--quiet").code());
        Files.writeString(tmp.resolve("t.txt"), "some text to score");
        Child score = run("score", "--model", tmp.resolve("m.safetensors").toString(), "--tokens",
                tmp.resolve("t.txt").toString(), "--quiet");
        List<String> lines = score.err().stream().filter(l -> !l.startsWith("WARNING:")).toList();
        assertEquals(1, score.code(), String.join("\n", score.err()));
        assertEquals(1, lines.size(), String.join("\n", score.err()));
        assertTrue(lines.getFirst().contains("the language model needs the Vector API: start the JVM with"
                + " --add-modules jdk.incubator.vector"), lines.getFirst());
    }
}
