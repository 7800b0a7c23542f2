package dev.longnet.cli;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.longnet.storage.NpyFile;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** longnet stream equals longnet attend byte for byte, survives an interruption, and refuses broken input. */
class StreamCommandTest {
    static final int N = 700;
    static final int HEADS = 3;
    static final int D = 8;

    @TempDir
    Path tmp;

    /** The data bytes of an .npy file. */
    static byte[] data(Path npy) throws IOException {
        byte[] all = Files.readAllBytes(npy);
        try (NpyFile f = NpyFile.open(npy)) {
            return Arrays.copyOfRange(all, (int) f.header().dataOffset(), all.length);
        }
    }

    /** q, k, v interleaved token by token, as longnet stream reads them. */
    static byte[] interleave(byte[] q, byte[] k, byte[] v, int rowBytes) {
        ByteArrayOutputStream tokens = new ByteArrayOutputStream();
        for (int p = 0; p < q.length / rowBytes; p++) {
            tokens.write(q, p * rowBytes, rowBytes);
            tokens.write(k, p * rowBytes, rowBytes);
            tokens.write(v, p * rowBytes, rowBytes);
        }
        return tokens.toByteArray();
    }

    private byte[] attendAndTokens(String dtype, List<String> config) throws IOException {
        Cli.Run gen = Cli.run("gen", "--n", "" + N, "--heads", "" + HEADS, "--head-dim", "" + D, "--seed", "3",
                "--dtype", dtype, "--out", tmp.toString(), "--quiet");
        assertEquals(0, gen.code(), gen.toString());
        List<String> args = new ArrayList<>(List.of("attend", "--q", tmp.resolve("q.npy").toString(), "--k",
                tmp.resolve("k.npy").toString(), "--v", tmp.resolve("v.npy").toString(), "--out",
                tmp.resolve("out.npy").toString(), "--quiet"));
        args.addAll(config);
        Cli.Run attend = Cli.run(args.toArray(String[]::new));
        assertEquals(0, attend.code(), attend.toString());
        int rowBytes = HEADS * D * (dtype.equals("f32") ? 4 : 2);
        Files.write(tmp.resolve("tokens"), interleave(data(tmp.resolve("q.npy")), data(tmp.resolve("k.npy")),
                data(tmp.resolve("v.npy")), rowBytes));
        return data(tmp.resolve("out.npy"));
    }

    private Cli.Run stream(String dtype, List<String> config, Path in, Path out, String... extra) {
        List<String> args = new ArrayList<>(List.of("stream", "--heads", "" + HEADS, "--head-dim", "" + D, "--dtype", dtype,
                "--in", in.toString(), "--out", out.toString()));
        args.addAll(config);
        args.addAll(List.of(extra));
        return Cli.run(args.toArray(String[]::new));
    }

    @ParameterizedTest
    @CsvSource({"f32,false", "f32,true", "f16,false", "f16,true"})
    void streamEqualsAttend(String dtype, boolean causal) throws IOException {
        List<String> config = new ArrayList<>(List.of("--segments", "64,200", "--dilations", "1,3"));
        if (causal) config.add("--causal");
        byte[] expected = attendAndTokens(dtype, config);
        Path rows = tmp.resolve("rows");
        Cli.Run run = stream(dtype, config, tmp.resolve("tokens"), rows, "--threads", "2");
        assertEquals(0, run.code(), run.toString());
        assertTrue(run.out().contains(N + " tokens"), run.out());
        assertTrue(run.err().contains("state"), run.err());
        assertArrayEquals(expected, Files.readAllBytes(rows));
    }

    @ParameterizedTest
    @CsvSource({"false", "true"})
    void streamEqualsAttendUnderTorchscaleSemantics(boolean causal) throws IOException {
        List<String> config = new ArrayList<>(List.of("--segments", "64,201", "--dilations", "1,3", "--semantics",
                "torchscale"));
        if (causal) config.add("--causal");
        byte[] expected = attendAndTokens("f32", config);
        Path rows = tmp.resolve("rows");
        Cli.Run run = stream("f32", config, tmp.resolve("tokens"), rows, "--threads", "2");
        assertEquals(0, run.code(), run.toString());
        assertArrayEquals(expected, Files.readAllBytes(rows));
        // w = 200 is not a multiple of r = 3: its segments shift past row 200, which a stream cannot follow.
        List<String> shifting = List.of("--segments", "64,200", "--dilations", "1,3", "--semantics", "torchscale");
        Cli.Run refused = stream("f32", shifting, tmp.resolve("tokens"), tmp.resolve("refused"));
        assertTrue(refused.code() == 2 && refused.oneErrorLine()
                && refused.err().contains("level (w=200, r=3) shifts its later segments"), refused.toString());
    }

    @ParameterizedTest
    @CsvSource({"false", "true"})
    void anInterruptedStreamResumesFromItsSnapshot(boolean causal) throws IOException {
        List<String> config = new ArrayList<>(List.of("--segments", "64,200", "--dilations", "1,3"));
        if (causal) config.add("--causal");
        byte[] expected = attendAndTokens("f32", config);
        byte[] tokens = Files.readAllBytes(tmp.resolve("tokens"));
        Path broken = tmp.resolve("broken");
        Files.write(broken, Arrays.copyOf(tokens, tokens.length * 2 / 3 + 5));    // ends inside a token
        Path rows = tmp.resolve("rows");
        Path state = tmp.resolve("state");
        Cli.Run first = stream("f32", config, broken, rows, "--snapshot-every", "100", "--state", state.toString());
        assertEquals(1, first.code(), first.toString());
        assertTrue(first.err().contains("ends inside a token"), first.err());
        assertFalse(Files.exists(rows), "no output under its name before the input ends");
        assertTrue(Files.exists(state.resolve(StreamCommand.SNAPSHOT)));

        Cli.Run second = stream("f32", config, tmp.resolve("tokens"), rows, "--snapshot-every", "100", "--state",
                state.toString());
        assertEquals(0, second.code(), second.toString());
        assertTrue(second.err().contains("resuming at token 400"), second.err());
        assertArrayEquals(expected, Files.readAllBytes(rows));
        assertFalse(Files.exists(state.resolve(StreamCommand.SNAPSHOT)), "the snapshot is removed at the end");
    }

    @ParameterizedTest
    @CsvSource({"--snapshot-every,5", "--heads,0"})
    void badFlagsAreUsageErrors(String flag, String value) throws IOException {
        Files.write(tmp.resolve("tokens"), new byte[0]);
        List<String> args = new ArrayList<>(List.of("stream", "--head-dim", "" + D, "--segments", "8", "--dilations", "1",
                "--in", tmp.resolve("tokens").toString(), "--out", tmp.resolve("rows").toString()));
        if (!flag.equals("--heads")) args.addAll(List.of("--heads", "" + HEADS));
        args.addAll(List.of(flag, value));
        Cli.Run run = Cli.run(args.toArray(String[]::new));
        assertEquals(2, run.code(), run.toString());
    }
}
