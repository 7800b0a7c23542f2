package dev.longnet.cli;

import dev.longnet.storage.ChildJvm;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.longnet.engine.RunCounter;
import dev.longnet.engine.RunFiles;
import dev.longnet.storage.CountersFile;
import dev.longnet.storage.NpyFile;
import java.io.File;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.function.Predicate;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The real thing: `longnet attend` in a child JVM, killed with SIGKILL at six points chosen by its live counters
 * (four in the first pass, two during the last level, which is a pass of its own), resumed each time by the same
 * command, watched to the end by `longnet stat --watch`, and compared byte for byte with an uninterrupted run.
 */
class KillResumeTest {
    static final int N = 1 << 15;
    /** 2064 bytes a row: pass 0 = levels (256, 512) in windows of 512 rows (64 units); level 2048 alone (16 units). */
    static final String[] ARGS = {"--segments", "256,512,2048", "--dilations", "1,2,4", "--window-budget", "2M",
            "--threads", "2"};
    static final int FIRST_PASS_UNITS = 64;
    static final int LAST_LEVEL = 2;

    @TempDir
    Path tmp;

    @Test
    void killedRunsResumeToTheBytesOfAnUninterruptedRun() throws Exception {
        Cli.Run gen = Cli.run("gen", "--n", "" + N, "--heads", "4", "--head-dim", "32", "--seed", "9",
                "--out", tmp.toString(), "--quiet");
        assertEquals(0, gen.code(), gen.toString());
        Path out = tmp.resolve("out.npy");
        Path base = tmp.resolve("base.npy");
        Cli.Run uninterrupted = Cli.run(attendArgs(base, "--quiet"));
        assertEquals(0, uninterrupted.code(), uninterrupted.toString());
        byte[] expected = Files.readAllBytes(base);
        Path counters = RunFiles.countersFile(RunFiles.directory(out));

        // Kill points: units done (of 80); the last two fall in the last pass (units 65..80: level 2 alone).
        long[] targets = {5, 20, 38, 55, 68, 71};
        List<String> killed = new ArrayList<>();
        for (int i = 0; i < targets.length; i++) {
            long target = targets[i];
            boolean lastLevel = target > FIRST_PASS_UNITS;
            Process child = start(out, "kill" + i);
            CountersFile.Snapshot at = waitFor(child, counters, s -> RunCounter.UNITS_DONE.in(s, 0) >= target
                    && (!lastLevel || RunCounter.LEVEL.in(s, -1) == LAST_LEVEL));
            assertTrue(child.isAlive(), "still running at the kill point " + target + ": " + log(i));
            child.destroyForcibly();                                          // SIGKILL
            assertTrue(child.waitFor(30, TimeUnit.SECONDS));
            assertEquals(137, child.exitValue(), "killed by SIGKILL");
            killed.add("units " + RunCounter.UNITS_DONE.in(at, 0) + ", level " + RunCounter.LEVEL.in(at, -1));
            assertFalse(Files.exists(out), "nothing under the output's name after kill " + i);
            assertTrue(Files.exists(NpyFile.partialPath(out)));
            if (lastLevel) assertEquals(LAST_LEVEL, RunCounter.LEVEL.in(at, -1), "killed during the last level");
        }
        Cli.Run stopped = Cli.run("stat", RunFiles.directory(out).toString());
        assertEquals(0, stopped.code(), stopped.toString());
        assertTrue(stopped.out().contains(": stopped (process ") && stopped.out().contains("is gone"), stopped.out());

        // The last resume (about 9 units of the last level left) runs to the end while `stat --watch` follows it.
        Process last = start(out, "final");
        waitFor(last, counters, s -> true);
        Cli.Run watch = Cli.run("stat", "--watch", "--interval", "0.2", RunFiles.directory(out).toString());
        assertTrue(last.waitFor(120, TimeUnit.SECONDS), "the resumed run finishes");
        assertEquals(0, last.exitValue(), log("final"));
        assertEquals(0, watch.code(), watch.toString());
        assertTrue(watch.out().contains(": running (process " + last.pid()), watch.out());
        assertTrue(watch.out().strip().lines().toList().getLast().contains("finished")
                || watch.out().contains(": done"), watch.out());
        String summary = Files.readString(tmp.resolve("final.err"));
        assertTrue(summary.contains("units were done by an earlier run"), summary);

        assertArrayEquals(expected, Files.readAllBytes(out), "bit-identical after kills at " + killed);
        assertFalse(Files.exists(RunFiles.directory(out)), "the run directory is removed on success");
    }

    private String[] attendArgs(Path output, String... extra) {
        List<String> args = new ArrayList<>(List.of("attend", "--q", tmp.resolve("q.npy").toString(),
                "--k", tmp.resolve("k.npy").toString(), "--v", tmp.resolve("v.npy").toString(), "--out", output.toString()));
        args.addAll(List.of(ARGS));
        args.addAll(List.of(extra));
        return args.toArray(String[]::new);
    }

    /** `longnet attend` in a child JVM: this JVM's java, class path and module flags, main dev.longnet.cli.Main. */
    private Process start(Path out, String name) throws Exception {
        List<String> command = ChildJvm.command(List.of("-Xmx512m", "-XX:+UseSerialGC"), "dev.longnet.cli.Main",
                List.of(attendArgs(out)));
        ProcessBuilder builder = new ProcessBuilder(command)
                .redirectOutput(tmp.resolve(name + ".out").toFile()).redirectError(tmp.resolve(name + ".err").toFile());
        builder.environment().remove("JAVA_TOOL_OPTIONS");
        return builder.start();
    }

    /** Polls the child's counters (once the child has written its own file) until {@code until} holds. */
    private CountersFile.Snapshot waitFor(Process child, Path counters, Predicate<CountersFile.Snapshot> until)
            throws Exception {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(120);
        while (System.nanoTime() < deadline) {
            if (!child.isAlive()) throw new AssertionError("the child ended early (exit " + child.exitValue() + ")");
            if (Files.exists(counters)) {
                try {
                    CountersFile.Snapshot s = CountersFile.read(counters);
                    if (s.pid() == child.pid() && s.state() == CountersFile.State.RUNNING && until.test(s)) return s;
                } catch (java.io.IOException | RuntimeException e) {
                    // replaced while we read it: read again
                }
            }
            Thread.sleep(2);
        }
        child.destroyForcibly();
        throw new AssertionError("no progress in 120 s");
    }

    private String log(Object name) {
        try {
            return Files.readString(tmp.resolve(name + ".err")) + File.separator;
        } catch (java.io.IOException e) {
            return "(no log)";
        }
    }

    private String log(int i) { return log("kill" + i); }
}
