package dev.longnet.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Hostile command lines (issue 11.8 and 11.11): each used to hang, or to fail with a message that named nothing. */
class HostileCliTest {
    @TempDir
    Path tmp;

    @BeforeEach
    void generate() {
        Cli.Run run = Cli.run("gen", "--n", "256", "--heads", "2", "--head-dim", "8", "--out", tmp.toString(), "--quiet");
        assertEquals(0, run.code(), run.toString());
    }

    private Cli.Run attend(String q, String out, String... extra) {
        String[] base = {"attend", "--q", q, "--k", tmp.resolve("k.npy").toString(), "--v", tmp.resolve("v.npy").toString(),
                "--out", out, "--segments", "64", "--dilations", "1", "--quiet"};
        String[] args = java.util.Arrays.copyOf(base, base.length + extra.length);
        System.arraycopy(extra, 0, args, base.length, extra.length);
        return Cli.run(args);
    }

    @Test
    void absurdThreadCountsAreRefusedInsteadOfHanging() {
        Cli.Run run = assertTimeoutPreemptively(Duration.ofSeconds(30),
                () -> attend(tmp.resolve("q.npy").toString(), tmp.resolve("o.npy").toString(), "--threads", "2^30"));
        assertEquals(Errors.USAGE, run.code(), run.toString());
        int cores = Runtime.getRuntime().availableProcessors();
        assertTrue(run.err().contains("--threads 1073741824 is more than 4 per core (this machine has " + cores
                + " cores: at most " + 4 * cores + ")"), run.err());
    }

    @Test
    void aFifoIsRefusedByInfoAndAttendInsteadOfBlocking() throws Exception {
        Path fifo = tmp.resolve("pipe.npy");
        try {
            assumeTrue(new ProcessBuilder("mkfifo", fifo.toString()).start().waitFor() == 0);
        } catch (IOException e) {
            assumeTrue(false, "no mkfifo here");
        }
        Cli.Run info = assertTimeoutPreemptively(Duration.ofSeconds(30), () -> Cli.run("info", fifo.toString()));
        assertEquals(Errors.FAILURE, info.code(), info.toString());
        assertTrue(info.err().contains(fifo + ": is not a regular file"), info.err());
        Cli.Run run = assertTimeoutPreemptively(Duration.ofSeconds(30),
                () -> attend(fifo.toString(), tmp.resolve("o.npy").toString()));
        assertEquals(Errors.FAILURE, run.code(), run.toString());
        assertTrue(run.err().contains(fifo + ": is not a regular file"), run.err());
    }

    @Test
    void aDirectoryGivenAsAnInputIsNamed() throws IOException {
        Path dir = Files.createDirectories(tmp.resolve("adir"));
        Cli.Run run = attend(dir.toString(), tmp.resolve("o.npy").toString());
        assertEquals(Errors.FAILURE, run.code(), run.toString());
        assertEquals("longnet attend: " + dir + ": is a directory, not a tensor file", run.err().strip());
    }

    @Test
    void anEmptyOutputNameIsAUsageError() {
        Cli.Run run = attend(tmp.resolve("q.npy").toString(), "");
        assertEquals(Errors.USAGE, run.code(), run.toString());
        assertTrue(run.err().startsWith("longnet attend: --out is empty"), run.err());
    }

    @Test
    void aDirectoryOrDeviceAsOutputIsRefusedBeforeComputing() throws IOException {
        Path dir = Files.createDirectories(tmp.resolve("existing"));
        Cli.Run run = attend(tmp.resolve("q.npy").toString(), dir.toString(), "--force");
        assertEquals(Errors.FAILURE, run.code(), run.toString());
        assertEquals("longnet attend: " + dir + ": is a directory; the output must be a file", run.err().strip());
    }

    @Test
    void aShapeTooLargeForAFileIsAUsageErrorAndCreatesNothing() {
        Path dir = tmp.resolve("huge");
        Cli.Run run = Cli.run("gen", "--n", "1", "--heads", "2^30", "--head-dim", "2^30", "--out", dir.toString());
        assertEquals(Errors.USAGE, run.code(), run.toString());
        assertTrue(run.err().contains("n = 1 x heads = 1073741824 x headDim = 1073741824 f32 values are more than"
                + " 2^63 bytes"), run.err());
        assertFalse(Files.exists(dir), "no empty output directory is left");
    }

    @Test
    void infoEscapesControlCharactersAndTruncatesLongMetadata() throws IOException {
        String name = "evil\u001b]0;owned\u0007name";
        String longValue = "x".repeat(50_000);
        String header = "{\"__metadata__\":{\"note\":\"" + longValue + "\"},"
                + "\"" + name.replace("\u001b", "\\u001b").replace("\u0007", "\\u0007")
                + "\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}";
        byte[] json = header.getBytes(StandardCharsets.UTF_8);
        ByteBuffer bytes = ByteBuffer.allocate(8 + json.length + 4).order(ByteOrder.LITTLE_ENDIAN);
        bytes.putLong(json.length).put(json);
        Path file = Files.write(tmp.resolve("evil.safetensors"), bytes.array());
        Cli.Run run = Cli.run("info", file.toString());
        assertEquals(0, run.code(), run.toString());
        assertFalse(run.out().contains("\u001b") || run.out().contains("\u0007"), "no raw control characters");
        assertTrue(run.out().contains("evil\\u001b]0;owned\\u0007name: shape (1,)"), run.out());
        assertTrue(run.out().contains("note=" + "x".repeat(InfoCommand.MAX_SHOWN) + "... (" + (50_000 - InfoCommand.MAX_SHOWN)
                + " more characters)"), run.out().substring(0, Math.min(400, run.out().length())));
        assertTrue(run.out().length() < 2000, "the metadata is not printed in full");
    }
}
