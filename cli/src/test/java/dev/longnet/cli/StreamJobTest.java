package dev.longnet.cli;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.longnet.engine.job.JobLock;
import dev.longnet.engine.job.MemoryBudget;
import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** longnet stream keeps the job layer's guarantees (issue 21: defects 2, 3, 4, 5, 6, 11, 14, 15). */
class StreamJobTest {
    static final int HEADS = 2;
    static final int D = 4;
    static final int N = 300;

    @TempDir
    Path tmp;
    Path tokens;

    @BeforeEach
    void tokens() throws Exception {
        tokens = tmp.resolve("tokens.f32");
        Files.write(tokens, randomTokens(N, 1));
    }

    static byte[] randomTokens(int n, long seed) {
        Random r = new Random(seed);
        ByteBuffer b = ByteBuffer.allocate(n * 3 * HEADS * D * 4).order(ByteOrder.LITTLE_ENDIAN);
        while (b.hasRemaining()) b.putFloat((float) r.nextGaussian());
        return b.array();
    }

    static Cli.Run stream(Path in, Path out, String... extra) {
        List<String> args = new ArrayList<>(List.of("stream", "--heads", "" + HEADS, "--head-dim", "" + D, "--segments",
                "16,64", "--dilations", "1,2", "--threads", "1", "--quiet", "--in", in.toString(), "--out", out.toString()));
        args.addAll(List.of(extra));
        return Cli.run(args.toArray(String[]::new));
    }

    /** A run stopped mid-token after a snapshot at token 100: the state and OUT.partial stay for a resume. */
    private Path interrupted(Path out, Path state, String... extra) throws Exception {
        Path broken = tmp.resolve("broken");
        byte[] all = Files.readAllBytes(tokens);
        Files.write(broken, Arrays.copyOf(all, all.length / 2 + 5));
        List<String> args = new ArrayList<>(List.of("--snapshot-every", "100", "--state", state.toString()));
        args.addAll(List.of(extra));
        Cli.Run first = stream(broken, out, args.toArray(String[]::new));
        assertEquals(1, first.code(), first.toString());
        return broken;
    }

    /**
     * --lengths: the input's sequences stream one after another, each alone (its rows are those of a stream of it by
     * itself), and a run stopped inside the third resumes from its snapshot to the same bytes.
     */
    @Test
    void aBatchStreamsEachSequenceAloneAndResumesInsideOne() throws Exception {
        byte[] all = Files.readAllBytes(tokens);
        int tokenBytes = 3 * HEADS * D * 4;
        int[] lengths = {120, 45, 135};
        java.io.ByteArrayOutputStream expected = new java.io.ByteArrayOutputStream();
        int from = 0;
        for (int b = 0; b < 3; b++) {
            Path part = tmp.resolve("part" + b);
            Files.write(part, Arrays.copyOfRange(all, from * tokenBytes, (from + lengths[b]) * tokenBytes));
            Cli.Run alone = stream(part, tmp.resolve("alone" + b));
            assertEquals(0, alone.code(), alone.toString());
            expected.write(Files.readAllBytes(tmp.resolve("alone" + b)));
            from += lengths[b];
        }
        Path out = tmp.resolve("rows");
        Cli.Run batch = stream(tokens, out, "--lengths", "120,45,135");
        assertEquals(0, batch.code(), batch.toString());
        assertArrayEquals(expected.toByteArray(), Files.readAllBytes(out));

        Path resumed = tmp.resolve("resumed");
        Path state = tmp.resolve("state");
        Path broken = tmp.resolve("broken");
        Files.write(broken, Arrays.copyOf(all, 230 * tokenBytes + 5));                   // inside sequence 2
        Cli.Run first = stream(broken, resumed, "--lengths", "120,45,135", "--snapshot-every", "50", "--state", state.toString());
        assertEquals(1, first.code(), first.toString());
        Cli.Run other = stream(tokens, resumed, "--lengths", "120,46,134", "--snapshot-every", "50", "--state", state.toString());
        assertTrue(other.code() == 1 && other.err().contains("lengths changed since the run started"), other.toString());
        Cli.Run again = stream(tokens, resumed, "--lengths", "120,45,135", "--snapshot-every", "50", "--state",
                state.toString(), "--json");
        assertEquals(0, again.code(), again.toString());
        assertTrue(again.out().contains("\"tokens\":100,"), "the run from the snapshot at token 200: " + again.out());
        assertArrayEquals(expected.toByteArray(), Files.readAllBytes(resumed));

        Cli.Run shortInput = stream(tokens, tmp.resolve("short"), "--lengths", "120,45,136");
        assertTrue(shortInput.code() == 1 && shortInput.oneErrorLine()
                && shortInput.err().contains("the input ends at token 300, inside sequence 2 (135 of its 136 tokens)"),
                shortInput.toString());
        Cli.Run longInput = stream(tokens, tmp.resolve("long"), "--lengths", "120,45,134");
        assertTrue(longInput.code() == 1 && longInput.oneErrorLine()
                && longInput.err().contains("holds more than the 299 tokens of the --lengths"), longInput.toString());
        assertFalse(Files.exists(tmp.resolve("short")) || Files.exists(tmp.resolve("long")));
    }

