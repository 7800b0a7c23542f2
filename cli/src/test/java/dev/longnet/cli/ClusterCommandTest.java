package dev.longnet.cli;

import dev.longnet.storage.DType;
import dev.longnet.storage.NpyFile;
import dev.longnet.storage.RowWindow;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.lang.management.ManagementFactory;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Three `longnet member` JVMs on loopback and `longnet attend --cluster` against them: the output equals the
 * single-machine `attend` bit for bit; a member killed (SIGKILL) mid-job fails the job with one line naming it, and
 * re-running the same command on the members left reassigns its blocks, resumes the others' journals and gives the
 * same bits.
 */
class ClusterCommandTest {
    @TempDir
    Path data;
    @TempDir
    Path logs;

    private final List<Process> members = new ArrayList<>();

    @AfterEach
    void stopMembers() throws InterruptedException {
        for (Process p : members) p.destroy();                        // SIGTERM: a clean stop
        boolean stopped = true;
        for (Process p : members) {
            if (!p.waitFor(30, TimeUnit.SECONDS)) {
                stopped = false;
                p.destroyForcibly();
            }
        }
        assertTrue(stopped, "a member did not stop on SIGTERM");
    }

    @Test
    void threeMemberJvmsEqualTheSingleMachineEngineAndSurviveAKilledMember() throws Exception {
        writeInputs(250, 6, 8);
        String[] config = {"--segments", "16,32,64,128,1000", "--dilations", "1,2,4,6,12", "--causal", "--offsets", "paper"};
        Cli.Run single = Cli.run(concat(new String[]{"attend", "--q", data.resolve("q.npy").toString(), "--k",
                data.resolve("k.npy").toString(), "--v", data.resolve("v.npy").toString(), "--out",
                data.resolve("single.npy").toString(), "--threads", "1"}, config));
        assertEquals(0, single.code(), single.toString());

        int[] ports = freePorts(3);
        String list = "127.0.0.1:" + ports[0] + ",127.0.0.1:" + ports[1] + ",127.0.0.1:" + ports[2];
        for (int i = 0; i < 3; i++) startMember(ports[i], list, i == 2 ? 1500 : 0);   // the third pauses after each stage

        String[] attend = concat(new String[]{"attend", "--q", "q.npy", "--k", "k.npy", "--v", "v.npy", "--out",
                "cluster.npy", "--threads", "1", "--cluster", list, "--cluster-name", "longnet-it"}, config);
        // Kill the third member once its block (block 2) has begun its second stage (its before-image is saved
        // only after the first stage is done): it pauses after each stage, so it is cut before the block ends.
        Path undo = data.resolve("cluster.npy.cluster").resolve("block-2.undo");
        Thread killer = Thread.ofVirtual().start(() -> {
            try {
                while (!Files.exists(undo)) Thread.sleep(20);
            } catch (InterruptedException e) {
                return;
            }
            members.get(2).destroyForcibly();                           // SIGKILL
        });
        Cli.Run cut = longnet(attend);
        killer.join();
        assertEquals(1, cut.code(), cut.toString());
        assertTrue(cut.err().contains("member 127.0.0.1:" + ports[2] + " "), cut.toString());
        assertEquals(1, cut.err().strip().lines().filter(l -> l.startsWith("longnet attend:")).count(), cut.toString());
        assertTrue(cut.err().contains("was lost during the job") || cut.err().contains("left the cluster"), cut.toString());
        assertFalse(Files.exists(data.resolve("cluster.npy")));
        assertNoHazelcastLog(cut);

        String live = "127.0.0.1:" + ports[0] + ",127.0.0.1:" + ports[1];
        attend[Arrays.asList(attend).indexOf("--cluster") + 1] = live;
        Cli.Run again = longnet(attend);
        assertEquals(0, again.code(), again.toString());
        assertTrue(again.out().contains("resumed") && again.out().contains("the speed counts this run's work"),
                again.toString());
        assertTrue(again.err().contains("received"), again.toString());
        assertArrayEquals(bits(data.resolve("single.npy")), bits(data.resolve("cluster.npy")));
        assertNoHazelcastLog(again);
        for (int i = 0; i < 2; i++) assertMemberLogIsOneLineEach(logs.resolve("member-" + ports[i] + ".err"));
    }

