package dev.longnet.cli;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.longnet.engine.job.Job;
import dev.longnet.storage.ChildJvm;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Ctrl-C on a long command says what is kept and how to go on (issue 21, defect 13). */
class InterruptTest {
    @TempDir
    Path tmp;

    @Test
    void anInterruptedStreamSaysHowToResume() throws Exception {
        Path out = tmp.resolve("rows");
        Path state = tmp.resolve("state");
        List<String> command = ChildJvm.command(List.of("-Xmx256m", "-XX:+UseSerialGC"), "dev.longnet.cli.Main",
                List.of("stream", "--heads", "2", "--head-dim", "4", "--segments", "16", "--dilations", "1", "--threads",
                        "1", "--in", "-", "--out", out.toString(), "--state", state.toString(), "--snapshot-every", "8"));
        ProcessBuilder builder = new ProcessBuilder(command).redirectError(tmp.resolve("err").toFile())
                .redirectOutput(tmp.resolve("out").toFile());
        builder.environment().remove("JAVA_TOOL_OPTIONS");
        Process child = builder.start();                 // reads its standard input, which stays open: it waits
        try {
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
            while (!Files.exists(Job.partial(out)) && System.nanoTime() < deadline) Thread.sleep(20);
            assertTrue(Files.exists(Job.partial(out)), "the child started");
            new ProcessBuilder("kill", "-INT", Long.toString(child.pid())).start().waitFor();
            assertTrue(child.waitFor(30, TimeUnit.SECONDS));
        } finally {
            child.destroyForcibly();
        }
        String err = Files.readString(tmp.resolve("err"));
        assertTrue(err.contains("interrupted") && err.contains("run the same command to resume"), err);
        assertFalse(Files.exists(state.resolve("lock")), "the lock is released");
    }

    @Test
    void anInterruptedAttendSaysHowToResume() throws Exception {
        Cli.Run gen = Cli.run("gen", "--n", "" + (1 << 15), "--heads", "4", "--head-dim", "32", "--seed", "9",
                "--out", tmp.toString(), "--quiet");
        assertTrue(gen.code() == 0, gen.toString());
        Path out = tmp.resolve("out.npy");
        List<String> command = ChildJvm.command(List.of("-Xmx256m", "-XX:+UseSerialGC"), "dev.longnet.cli.Main",
                List.of("attend", "--q", tmp.resolve("q.npy").toString(), "--k", tmp.resolve("k.npy").toString(), "--v",
                        tmp.resolve("v.npy").toString(), "--out", out.toString(), "--segments", "256,512,2048",
                        "--dilations", "1,2,4", "--window-budget", "2M", "--threads", "1"));
        ProcessBuilder builder = new ProcessBuilder(command).redirectError(tmp.resolve("err").toFile())
                .redirectOutput(tmp.resolve("out").toFile());
        builder.environment().remove("JAVA_TOOL_OPTIONS");
        Process child = builder.start();
        try {
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
            Path journal = tmp.resolve("out.npy.run").resolve("journal");
            while (!Files.exists(journal) && child.isAlive() && System.nanoTime() < deadline) Thread.sleep(5);
            assertTrue(child.isAlive(), "still running when interrupted: " + Files.readString(tmp.resolve("err")));
            new ProcessBuilder("kill", "-INT", Long.toString(child.pid())).start().waitFor();
            assertTrue(child.waitFor(30, TimeUnit.SECONDS));
        } finally {
            child.destroyForcibly();
        }
        String err = Files.readString(tmp.resolve("err"));
        assertTrue(err.contains("interrupted") && err.contains("run the same command to resume"), err);
        assertFalse(Files.exists(out));
    }
}
