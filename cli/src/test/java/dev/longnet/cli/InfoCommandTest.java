package dev.longnet.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class InfoCommandTest {
    @TempDir
    Path tmp;

    @Test
    void describesNpyAndEachSafetensorsTensor() throws IOException {
        assertEquals(0, Cli.run("gen", "--n", "10", "--heads", "2", "--head-dim", "4", "--dtype", "f16",
                "--out", tmp.toString(), "--quiet").code());
        Path st = safetensors(tmp.resolve("model.safetensors"));
        Path q = tmp.resolve("q.npy");
        Cli.Run run = Cli.run("info", q.toString(), st.toString());
        assertEquals(0, run.code(), run.toString());
        assertEquals("", run.err());
        String[] lines = run.out().strip().split("\n");
        assertEquals(q + ": npy 1.0, shape (10, 2, 4), f16, 160 data bytes (160 B), file " + Files.size(q) + " bytes", lines[0]);
        assertEquals(st + ": safetensors, 2 tensors, file " + Files.size(st) + " bytes", lines[1]);
        assertEquals("  __metadata__: format=pt", lines[2]);
        assertEquals("  weight: shape (2, 3), f32, 24 bytes (24 B)", lines[3]);
        assertEquals("  bias: shape (3,), bf16, 6 bytes (6 B)", lines[4]);
    }

    @Test
    void aBadFileIsOneLineAndTheOthersStillPrint() throws IOException {
        assertEquals(0, Cli.run("gen", "--n", "4", "--heads", "1", "--head-dim", "1", "--out", tmp.toString(),
                "--quiet").code());
        Path missing = tmp.resolve("missing.npy");
        Path junk = Files.write(tmp.resolve("junk.safetensors"), new byte[]{1, 2, 3});
        Cli.Run run = Cli.run("info", missing.toString(), tmp.resolve("v.npy").toString(), junk.toString());
        assertEquals(1, run.code(), run.toString());
        assertTrue(run.out().startsWith(tmp.resolve("v.npy") + ": npy"), run.out());
        String[] errors = run.err().strip().split("\n");
        assertEquals(2, errors.length, run.err());
        assertEquals("longnet info: " + missing + ": no such file or directory", errors[0]);
        assertTrue(errors[1].startsWith("longnet info: " + junk + ": truncated"), errors[1]);
    }

    @Test
    void aFileIsNeeded() {
        Cli.Run run = Cli.run("info");
        assertEquals(2, run.code());
        assertTrue(run.oneErrorLine() && run.err().contains("FILE"), run.err());
    }

    /** A two-tensor safetensors file with metadata, written by hand. */
    private static Path safetensors(Path file) throws IOException {
        String header = "{\"__metadata__\":{\"format\":\"pt\"},"
                + "\"weight\":{\"dtype\":\"F32\",\"shape\":[2,3],\"data_offsets\":[0,24]},"
                + "\"bias\":{\"dtype\":\"BF16\",\"shape\":[3],\"data_offsets\":[24,30]}}";
        byte[] json = header.getBytes(StandardCharsets.UTF_8);
        ByteBuffer bytes = ByteBuffer.allocate(8 + json.length + 30).order(ByteOrder.LITTLE_ENDIAN);
        bytes.putLong(json.length).put(json);
        Files.write(file, bytes.array());
        return file;
    }
}
