package dev.longnet.cli;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.longnet.engine.model.ModelConfig;
import dev.longnet.engine.model.ModelFile;
import dev.longnet.storage.SafetensorsFile;
import dev.longnet.storage.TorchCheckpoint;
import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.net.URISyntaxException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** longnet convert on checkpoints written by torch.save (storage's make_torch_fixtures.py). */
class ConvertCommandTest {
    @TempDir
    Path tmp;

    private Path fixture(String name) throws IOException {
        try {
            Path source = Path.of(ConvertCommandTest.class.getResource("/torch/" + name).toURI());
            return Files.copy(source, tmp.resolve(name), StandardCopyOption.REPLACE_EXISTING);
        } catch (URISyntaxException | NullPointerException e) {
            throw new IllegalStateException("missing fixture " + name, e);
        }
    }

    @Test
    void copiesTheStateDictsTensorsByteForByte() throws IOException {
        Path in = fixture("fairseq.pt");
        Path out = tmp.resolve("model.safetensors");
        Cli.Run run = Cli.run("convert", in.toString(), "--out", out.toString());
        assertEquals(0, run.code(), run.toString());
        assertEquals("longnet convert: " + in + ": left out \"2.num_batches_tracked\" (int64 tensor ())", run.err().strip());
        assertTrue(run.out().startsWith(out + ": 8 tensors (8 f32), "), run.out());
        assertFalse(Files.exists(tmp.resolve("model.safetensors.partial")));
        try (TorchCheckpoint ckpt = TorchCheckpoint.open(in); SafetensorsFile st = SafetensorsFile.open(out)) {
            assertEquals(List.copyOf(ckpt.names()), List.copyOf(st.names()));
            assertEquals("pt", st.metadata().get("format"));
            for (String name : ckpt.names()) {
                assertEquals(ckpt.info(name).dtype(), st.info(name).dtype(), name);
                assertArrayEquals(ckpt.info(name).shape(), st.info(name).shape(), name);
                assertEquals(-1, MemorySegment.mismatch(ckpt.bytes(name), 0, ckpt.bytes(name).byteSize(),
                        st.bytes(name), 0, st.bytes(name).byteSize()), name);
                assertTrue(ckpt.bytes(name).byteSize() > 0 && st.bytes(name).get(ValueLayout.JAVA_BYTE, 0)
                        == ckpt.bytes(name).get(ValueLayout.JAVA_BYTE, 0));
            }
        }
        Cli.Run quiet = Cli.run("convert", in.toString(), "--out", out.toString(), "--force", "--quiet");
        assertEquals(0, quiet.code(), quiet.toString());
        assertEquals("", quiet.err());
    }

    @Test
    void aConfigMakesTheCheckpointARunnableModel() throws IOException {
        // torchscale's own LongNetDecoder with learned positions (engine's make_torchscale_decoder_fixtures.py)
        Path in = fixture("decoder.pt");
        Path config = fixture("decoder.json");
        Path out = tmp.resolve("decoder.safetensors");
        Cli.Run run = Cli.run("convert", in.toString(), "--config", config.toString(), "--out", out.toString());
        assertEquals(0, run.code(), run.toString());
        ModelConfig expected = ModelConfig.parse(Files.readString(config));
        try (SafetensorsFile st = SafetensorsFile.open(out)) {
            assertEquals(expected, ModelFile.config(st));
        }
        assertEquals(expected, ModelFile.load(out).config());
        Cli.Run info = Cli.run("info", out.toString());
        assertTrue(info.out().contains("learned positions=64 semantics=torchscale"), info.out());

        Path wrong = Files.writeString(tmp.resolve("wrong.json"), Files.readString(config)
                .replace("\"decoder_layers\": 2", "\"decoder_layers\": 3"));
        Cli.Run refused = Cli.run("convert", in.toString(), "--config", wrong.toString(), "--out",
                tmp.resolve("w.safetensors").toString());
        assertEquals(1, refused.code(), refused.toString());
        assertTrue(refused.oneErrorLine() && refused.err().contains("does not hold the model of " + wrong)
                && refused.err().contains("layers.2."), refused.err());
        assertFalse(Files.exists(tmp.resolve("w.safetensors")));
    }

    @Test
    void anExistingOutputNeedsForceAndTheInputIsNeverReplaced() throws IOException {
        Path in = fixture("fairseq.pt");
        Path out = Files.writeString(tmp.resolve("out.safetensors"), "keep");
        Cli.Run run = Cli.run("convert", in.toString(), "--out", out.toString());
        assertEquals(1, run.code(), run.toString());
        assertEquals("longnet convert: " + out + ": output exists (use --force to replace it)", run.err().strip());
        assertEquals("keep", Files.readString(out));
        byte[] before = Files.readAllBytes(in);
        Cli.Run same = Cli.run("convert", in.toString(), "--out", in.toString(), "--force");
        assertEquals(1, same.code(), same.toString());
        assertTrue(same.oneErrorLine() && same.err().contains("is the output"), same.err());
        assertArrayEquals(before, Files.readAllBytes(in));
    }

    @Test
    void refusalsAreOneLineAndLeaveNoOutput() throws IOException {
        refused("transposed.pt", "tensor \"t\" is stored non-contiguously");
        refused("legacy.pt", "legacy torch format");
        refused("evil_global.pt", "global posix.system is not allowed");
    }

    private void refused(String name, String reason) throws IOException {
        Path in = fixture(name);
        Path out = tmp.resolve(name + ".safetensors");
        Cli.Run run = Cli.run("convert", in.toString(), "--out", out.toString());
        assertEquals(1, run.code(), run.toString());
        assertTrue(run.oneErrorLine(), run.err());
        assertTrue(run.err().startsWith("longnet convert: " + in + ": "), run.err());
        assertTrue(run.err().contains(reason), run.err());
        assertFalse(Files.exists(out));
        assertFalse(Files.exists(tmp.resolve(name + ".safetensors.partial")));
    }

    @Test
    void infoListsACheckpointsTensors() throws IOException {
        Path in = fixture("fairseq.pt");
        Cli.Run run = Cli.run("info", in.toString());
        assertEquals(0, run.code(), run.toString());
        String[] lines = run.out().strip().split("\n");
        assertEquals(in + ": torch checkpoint, 8 tensors (state dict under \"model\"), file " + Files.size(in) + " bytes", lines[0]);
        assertEquals("  other entries: args, cfg, extra_state, optimizer_history, last_optimizer_state", lines[1]);
        assertEquals("  0.weight: shape (3, 4), f32, 48 bytes (48 B)", lines[2]);
        assertEquals("  2.num_batches_tracked: int64 tensor (), not loaded", lines[lines.length - 1]);
    }

    @Test
    void scoringACheckpointSaysWhatIsMissing() throws IOException {
        Path in = fixture("fairseq.pt");
        Path tokens = Files.write(tmp.resolve("t.bytes"), new byte[]{1, 2, 3, 4});
        Cli.Run run = Cli.run("score", "--model", in.toString(), "--tokens", tokens.toString());
        assertEquals(1, run.code(), run.toString());
        assertTrue(run.oneErrorLine(), run.err());
        assertTrue(run.err().startsWith("longnet score: " + in + ": a PyTorch checkpoint carries no LongNet model configuration"),
                run.err());
    }
}
