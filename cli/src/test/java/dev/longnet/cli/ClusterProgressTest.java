package dev.longnet.cli;

import dev.longnet.cluster.ClusterSettings;
import dev.longnet.cluster.LongnetMember;
import dev.longnet.storage.DType;
import dev.longnet.storage.Json;
import dev.longnet.storage.NpyFile;
import dev.longnet.storage.RowWindow;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * attend --cluster's progress bar: on a terminal (script(1) gives one) it shows and ends at N; with --json or
 * --quiet nothing but the summary is printed. Two in-process members serve the jobs.
 */
class ClusterProgressTest {
    private static final String NAME = "longnet-progress";

    @TempDir
    static Path data;

    private static final List<LongnetMember> members = new ArrayList<>();
    private static String list;

    @BeforeAll
    static void startMembers() throws IOException {
        int[] ports = ClusterCommandTest.freePorts(2);
        List<String> addresses = List.of("127.0.0.1:" + ports[0], "127.0.0.1:" + ports[1]);
        list = String.join(",", addresses);
        for (int port : ports) {
            members.add(LongnetMember.start(new ClusterSettings(NAME, "127.0.0.1", port, addresses, false), data, null));
        }
        Random random = new Random(3);
        for (String name : new String[]{"q", "k", "v"}) {
            try (NpyFile f = NpyFile.create(data.resolve(name + ".npy"), DType.F32, 250, 2, 4);
                 RowWindow w = f.window(0, 250)) {
                for (long i = 0; i < 250 * 2 * 4; i++) DType.F32.set(w.segment(), i, (float) random.nextGaussian());
                f.commit();
            }
        }
    }

    @AfterAll
    static void stopMembers() {
        members.forEach(LongnetMember::close);
    }

    private static List<String> attend(String out, String... more) {
        List<String> args = new ArrayList<>(List.of("attend", "--q", "q.npy", "--k", "k.npy", "--v", "v.npy", "--out", out,
                "--segments", "16,64,1000", "--dilations", "1,2,4", "--threads", "1", "--cluster", list,
                "--cluster-name", NAME));
        args.addAll(List.of(more));
        return args;
    }

    @Test
    void jsonAndQuietPrintTheirSummaryAlone() {
        Cli.Run json = Cli.run(attend("json.npy", "--json").toArray(String[]::new));
        assertEquals(0, json.code(), json.toString());
        assertEquals("", json.err(), json.toString());
        assertEquals(1, json.out().strip().lines().count(), json.toString());
        Map<?, ?> summary = assertInstanceOf(Map.class, Json.parse(json.out().strip()));
        assertEquals(250L, ((Number) summary.get("tokens")).longValue(), json.toString());
        assertTrue(((Number) summary.get("tokensPerSecond")).doubleValue() > 0, json.toString());

        Cli.Run quiet = Cli.run(attend("quiet.npy", "--quiet").toArray(String[]::new));
        assertEquals(0, quiet.code(), quiet.toString());
        assertEquals("", quiet.err(), quiet.toString());
        assertEquals(1, quiet.out().strip().lines().count(), quiet.toString());
        assertTrue(quiet.out().startsWith("attend: wrote ") && quiet.out().contains("quiet.npy on 2 member(s)") && quiet.out().contains("tokens/s"),
                quiet.toString());
    }

    /**
     * On a terminal: the bar on stderr, ending at the 250 tokens; with --json or --quiet none, and stdout is the
     * JSON object or the summary line.
     */
    @Test
    void aTerminalShowsTheBarUnlessJsonOrQuiet() throws Exception {
        Assumptions.assumeTrue(new ProcessBuilder("bash", "-c", "command -v script").start().waitFor() == 0,
                "script(1) is not installed");
        Terminal plain = onATerminal(attend("bar.npy"));
        assertTrue(plain.err().contains("attend") && plain.err().contains("100%") && plain.err().contains("250/250 tok"),
                plain.toString());
        assertTrue(plain.out().contains("bar.npy on 2 member(s)"), plain.toString());

        Terminal json = onATerminal(attend("bar-json.npy", "--json"));
        assertTrue(json.err().lines().allMatch(l -> l.startsWith("WARNING: Using incubator modules")), json.toString());
        List<String> lines = json.out().lines().map(String::strip).filter(l -> !l.isEmpty()).toList();
        assertEquals(1, lines.size(), json.toString());
        assertInstanceOf(Map.class, Json.parse(lines.getFirst()), json.toString());

        Terminal quiet = onATerminal(attend("bar-quiet.npy", "--quiet"));
        assertTrue(quiet.err().lines().allMatch(l -> l.startsWith("WARNING: Using incubator modules")), quiet.toString());
        assertEquals(1, quiet.out().strip().lines().count(), quiet.toString());
    }

    private record Terminal(String out, String err) {
        @Override
        public String toString() { return "--- terminal\n" + out + "--- stderr\n" + err; }
    }

    /** The command in a JVM of its own whose stdin and stdout are a terminal, its stderr a file. */
    private static Terminal onATerminal(List<String> args) throws IOException, InterruptedException {
        List<String> command = ClusterCommandTest.java();
        command.add("dev.longnet.cli.Main");
        command.addAll(args);
        Path err = Files.createTempFile(data, "err", ".txt");
        StringBuilder line = new StringBuilder();
        for (String word : command) line.append(quote(word)).append(' ');
        line.append("2>").append(quote(err.toString()));
        Process p = new ProcessBuilder("script", "-qec", line.toString(), "/dev/null").directory(data.toFile())
                .redirectErrorStream(true).start();
        p.getOutputStream().close();
        byte[] out = p.getInputStream().readAllBytes();
        if (!p.waitFor(120, TimeUnit.SECONDS)) {
            p.destroyForcibly();
            throw new AssertionError("longnet " + String.join(" ", args) + " did not end within 120 s");
        }
        return new Terminal(new String(out, StandardCharsets.UTF_8).replace("\r", ""), Files.readString(err));
    }

    private static String quote(String word) { return "'" + word.replace("'", "'\\''") + "'"; }
}
