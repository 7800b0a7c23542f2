package dev.longnet.cli;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.longnet.storage.NpyFile;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * End to end through ./longnet and the packaged jar (LONGNET_JAR), as a user runs it: gen, attend, verify and
 * info at small N, and the exit codes of a failure and a usage error. Runs after package (failsafe).
 */
class LauncherIT {
    static final Path ROOT = Path.of(System.getProperty("basedir", ".")).toAbsolutePath().normalize().getParent();
    static final Path JAR = ROOT.resolve("cli/target/longnet.jar");

    @TempDir
    Path tmp;

    record Result(int code, String out, String err) {
        /**
         * stderr without the JVM's own notice about the incubating Vector API, which the launcher drops only for
         * help, the version and --quiet.
         */
        String errors() {
            return err.lines().filter(l -> !l.startsWith("WARNING: Using incubator modules")).reduce("", (a, b) -> a + b + "\n");
        }
    }

    private Result longnet(String... args) throws IOException, InterruptedException {
        List<String> command = new ArrayList<>(List.of("bash", ROOT.resolve("longnet").toString()));
        command.addAll(List.of(args));
        return run(command);
    }

    /** A bash script in tmp, with the launcher's environment ($LONGNET names the launcher). */
    private Result shell(String script) throws IOException, InterruptedException {
        return run(List.of("bash", "-c", "LONGNET=" + ROOT.resolve("longnet") + "; " + script));
    }

    private Result run(List<String> command) throws IOException, InterruptedException {
        ProcessBuilder builder = new ProcessBuilder(command).directory(tmp.toFile())
                .redirectOutput(tmp.resolve("stdout.txt").toFile()).redirectError(tmp.resolve("stderr.txt").toFile());
        Map<String, String> env = builder.environment();
        env.put("LONGNET_JAR", JAR.toString());
        env.put("JAVA_HOME", System.getProperty("java.home"));
        env.remove("LONGNET_JAVA_OPTS");
        Process process = builder.start();
        if (!process.waitFor(120, TimeUnit.SECONDS)) {
            process.destroyForcibly();
            throw new AssertionError(String.join(" ", command) + " did not finish in 120 s");
        }
        return new Result(process.exitValue(), Files.readString(tmp.resolve("stdout.txt"), StandardCharsets.UTF_8),
                Files.readString(tmp.resolve("stderr.txt"), StandardCharsets.UTF_8));
    }

    @Test
    void genAttendVerifyInfoThroughTheLauncher() throws Exception {
        assertTrue(Files.isRegularFile(JAR), JAR + " is built by package");
        Path data = tmp.resolve("data");
        Result gen = longnet("gen", "--n", "2^12", "--heads", "2", "--head-dim", "16", "--seed", "5",
                "--out", data.toString(), "--quiet");
        assertEquals(0, gen.code(), gen.err());
        assertTrue(gen.out().startsWith("gen: wrote q, k, v (4096, 2, 16) f32"), gen.out());

        String[] io = {"--q", data.resolve("q.npy").toString(), "--k", data.resolve("k.npy").toString(),
                "--v", data.resolve("v.npy").toString(), "--out", data.resolve("out.npy").toString()};
        String[] config = {"--segments", "512,2k", "--dilations", "1,4", "--causal"};
        Result attend = longnet(concat(concat(new String[]{"attend"}, io), config));
        assertEquals(0, attend.code(), attend.err());
        assertTrue(attend.out().startsWith("attend: 4096 tokens in "), attend.out());
        try (NpyFile out = NpyFile.open(data.resolve("out.npy"))) {
            assertEquals(4096, out.rows());
        }
        assertFalse(Files.exists(NpyFile.partialPath(data.resolve("out.npy"))));

        Result verify = longnet(concat(concat(new String[]{"verify", "--rows", "32"}, io), config));
        assertEquals(0, verify.code(), verify.out() + verify.err());
        assertTrue(verify.out().strip().endsWith("OK"), verify.out());

        Result info = longnet("info", data.resolve("out.npy").toString());
        assertEquals(0, info.code(), info.err());
        assertTrue(info.out().contains("shape (4096, 2, 16), f32"), info.out());

        Result again = longnet(concat(concat(new String[]{"attend", "--quiet"}, io), config));
        assertEquals(1, again.code(), "an existing output is a failure");
        assertEquals("longnet attend: " + data.resolve("out.npy") + ": output exists (use --force to replace it)",
                again.errors().strip());

        Result usage = longnet("attend", "--segments", "64");
        assertEquals(2, usage.code(), usage.err());
        assertEquals(1, usage.errors().strip().lines().count(), usage.err());
        assertTrue(usage.errors().startsWith("longnet attend: "), usage.err());

        Result version = longnet("--version");
        assertEquals(0, version.code());
        assertTrue(version.out().startsWith("longnet "), version.out());
    }

