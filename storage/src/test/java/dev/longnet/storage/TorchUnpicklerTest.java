package dev.longnet.storage;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import static dev.longnet.storage.TestFiles.assertFormatError;
import static org.junit.jupiter.api.Assertions.assertEquals;

/** The restricted unpickler's bounds and refusals, on pickles written by hand; and ZIP64 archives. */
class TorchUnpicklerTest {
    @TempDir
    Path dir;

    private Path checkpoint(String name, byte[] pickle) throws IOException {
        return Files.write(dir.resolve(name), TorchArchives.withPickle(pickle));
    }

    private static byte[] pickle(String... parts) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        out.write(0x80);
        out.write(2);
        for (String p : parts) out.writeBytes(p.getBytes(StandardCharsets.ISO_8859_1));
        return out.toByteArray();
    }

    private void refused(String name, byte[] pickle, String reason) throws IOException {
        Path file = checkpoint(name, pickle);
        assertFormatError(file, reason, () -> TorchCheckpoint.open(file));
    }

    @Test
    void boundsAndMalformedPicklesAreRefused() throws IOException {
        refused("stack.pt", pickle("]".repeat(TorchUnpickler.MAX_STACK + 1), "."), "more than 1048576 values on the pickle stack");
        refused("objects.pt", pickle("]0".repeat(TorchUnpickler.MAX_OBJECTS + 1), "}."), "more than 2097152 objects");
        refused("memo.pt", pickle("h\u0005."), "memo entry 5 is not defined (at byte 2)");
        refused("nostop.pt", pickle("}"), "the pickle ends without STOP");
        refused("string.pt", pickle("X\u00ff\u00ff\u00ff\u007f"), "runs past the pickle's end");
        refused("eval.pt", pickle("cbuiltins\neval\n"), "global builtins.eval is not allowed");
        refused("stackglobal.pt", pickle("\u008c\u0002os\u008c\u0006system\u0093"), "global os.system is not allowed");
        refused("opcode.pt", pickle("I1\n."), "pickle opcode 0x49 is not supported");
        refused("list.pt", pickle("]."), "holds a list, not a dict");
        refused("deep.pt", pickle("}X\u0001\u0000\u0000\u0000a", "]".repeat(100), "a".repeat(99), "s."),
                "checkpoint values nest deeper than 64 levels");
        refused("key.pt", pickle("})}s."), "a dict key of type a tuple is not supported");
        refused("setitem.pt", pickle("]K\u0001K\u0002s."), "SETITEM on a list, not a dict");
        refused("underflow.pt", pickle("0."), "pickle stack underflow");
        refused("newobj.pt", pickle("ccollections\nOrderedDict\n)\u0081."), "NEWOBJ of collections.OrderedDict is not allowed");
    }

    @Test
    void plainValuesRead() throws IOException {
        // {"a": [1, -2, 2**64, 0.5, True, None, "é", (3,)]}
        byte[] pkl = pickle("}X\u0001\u0000\u0000\u0000a](K\u0001J\u00fe\u00ff\u00ff\u00ff\u008a\u0009\u0000\u0000\u0000\u0000\u0000\u0000\u0000\u0000\u0001",
                "G?\u00e0\u0000\u0000\u0000\u0000\u0000\u0000\u0088NX\u0002\u0000\u0000\u0000\u00c3\u00a9K\u0003\u0085es.");
        try (TorchCheckpoint ckpt = TorchCheckpoint.open(checkpoint("plain.pt", pkl))) {
            assertEquals(List.of(), List.copyOf(ckpt.names()));
            assertEquals(Map.of("a", java.util.Arrays.asList(1L, -2L, java.math.BigInteger.TWO.pow(64), 0.5, true, null, "é",
                    List.of(3L))), ckpt.values());
        }
    }

    @Test
    void zip64ArchivesReadTheSame() throws IOException {
        Path original = TorchCheckpointTest.fixture("fairseq.pt");
        Path zip64 = Files.write(dir.resolve("zip64.pt"), TorchArchives.stored(TorchArchives.entries(original), true));
        try (TorchCheckpoint a = TorchCheckpoint.open(original); TorchCheckpoint b = TorchCheckpoint.open(zip64)) {
            assertEquals(List.copyOf(a.names()), List.copyOf(b.names()));
            assertEquals(a.values().keySet(), b.values().keySet());
            for (String name : a.names()) {
                assertEquals(a.info(name), b.info(name));
                MemorySegment x = a.bytes(name);
                MemorySegment y = b.bytes(name);
                assertEquals(-1, MemorySegment.mismatch(x, 0, x.byteSize(), y, 0, y.byteSize()), name);
            }
        }
    }
}
