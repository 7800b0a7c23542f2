package dev.longnet.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.longnet.storage.Json;
import java.io.IOException;
import java.net.URISyntaxException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Every command's --json speaks one language: one JSON object (a line each), camelCase names at every depth, a
 * config that is always an object, and types spelled as the commands take them (f32, f16, bf16).
 */
class JsonFieldsTest {
    private static final Pattern CAMEL = Pattern.compile("[a-z][a-zA-Z0-9]*");

    @TempDir
    Path tmp;

    @Test
    void everyCommandsSummaryIsCamelCaseWithConfigAsAnObject() throws IOException, URISyntaxException {
        String q = tmp.resolve("q.npy").toString(), k = tmp.resolve("k.npy").toString(), v = tmp.resolve("v.npy").toString();
        String out = tmp.resolve("out.npy").toString();
        String model = tmp.resolve("m.safetensors").toString();
        Path text = Files.writeString(tmp.resolve("text.txt"), "The quick brown fox jumps over the lazy dog. ".repeat(20));
        Path checkpoint = Files.copy(Path.of(JsonFieldsTest.class.getResource("/torch/fairseq.pt").toURI()),
                tmp.resolve("fairseq.pt"));
        List<String[]> commands = List.of(
                new String[]{"gen", "--n", "300", "--heads", "2", "--head-dim", "8", "--out", tmp.toString()},
                new String[]{"attend", "--q", q, "--k", k, "--v", v, "--out", out, "--segments", "64,256", "--dilations", "1,2"},
                new String[]{"verify", "--q", q, "--k", k, "--v", v, "--out", out, "--segments", "64,256", "--dilations", "1,2",
                        "--rows", "4"},
                new String[]{"info", q, checkpoint.toString()},
                new String[]{"model", "init", "--vocab", "256", "--dim", "16", "--heads", "2", "--layers", "1", "--ffn", "32",
                        "--segments", "8,32", "--dilations", "1,2", "--out", model},
                new String[]{"score", "--model", model, "--tokens", text.toString(), "--threads", "1"},
                new String[]{"generate", "--model", model, "--prompt-text", "The quick", "--max-new", "4"},
                new String[]{"tokens", "import", text.toString(), "--out", tmp.resolve("text.lzt").toString()},
                new String[]{"convert", checkpoint.toString(), "--out", tmp.resolve("c.safetensors").toString()});
        for (String[] command : commands) {
            List<String> args = new ArrayList<>(List.of(command));
            args.add("--json");
            checkOutput(command[0], Cli.run(args.toArray(String[]::new)));
        }
        // stat reads the counters of a run that stopped part way
        String broken = tmp.resolve("broken.npy").toString();
        Cli.Run failed = Cli.run(o -> o.withKernel(new ResumeCommandTest.FailingKernel(3,
                        () -> new IllegalStateException("injected"))),
                "attend", "--q", q, "--k", k, "--v", v, "--out", broken, "--segments", "64,256", "--dilations", "1,2");
        assertEquals(1, failed.code(), failed.toString());
        checkOutput("stat", Cli.run("stat", broken, "--json"));
    }

    private static void checkOutput(String command, Cli.Run run) {
        assertEquals(0, run.code(), command + ": " + run);
        for (String line : run.out().strip().split("\\R")) {
            Object value = Json.parse(line);
            assertInstanceOf(Map.class, value, command + " prints one object per line: " + line);
            check(command, "", value);
        }
    }

    private static void check(String command, String path, Object value) {
        if (value instanceof List<?> list) {
            for (Object item : list) check(command, path + "[]", item);
            return;
        }
        if (!(value instanceof Map<?, ?> map)) return;
        for (Map.Entry<?, ?> e : map.entrySet()) {
            String name = (String) e.getKey();
            String at = path + "." + name;
            // a safetensors file's own metadata keys and tensor names are the file's, not ours
            if (path.endsWith(".metadata") || path.endsWith(".skipped") || path.endsWith(".dtypes")) continue;
            assertTrue(CAMEL.matcher(name).matches(), command + ": field " + at + " is not camelCase");
            if (name.equals("config")) assertInstanceOf(Map.class, e.getValue(), command + ": " + at + " is an object");
            if (name.equals("dtype") || name.equals("outputDtype")) {
                assertTrue(List.of("f32", "f16", "bf16").contains(e.getValue()), command + ": " + at + " = " + e.getValue());
            }
            check(command, at, e.getValue());
        }
    }
}
