package dev.longnet.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.longnet.storage.ChildJvm;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A file job in a JVM started without the JDK-internals flags chronicle-bytes needs (a library user's JVM may be)
 * fails with one line naming the flags to add, before any file is made: not with an AssertionError from deep
 * inside a mapping.
 */
class MissingJvmFlagsTest {
    static final List<String> CHRONICLE_FLAGS = List.of("--add-opens=java.base/java.lang.reflect=ALL-UNNAMED",
            "--add-opens=java.base/sun.nio.ch=ALL-UNNAMED");

    @TempDir
    Path tmp;

    @Test
    void aFileJobWithoutChroniclesFlagsFailsWithOneLineNamingThem() throws Exception {
        Cli.Run gen = Cli.run("gen", "--n", "1024", "--heads", "2", "--head-dim", "8", "--seed", "3",
                "--out", tmp.toString());
        assertEquals(0, gen.code(), gen.toString());
        Path out = tmp.resolve("out.npy");
        List<String> command = ChildJvm.command(List.of("-Xmx256m", "-XX:+UseSerialGC"), "dev.longnet.cli.Main",
                List.of("attend", "--q", tmp.resolve("q.npy").toString(), "--k", tmp.resolve("k.npy").toString(),
                        "--v", tmp.resolve("v.npy").toString(), "--out", out.toString(),
                        "--segments", "256", "--dilations", "1", "--quiet")).stream()
                .filter(a -> !CHRONICLE_FLAGS.contains(a)).toList();
        assertTrue(command.containsAll(List.of("--add-modules=jdk.incubator.vector")), command.toString());
        ProcessBuilder builder = new ProcessBuilder(command).redirectError(tmp.resolve("err").toFile())
                .redirectOutput(tmp.resolve("out").toFile());
        builder.environment().remove("JAVA_TOOL_OPTIONS");
        Process child = builder.start();
        assertTrue(child.waitFor(120, TimeUnit.SECONDS), "the child did not end");
        // The JVM's own notices (the incubator module, sun.misc.Unsafe) are not the command's.
        List<String> err = Files.readAllLines(tmp.resolve("err")).stream().filter(l -> !l.startsWith("WARNING:")).toList();
        assertEquals(1, child.exitValue(), String.join("\n", err));
        assertEquals(1, err.size(), String.join("\n", err));
        String line = err.getFirst();
        assertTrue(line.startsWith("longnet attend: the run journal (chronicle-bytes) needs the JVM flags "), line);
        for (String flag : CHRONICLE_FLAGS) assertTrue(line.contains(flag), line);
        assertFalse(line.contains("Exception") || line.contains("Error"), line);
        assertFalse(Files.exists(out) || Files.exists(tmp.resolve("out.npy.partial")) || Files.exists(tmp.resolve("out.npy.run")),
                "no file is left: " + List.of(tmp.toFile().list()));
    }
}