    /** A member's stderr holds Hazelcast's warnings only as its own one-line messages (no INFO, no stack trace). */
    private static void assertMemberLogIsOneLineEach(Path stderr) throws IOException {
        String log = Files.readString(stderr);
        for (String line : log.lines().toList()) {
            assertTrue(line.isBlank() || line.startsWith("longnet member") || line.startsWith("WARNING: Using incubator"),
                    "a line of a member's stderr: " + line + "\n" + log);
        }
    }

    /**
     * Nothing of Hazelcast's own log (java.util.logging's "DATE com.hazelcast.X" and "INFO: hz.client_1 ..." lines,
     * or a member's) reaches a client command's stdout or stderr, whether the job fails or succeeds.
     */
    private static void assertNoHazelcastLog(Cli.Run run) {
        for (String line : (run.out() + "\n" + run.err()).lines().toList()) {
            assertFalse(line.contains("com.hazelcast") || line.contains("hz.client")
                    || line.matches("^(SEVERE|WARNING|INFO|CONFIG|FINE|FINER|FINEST): (hz\\.|\\[).*"),
                    "a Hazelcast log line: " + line + "\n" + run);
        }
    }

    /** {@code longnet ARGS} in a JVM of its own, as a user runs it: all of its stdout and stderr are captured. */
    private Cli.Run longnet(String... args) throws IOException, InterruptedException {
        List<String> command = java();
        command.add("dev.longnet.cli.Main");
        command.addAll(List.of(args));
        Path out = Files.createTempFile(logs, "out", ".txt");
        Path err = Files.createTempFile(logs, "err", ".txt");
        Process p = new ProcessBuilder(command).redirectOutput(out.toFile()).redirectError(err.toFile()).start();
        if (!p.waitFor(120, TimeUnit.SECONDS)) {
            p.destroyForcibly();
            throw new AssertionError("longnet " + String.join(" ", args) + " did not end within 120 s");
        }
        return new Cli.Run(p.exitValue(), Files.readString(out), Files.readString(err));
    }

    /** A java command line with this JVM's module and access flags and class path, small and quick to start. */
    static List<String> java() {
        List<String> command = new ArrayList<>();
        command.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        for (String arg : ManagementFactory.getRuntimeMXBean().getInputArguments()) {
            if (arg.startsWith("--add-") || arg.startsWith("--enable-native") || arg.startsWith("--sun-misc")) command.add(arg);
        }
        command.addAll(List.of("-Xmx256m", "-XX:TieredStopAtLevel=1", "-cp", System.getProperty("java.class.path")));
        return command;
    }

    @Test
    void badClusterFlagsAreOneLineErrors() {
        Cli.Run wildcard = Cli.run("member", "--bind", "0.0.0.0", "--data", data.toString());
        assertEquals(2, wildcard.code(), wildcard.toString());
        assertTrue(wildcard.oneErrorLine() && wildcard.err().contains("refusing to bind 0.0.0.0"), wildcard.toString());
        Cli.Run range = Cli.run("member", "--join", "127.0.0.1:5701-5720", "--data", data.toString());
        assertEquals(2, range.code(), range.toString());
        assertTrue(range.oneErrorLine() && range.err().contains("not a port range"), range.toString());
        Cli.Run f16 = Cli.run("attend", "--q", "q.npy", "--k", "k.npy", "--v", "v.npy", "--out", "o.npy", "--preset",
                "paper", "--cluster", "127.0.0.1:1", "--out-dtype", "f16");
        assertEquals(2, f16.code(), f16.toString());
        assertTrue(f16.oneErrorLine() && f16.err().contains("--cluster"), f16.toString());
    }

