package dev.longnet.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class DemoCommandTest {
    @TempDir
    Path tmp;

    @Test
    void runsVerifiesAndCleansUp() throws IOException {
        List<Path> before = demoDirs();
        Cli.Run run = Cli.run("demo", "--n", "4096", "--quiet");
        assertEquals(0, run.code(), run.toString());
        assertEquals("", run.err());
        String line = run.out().strip();
        assertEquals(1, line.lines().count(), line);
        assertTrue(line.startsWith("demo: 4096 tokens in "), line);
        assertTrue(line.contains(" tokens/s, ") && line.contains(" GFLOPS") && line.contains("peak RSS"), line);
        assertTrue(line.contains("verified 16 positions x 4 heads, max abs error ") && line.endsWith("(ok)"), line);
        assertEquals(before, demoDirs(), "the temporary directory is deleted");
    }

    @Test
    void keepAndJson() throws IOException {
        Path keep = tmp.resolve("demo");
        Cli.Run run = Cli.run("demo", "--n", "2^11", "--keep", keep.toString(), "--threads", "1", "--json");
        assertEquals(0, run.code(), run.toString());
        assertEquals("", run.err());
        String json = run.out().strip();
        assertTrue(json.startsWith("{\"tokens\":2048,") && json.endsWith("}"), json);
        for (String key : new String[]{"seconds", "tokensPerSecond", "gflops", "peakRssBytes", "backend", "config",
                "verify", "maxAbsError"}) {
            assertTrue(json.contains("\"" + key + "\":"), key);
        }
        assertTrue(json.contains("\"segments\":[2048,4096,8192,16384],\"dilations\":[1,2,4,8],\"heads\":4,\"headDim\":32,"
                + "\"causal\":false"), json);
        assertTrue(json.contains("\"verify\":{\"ok\":true,\"positions\":16,"), json);
        try (var files = Files.list(keep)) {
            assertEquals(List.of("k.npy", "out.npy", "q.npy", "v.npy"),
                    files.map(p -> p.getFileName().toString()).sorted().toList());
        }
    }

    @Test
    void badSizeIsAUsageError() {
        Cli.Run run = Cli.run("demo", "--n", "0");
        assertEquals(2, run.code());
        assertEquals("longnet demo: --n must be >= 1, got 0 (see 'longnet demo --help')", run.err().strip());
    }

    private static List<Path> demoDirs() throws IOException {
        try (var files = Files.list(Path.of(System.getProperty("java.io.tmpdir")))) {
            return files.filter(p -> p.getFileName().toString().startsWith("longnet-demo-")).sorted().toList();
        }
    }
}