    @Test
    void statReadsAStreamState() throws Exception {
        Path state = tmp.resolve("st");
        interrupted(tmp.resolve("rows"), state);
        Cli.Run stat = Cli.run("stat", state.toString());
        assertEquals(0, stat.code(), stat.toString());
        assertTrue(stat.out().startsWith(state + ": stream state, stopped (no process holds it; run the same stream"
                + " command to resume"), stat.out());
        assertTrue(stat.out().contains("tokens done      100 at the last snapshot"), stat.out());
        Cli.Run json = Cli.run("stat", state.toString(), "--json");
        assertTrue(json.out().startsWith("{\"dir\":") && json.out().contains("\"state\":\"stopped\"")
                && json.out().contains("\"tokensDone\":100"), json.out());
        Cli.Run nothing = Cli.run("stat", tmp.resolve("nowhere").toString());
        assertEquals(1, nothing.code(), nothing.toString());
        assertTrue(nothing.oneErrorLine() && nothing.err().contains("no run here"), nothing.err());
    }

    @Test
    void anInputThatIsTheOutputIsRefusedWithOrWithoutForce() throws Exception {
        byte[] before = Files.readAllBytes(tokens);
        for (String[] extra : new String[][]{{}, {"--force"}}) {
            Cli.Run run = stream(tokens, tokens, extra);
            assertTrue(run.code() != 0, run.toString());
            assertTrue(run.oneErrorLine() && run.err().contains("the run would overwrite it"), run.err());
            assertArrayEquals(before, Files.readAllBytes(tokens));
        }
    }

    @Test
    void anExistingOutputNeedsForce() throws Exception {
        Path out = tmp.resolve("rows");
        Files.writeString(out, "keep me");
        Cli.Run run = stream(tokens, out);
        assertEquals(1, run.code(), run.toString());
        assertTrue(run.err().contains("use --force"), run.err());
        assertEquals("keep me", Files.readString(out));
        Cli.Run forced = stream(tokens, out, "--force");
        assertEquals(0, forced.code(), forced.toString());
        assertEquals((long) N * HEADS * D * 4, Files.size(out));
    }

    @Test
    void anOutputInsideTheStateDirectoryIsRefused() throws Exception {
        Path state = tmp.resolve("state");
        Cli.Run run = stream(tokens, state.resolve("stream.state"), "--state", state.toString(), "--snapshot-every", "50");
        assertTrue(run.code() != 0, run.toString());
        assertTrue(run.oneErrorLine() && run.err().contains("inside the state directory"), run.err());
    }

    @Test
    void aStateDirectoryHeldByAnotherRunIsRefused() throws Exception {
        Path state = tmp.resolve("state");
        try (JobLock held = JobLock.acquire(state.resolve("lock"), state)) {
            Cli.Run run = stream(tokens, tmp.resolve("rows"), "--state", state.toString(), "--snapshot-every", "50");
            assertEquals(1, run.code(), run.toString());
            assertTrue(run.oneErrorLine() && run.err().contains("another run"), run.err());
        }
        assertFalse(Files.exists(tmp.resolve("rows")));
    }

