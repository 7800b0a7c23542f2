package dev.longnet.storage;

import java.io.IOException;
import java.math.BigInteger;
import java.net.URISyntaxException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import static dev.longnet.storage.TestFiles.assertFormatError;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Checkpoints written by torch.save (make_torch_fixtures.py), read against the values torch itself saved. */
class TorchCheckpointTest {
    @TempDir
    Path dir;

    static Path fixture(String name) {
        try {
            return Path.of(TorchCheckpointTest.class.getResource("/torch/" + name).toURI());
        } catch (URISyntaxException | NullPointerException e) {
            throw new IllegalStateException("missing fixture " + name, e);
        }
    }

    @SuppressWarnings("unchecked")
    static Map<String, Object> expected(String file) throws IOException {
        Map<String, Object> all = (Map<String, Object>) Json.parse(Files.readString(fixture("expected.json")));
        return (Map<String, Object>) all.get(file);
    }

    /** Every F32/F16/BF16 tensor of the file, in order, with torch's dtype, shape and exact values. */
    @SuppressWarnings("unchecked")
    @ParameterizedTest
    @ValueSource(strings = {"f32.pt", "dtypes.pt", "param.pt", "views.pt", "model.pt", "state_dict.pt", "fairseq.pt", "empty.pt"})
    void tensorsMatchTorch(String name) throws IOException {
        Map<String, Object> expected = expected(name);
        try (TensorFile file = TensorFile.open(fixture(name))) {
            assertInstanceOf(TorchCheckpoint.class, file);
            assertEquals("torch", file.format());
            assertEquals(List.copyOf(expected.keySet()).stream().sorted().toList(), file.names().stream().sorted().toList());
            for (String tensor : file.names()) {
                Map<String, Object> e = (Map<String, Object>) expected.get(tensor);
                TensorFile.Info info = file.info(tensor);
                assertEquals(e.get("dtype"), info.dtype().name(), tensor);
                long[] shape = ((List<Long>) e.get("shape")).stream().mapToLong(Long::longValue).toArray();
                assertArrayEquals(shape, info.shape(), tensor);
                List<Long> bits = (List<Long>) e.get("bits");
                assertEquals(bits.size() * (long) info.dtype().bytes(), info.byteSize());
                TensorRows rows = file.tensor(tensor);
                assertFalse(rows.writable());
                try (RowWindow w = rows.window(0, rows.rows())) {
                    for (int i = 0; i < bits.size(); i++) {
                        assertEquals(bits.get(i).intValue(), Float.floatToRawIntBits(info.dtype().get(w.segment(), i)),
                                tensor + "[" + i + "]");
                    }
                }
            }
        }
    }

    @Test
    void namesKeepTheStateDictOrder() throws IOException {
        try (TorchCheckpoint ckpt = TorchCheckpoint.open(fixture("model.pt"))) {
            assertEquals(List.of("0.weight", "0.bias", "1.weight", "1.bias", "2.weight", "2.bias", "2.running_mean",
                    "2.running_var"), List.copyOf(ckpt.names()));
            assertEquals("model", ckpt.stateDictKey());
            assertEquals(Map.of("2.num_batches_tracked", "int64 tensor ()"), ckpt.skipped());
            assertEquals(Map.of("epoch", 3L), ckpt.values());
        }
        try (TorchCheckpoint ckpt = TorchCheckpoint.open(fixture("dtypes.pt"))) {
            assertEquals(List.of("w32", "w16", "wbf", "inf"), List.copyOf(ckpt.names()));
            assertEquals("", ckpt.stateDictKey());
        }
    }