    /**
     * --semantics torchscale on two member JVMs equals the single-machine `attend --semantics torchscale` bit for bit,
     * causal and not: levels whose segments shift (w % r != 0), a partial last segment, H % r != 0 and w > N.
     */
    @Test
    void torchscaleSemanticsOnTheClusterEqualsTheSingleMachineEngine() throws Exception {
        writeInputs(250, 6, 8);
        int[] ports = freePorts(2);
        String list = "127.0.0.1:" + ports[0] + ",127.0.0.1:" + ports[1];
        for (int port : ports) startMember(port, list, 0);
        for (boolean causal : new boolean[]{false, true}) {
            String[] config = {"--segments", "16,30,64,100,1000", "--dilations", "1,4,3,4,12", "--semantics", "torchscale"};
            if (causal) config = concat(config, new String[]{"--causal"});
            String single = "single-" + causal + ".npy";
            Cli.Run one = Cli.run(concat(new String[]{"attend", "--q", data.resolve("q.npy").toString(), "--k",
                    data.resolve("k.npy").toString(), "--v", data.resolve("v.npy").toString(), "--out",
                    data.resolve(single).toString(), "--threads", "1"}, config));
            assertEquals(0, one.code(), one.toString());
            String cluster = "cluster-" + causal + ".npy";
            Cli.Run run = longnet(concat(new String[]{"attend", "--q", "q.npy", "--k", "k.npy", "--v", "v.npy", "--out",
                    cluster, "--threads", "1", "--cluster", list, "--cluster-name", "longnet-it"}, config));
            assertEquals(0, run.code(), run.toString());
            assertTrue(run.out().contains("2 blocks"), run.toString());
            assertArrayEquals(bits(data.resolve(single)), bits(data.resolve(cluster)), "causal " + causal);
        }
    }

    private void startMember(int port, String list, long stagePauseMillis) throws IOException {
        List<String> command = java();
        command.addAll(List.of("-Dlongnet.cluster.stagePauseMillis=" + stagePauseMillis, "dev.longnet.cli.Main", "member", "--port",
                Integer.toString(port), "--join", list, "--data", data.toString(), "--cluster-name", "longnet-it"));
        Process p = new ProcessBuilder(command).redirectError(logs.resolve("member-" + port + ".err").toFile()).start();
        members.add(p);
        BufferedReader out = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8));
        String line = out.readLine();
        assertTrue(line != null && line.contains("ready") && line.contains("127.0.0.1:" + port), "member said: " + line);
    }

    private void writeInputs(long n, int heads, int d) throws IOException {
        Random random = new Random(42);
        for (String name : new String[]{"q", "k", "v"}) {
            try (NpyFile f = NpyFile.create(data.resolve(name + ".npy"), DType.F32, n, heads, d);
                 RowWindow w = f.window(0, n)) {
                for (long i = 0; i < n * heads * d; i++) DType.F32.set(w.segment(), i, (float) random.nextGaussian());
                f.commit();
            }
        }
    }

    private static int[] bits(Path file) throws IOException {
        try (NpyFile f = NpyFile.open(file); RowWindow w = f.window(0, f.rows())) {
            int[] out = new int[Math.toIntExact(f.rows() * f.rowElements())];
            for (int i = 0; i < out.length; i++) out[i] = Float.floatToRawIntBits(DType.F32.get(w.segment(), i));
            return out;
        }
    }

    static int[] freePorts(int count) throws IOException {
        int[] ports = new int[count];
        ServerSocket[] sockets = new ServerSocket[count];
        for (int i = 0; i < count; i++) {
            sockets[i] = new ServerSocket(0, 1, InetAddress.getLoopbackAddress());
            ports[i] = sockets[i].getLocalPort();
        }
        for (ServerSocket s : sockets) s.close();
        return ports;
    }

    private static String[] concat(String[] a, String[] b) {
        String[] out = Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, out, a.length, b.length);
        return out;
    }
}