    @Test
    void helpAndVersionPrintNoJvmWarning() throws Exception {
        for (String[] args : new String[][]{{"--help"}, {"--version"}, {"help", "attend"}, {"attend", "--help"},
                {"model", "init", "-h"}, {"-V"}}) {
            Result r = longnet(args);
            assertEquals(0, r.code(), String.join(" ", args) + ": " + r.err());
            assertEquals("", r.err(), String.join(" ", args));
            assertTrue(r.out().startsWith("Usage: longnet") || r.out().startsWith("longnet "), r.out());
        }
        Result unknown = longnet("help", "attnd");
        assertEquals(2, unknown.code(), "the JVM's exit status passes through the filter");
        assertTrue(unknown.err().startsWith("longnet help: 'attnd' is not a command")
                && unknown.err().strip().lines().count() == 1, unknown.err());
    }

    /**
     * --quiet in a script (stderr a file, not a terminal): no JVM warning, the command's one line is in the file when
     * the command has finished, and a kill of the launcher's pid reaches the JVM (it replaces the launcher).
     */
    @Test
    void quietInAScriptPrintsNoJvmWarningAndTheJvmIsTheLaunchersPid() throws Exception {
        for (int i = 0; i < 3; i++) {
            Result r = longnet("attend", "--quiet", "--q", "nothing.npy", "--k", "k.npy", "--v", "v.npy", "--out", "o.npy",
                    "--segments", "8", "--dilations", "1");
            assertEquals(1, r.code(), r.err());
            assertTrue(r.err().startsWith("longnet attend: ") && r.err().strip().lines().count() == 1, r.err());
        }
        Files.writeString(tmp.resolve("kill.sh"), String.join("\n",
                "mkfifo tokens",
                "(head -c 1536 /dev/zero; exec sleep 100) > tokens &",
                "feeder=$!",
                "bash $LONGNET stream --heads 2 --head-dim 4 --segments 16 --dilations 1 --threads 1 --in tokens"
                        + " --out rows --quiet 2>err.txt &",
                "job=$!",
                "for i in $(seq 600); do [[ -e rows.partial ]] && break; sleep 0.1; done",
                "ps -o comm= -p $job",
                "kill -TERM $job",
                "wait $job; echo \"exit $?\"",
                // killed, the JVM does not wait for the filter: its last line may follow a moment later
                "for i in $(seq 50); do grep -q interrupted err.txt && break; sleep 0.1; done",
                "cat err.txt",
                "kill $feeder", ""));
        Result r = shell("LONGNET=$LONGNET bash kill.sh");
        assertTrue(r.out().startsWith("java\n"), "the JVM replaced the launcher: " + r.out());
        assertTrue(r.out().contains("exit 143") && r.out().contains("longnet stream: interrupted"), r.out() + r.err());
        assertFalse(r.out().contains("WARNING: Using incubator modules"), r.out());
    }