    @Test
    void viewsAreSlicesOfTheirSharedStorage() throws IOException {
        try (TorchCheckpoint ckpt = TorchCheckpoint.open(fixture("views.pt"))) {
            TorchCheckpoint.TensorInfo whole = ckpt.info("whole");
            TorchCheckpoint.TensorInfo slice = ckpt.info("slice");
            assertEquals(whole.storage(), slice.storage());
            assertEquals(0, whole.offset());
            assertEquals(8, slice.offset());
            assertArrayEquals(new long[]{3, 4}, slice.shape());
            assertEquals(20, ckpt.info("row").offset());
            TensorRows rows = ckpt.tensor("slice");
            try (RowWindow w = rows.window(1, 2)) {                 // rows 3 and 4 of arange(24).reshape(6, 4)
                for (int i = 0; i < 8; i++) assertEquals(12 + i, DType.F32.get(w.segment(), i));
            }
        }
    }

    @Test
    void transposedTensorsAreListedButRefused() throws IOException {
        Path file = fixture("transposed.pt");
        try (TorchCheckpoint ckpt = TorchCheckpoint.open(file)) {
            assertEquals(List.of("ok", "t"), List.copyOf(ckpt.names()));
            assertArrayEquals(new long[]{4, 6}, ckpt.info("t").shape());
            assertArrayEquals(new long[]{1, 4}, ckpt.info("t").stride());
            assertFormatError(file, "tensor \"t\" is stored non-contiguously (shape (4, 6), strides (1, 4))", () -> ckpt.tensor("t"));
            assertEquals(2, ckpt.tensor("ok").rows());
        }
    }

    @Test
    void scalarsHaveInfoButNoRows() throws IOException {
        try (TorchCheckpoint ckpt = TorchCheckpoint.open(fixture("scalar.pt"))) {
            assertArrayEquals(new long[0], ckpt.info("s").shape());
            assertEquals(4, ckpt.info("s").byteSize());
            assertThrows(IllegalArgumentException.class, () -> ckpt.tensor("s"));
            assertEquals(2, ckpt.tensor("v").rows());
        }
    }

    @SuppressWarnings("unchecked")
    @Test
    void fairseqCheckpointsKeepTheirConfigurationAsPlainValues() throws IOException {
        try (TorchCheckpoint ckpt = TorchCheckpoint.open(fixture("fairseq.pt"))) {
            assertEquals("model", ckpt.stateDictKey());
            Map<String, Object> values = ckpt.values();
            assertEquals(List.of("args", "cfg", "extra_state", "optimizer_history", "last_optimizer_state"),
                    List.copyOf(values.keySet()));
            assertEquals(new TorchCheckpoint.Unread("argparse.Namespace"), values.get("args"));
            Map<Object, Object> cfg = (Map<Object, Object>) values.get("cfg");
            Map<Object, Object> model = (Map<Object, Object>) cfg.get("model");
            assertEquals("longnet", model.get("_name"));
            assertEquals(8L, model.get("decoder_embed_dim"));
            assertEquals(0.1, model.get("dropout"));
            assertEquals(Boolean.TRUE, model.get("xpos"));
            assertEquals(List.of(2048L, 4096L), model.get("segment_length"));
            assertTrue(model.containsKey("checkpoint"));
            assertNull(model.get("checkpoint"));
            assertEquals(BigInteger.TWO.pow(70), ((Map<Object, Object>) cfg.get("common")).get("big"));
            Map<Object, Object> extra = (Map<Object, Object>) values.get("extra_state");
            assertEquals(new TorchCheckpoint.Unread("numpy.core.multiarray.scalar"), extra.get("best"));
            Map<Object, Object> state = (Map<Object, Object>) ((Map<Object, Object>) values.get("last_optimizer_state")).get("state");
            assertEquals(new TorchCheckpoint.TensorValue("float32", List.of(3L, 4L)),
                    ((Map<Object, Object>) state.get(0L)).get("exp_avg"));
            assertThrows(UnsupportedOperationException.class, () -> values.put("x", 1));
        }
    }

    @Test
    void unsupportedDtypesAreSkippedNotLoaded() throws IOException {
        try (TorchCheckpoint ckpt = TorchCheckpoint.open(fixture("int64.pt"))) {
            assertEquals(List.of("x"), List.copyOf(ckpt.names()));
            assertEquals(Map.of("n", "int64 tensor (2,)"), ckpt.skipped());
        }
    }