    @Test
    void anOutputHeldByAnotherRunIsRefused() throws Exception {
        Path out = tmp.resolve("rows");
        try (JobLock held = JobLock.acquire(out.resolveSibling("rows.run").resolve("lock"), out)) {
            Cli.Run run = stream(tokens, out);
            assertEquals(1, run.code(), run.toString());
            assertTrue(run.oneErrorLine() && run.err().contains("another run"), run.err());
        }
        assertFalse(Files.exists(out));
    }

    @Test
    void aResumeWithAnotherDtypeIsRefused() throws Exception {
        Path out = tmp.resolve("rows");
        Path state = tmp.resolve("state");
        interrupted(out, state);
        Cli.Run run = stream(tokens, out, "--snapshot-every", "100", "--state", state.toString(), "--dtype", "f16");
        assertEquals(1, run.code(), run.toString());
        assertTrue(run.oneErrorLine() && run.err().contains("dtype") && run.err().contains("--restart"), run.err());
        assertFalse(Files.exists(out));
    }

    @Test
    void aResumeWithAnotherInputOfTheSameLengthIsRefused() throws Exception {
        Path out = tmp.resolve("rows");
        Path state = tmp.resolve("state");
        interrupted(out, state);
        Path other = tmp.resolve("other.f32");
        Files.write(other, randomTokens(N, 2));
        Cli.Run run = stream(other, out, "--snapshot-every", "100", "--state", state.toString());
        assertEquals(1, run.code(), run.toString());
        assertTrue(run.oneErrorLine() && run.err().contains("changed since the run started"), run.err());
        // the same input (grown from the prefix the first run read) resumes
        Cli.Run same = stream(tokens, out, "--snapshot-every", "100", "--state", state.toString());
        assertEquals(0, same.code(), same.toString());
        Cli.Run whole = stream(tokens, tmp.resolve("whole"));
        assertEquals(0, whole.code(), whole.toString());
        assertArrayEquals(Files.readAllBytes(tmp.resolve("whole")), Files.readAllBytes(out));
    }

    @Test
    void aDamagedSnapshotSaysRestart() throws Exception {
        Path out = tmp.resolve("rows");
        Path state = tmp.resolve("state");
        interrupted(out, state);
        Path snapshot = state.resolve(StreamCommand.SNAPSHOT);
        byte[] bytes = Files.readAllBytes(snapshot);
        bytes[bytes.length - 20] ^= 0x5a;
        Files.write(snapshot, bytes);
        Cli.Run run = stream(tokens, out, "--snapshot-every", "100", "--state", state.toString());
        assertEquals(1, run.code(), run.toString());
        assertTrue(run.oneErrorLine() && run.err().contains("--restart"), run.err());
    }

    @Test
    void aFailedStreamWithoutStateLeavesNothing() throws Exception {
        Path broken = tmp.resolve("broken");
        byte[] all = Files.readAllBytes(tokens);
        Files.write(broken, Arrays.copyOf(all, all.length / 2 + 5));
        Path out = tmp.resolve("rows");
        Cli.Run run = stream(broken, out);
        assertEquals(1, run.code(), run.toString());
        assertTrue(run.err().contains("ends inside a token") && !run.err().contains("I/O error"), run.err());
        assertFalse(Files.exists(out));
        assertFalse(Files.exists(tmp.resolve("rows.partial")), "no litter");
        assertFalse(Files.exists(tmp.resolve("rows.run")), "no litter");
    }

    @Test
    void aStateTooLargeForMemoryIsRefusedBeforeItIsAllocated() throws Exception {
        System.setProperty(MemoryBudget.AVAILABLE_PROPERTY, "1024");
        try {
            Cli.Run run = stream(tokens, tmp.resolve("rows"));
            assertEquals(1, run.code(), run.toString());
            assertTrue(run.oneErrorLine() && run.err().contains("--state"), run.err());
        } finally {
            System.clearProperty(MemoryBudget.AVAILABLE_PROPERTY);
        }
        // on disk, the state is not held in memory
        Cli.Run mapped = stream(tokens, tmp.resolve("rows"), "--state", tmp.resolve("s").toString());
        assertEquals(0, mapped.code(), mapped.toString());
    }

    static byte[] concat(byte[]... parts) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        for (byte[] p : parts) out.writeBytes(p);
        return out.toByteArray();
    }
}
