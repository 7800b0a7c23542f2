package dev.longnet.bench;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import picocli.CommandLine;

/** bench stream at a tiny N: sampled rows agree with the reference, and the outputs' CRC does not depend on chunking. */
class StreamBenchCommandTest {
    private static String run(String... extra) {
        List<String> args = new ArrayList<>(List.of("stream", "--n", "3000", "--segments", "256,512", "--dilations", "1,2",
                "--heads", "3", "--head-dim", "8", "--causal", "--peak-gflops", "100", "--json", "--quiet"));
        args.addAll(List.of(extra));
        PrintStream out = System.out;
        ByteArrayOutputStream captured = new ByteArrayOutputStream();
        int exit;
        try {
            System.setOut(new PrintStream(captured, true, StandardCharsets.UTF_8));
            exit = new CommandLine(new BenchMain()).execute(args.toArray(String[]::new));
        } finally {
            System.setOut(out);
        }
        String json = captured.toString(StandardCharsets.UTF_8).trim();
        assertEquals(0, exit, json);
        return json;
    }

    private static String field(String json, String name) {
        Matcher m = Pattern.compile("\"" + name + "\":(?:\"([^\"]*)\"|([^,}]+))").matcher(json);
        assertTrue(m.find(), name + " in " + json);
        return m.group(1) != null ? m.group(1) : m.group(2);
    }

    @Test
    void samplesMatchTheReferenceAndTheChecksumIgnoresChunking() {
        String a = run("--chunk", "700");
        String b = run("--chunk", "3000", "--threads", "1", "--warmup", "1000");
        assertEquals("3000", field(a, "tokens"));
        assertTrue(a.contains("\"config\":{\"segments\":["), "config is an object: " + a);
        assertEquals("true", field(a, "causal"));
        assertEquals("3", field(a, "heads"));
        assertTrue(Double.parseDouble(field(a, "maxAbsError")) < 1e-5, a);
        assertEquals(field(a, "checksum"), field(b, "checksum"), "same outputs whatever the chunks, threads, warm-up");
        assertEquals("1000", field(b, "warmupTokens"));
        assertEquals("3000", field(b, "tokens"), "the warm-up is not counted");
    }
}