    @Test
    void parametersWithStateReadAsTheirTensor() throws IOException {
        try (TorchCheckpoint ckpt = TorchCheckpoint.open(fixture("param_state.pt"))) {
            assertEquals(List.of("p"), List.copyOf(ckpt.names()));
            assertEquals(1, ckpt.info("p").offset());
            try (RowWindow w = ckpt.tensor("p").window(0, 3)) {
                for (int i = 0; i < 3; i++) assertEquals(i + 1, DType.F32.get(w.segment(), i));
            }
        }
    }

    @Test
    void nothingOutsideTheAllowListIsResolved() {
        Path file = fixture("evil_global.pt");
        assertFormatError(file, "global posix.system is not allowed", () -> TorchCheckpoint.open(file));
        assertFalse(Files.exists(Path.of("/tmp/longnet-pwned")));
    }

    @Test
    void hostileCheckpointsAreRefusedWithOneLine() {
        refused("missing_storage.pt", "storage \"0\" is missing from the archive (no entry archive/data/0)");
        refused("offset_beyond.pt", "offset 6 with shape (4,) and strides (1,) reaches beyond its storage of 8 elements");
        refused("short_storage.pt", "storage \"0\" holds 16 bytes, fewer than its 8 elements of 4 bytes");
        refused("cycle.pt", "checkpoint values nest deeper than 64 levels (or hold a cycle)");
        refused("deflated.pt", "storage entry archive/data/0 is compressed (zip method 8)");
        refused("legacy.pt", "legacy torch format");
        refused("big_endian.pt", "byte order \"big\" is not supported (only little-endian)");
        refused("torchscript.pt", "a TorchScript archive (torch.jit.save) is not read");
    }

    @Test
    void legacyFilesAreRefusedByTheFactoryToo() {
        Path file = fixture("legacy.pt");
        assertFormatError(file, "re-save it with torch>=1.6", () -> TensorFile.open(file));
    }

    @Test
    void aBarePickleIsNamedAsOne() throws IOException {
        // pickle.dumps({}, protocol=4): PROTO 4, FRAME 2, EMPTY_DICT, STOP
        Path file = Files.write(dir.resolve("bare.pkl"), new byte[]{(byte) 0x80, 4, (byte) 0x95, 2, 0, 0, 0, 0, 0, 0, 0, '}', '.'});
        assertFormatError(file, "a bare pickle, not a torch.save checkpoint", () -> TensorFile.open(file));
    }

    @Test
    void theFactoryStillOpensSafetensors() throws IOException {
        Path file = dir.resolve("x.safetensors");
        new SafetensorsWriter().tensor("a", DType.F16, new long[]{2}, new float[]{1, 2}).write(file);
        try (TensorFile f = TensorFile.open(file)) {
            assertInstanceOf(SafetensorsFile.class, f);
            assertEquals("safetensors", f.format());
            assertEquals(DType.F16, f.info("a").dtype());
        }
    }

    @Test
    void truncatedAndNonZipFilesAreRefused() throws IOException {
        byte[] good = Files.readAllBytes(fixture("f32.pt"));
        Path cut = dir.resolve("cut.pt");
        Files.write(cut, java.util.Arrays.copyOf(good, good.length - 30));
        assertFormatError(cut, "no end of central directory record", () -> TensorFile.open(cut));
        Path tiny = dir.resolve("tiny.pt");
        Files.write(tiny, new byte[]{'P', 'K', 3, 4});
        assertFormatError(tiny, "no end of central directory record", () -> TensorFile.open(tiny));
    }

    private static void refused(String name, String reason) {
        Path file = fixture(name);
        assertFormatError(file, reason, () -> TorchCheckpoint.open(file));
    }

    /** Names of every fixture torch wrote (the fuzz test mutates them). */
    static List<String> wellFormed() {
        return new ArrayList<>(List.of("f32.pt", "dtypes.pt", "param.pt", "views.pt", "transposed.pt", "model.pt",
                "state_dict.pt", "fairseq.pt", "empty.pt", "scalar.pt", "int64.pt"));
    }
}