    /**
     * --quiet on a terminal (script(1) gives one): no JVM warning, and Ctrl-C (SIGINT to the job's process group)
     * still brings the command's last line through the launcher's filter.
     */
    @Test
    void quietOnATerminalPrintsNoJvmWarningAndKeepsTheInterruptLine() throws Exception {
        org.junit.jupiter.api.Assumptions.assumeTrue(shell("command -v script").code() == 0, "script(1) is not installed");
        Files.writeString(tmp.resolve("ctrl-c.sh"), String.join("\n",
                "set -m",
                // The producer ignores Ctrl-C, so that the stream's input does not end first (a race with the JVM's
                // own interrupt); it is stopped at the end.
                "(trap '' INT; sleep 100) | bash $LONGNET stream --heads 2 --head-dim 4 --segments 16 --dilations 1"
                        + " --threads 1 --in - --out rows --state st --snapshot-every 8 --quiet &",
                "job=$!",
                "for i in $(seq 600); do [[ -e rows.partial ]] && break; sleep 0.1; done",
                "kill -INT -- -$job",
                "wait $job; echo \"exit $?\"",
                "kill -- -$job 2>/dev/null", ""));
        Result r = shell("script -qec \"LONGNET=$LONGNET bash ctrl-c.sh\" /dev/null");
        String terminal = r.out() + r.err();
        assertTrue(terminal.contains("longnet stream: interrupted") && terminal.contains("exit 130"), terminal);
        assertFalse(terminal.contains("WARNING: Using incubator modules"), terminal);
    }

    @Test
    void streamThroughAPipeEqualsAttend() throws Exception {
        Path data = tmp.resolve("data");
        assertEquals(0, longnet("gen", "--n", "3000", "--heads", "2", "--head-dim", "8", "--seed", "9", "--out",
                data.toString(), "--quiet").code());
        String[] config = {"--segments", "256,1024", "--dilations", "1,4"};
        Result attend = longnet(concat(new String[]{"attend", "--q", data.resolve("q.npy").toString(), "--k",
                data.resolve("k.npy").toString(), "--v", data.resolve("v.npy").toString(), "--out",
                data.resolve("out.npy").toString(), "--quiet"}, config));
        assertEquals(0, attend.code(), attend.err());
        Files.write(tmp.resolve("tokens"), StreamCommandTest.interleave(StreamCommandTest.data(data.resolve("q.npy")),
                StreamCommandTest.data(data.resolve("k.npy")), StreamCommandTest.data(data.resolve("v.npy")), 2 * 8 * 4));
        Result stream = shell("cat tokens | bash $LONGNET stream --heads 2 --head-dim 8 --segments 256,1024"
                + " --dilations 1,4 --in - --out - | cat > rows");
        assertEquals(0, stream.code(), stream.err());
        assertTrue(stream.err().contains("3000 tokens in"), stream.err());
        assertArrayEquals(StreamCommandTest.data(data.resolve("out.npy")), Files.readAllBytes(tmp.resolve("rows")));

        // A process that stops after snapshots (its input ends inside a token); a new process resumes from them.
        byte[] tokens = Files.readAllBytes(tmp.resolve("tokens"));
        Files.write(tmp.resolve("broken"), java.util.Arrays.copyOf(tokens, tokens.length / 2 + 3));
        String resumable = "stream --heads 2 --head-dim 8 --segments 256,1024 --dilations 1,4 --out rows2"
                + " --snapshot-every 500 --state state --in ";
        Result first = shell("bash $LONGNET " + resumable + "broken");
        assertEquals(1, first.code(), first.err());
        Result second = shell("bash $LONGNET " + resumable + "tokens");
        assertEquals(0, second.code(), second.err());
        assertTrue(second.err().contains("resuming at token 1500"), second.err());
        assertArrayEquals(StreamCommandTest.data(data.resolve("out.npy")), Files.readAllBytes(tmp.resolve("rows2")));
    }

    private static String[] concat(String[] a, String[] b) {
        String[] all = new String[a.length + b.length];
        System.arraycopy(a, 0, all, 0, a.length);
        System.arraycopy(b, 0, all, a.length, b.length);
        return all;
    }
}
