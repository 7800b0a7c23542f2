package dev.longnet.engine.stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.longnet.engine.AttentionConfig;
import dev.longnet.engine.Level;
import dev.longnet.storage.SnapshotFile;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** The state's size is fixed by the configuration: it does not grow with the length of the stream. */
class StreamStateTest {
    @TempDir
    Path dir;

    @ParameterizedTest
    @ValueSource(booleans = {false, true})
    void stateDoesNotGrowWithN(boolean causal) throws IOException {
        AttentionConfig config = AttentionConfig.builder().levels(new long[]{64, 256, 1024}, new int[]{1, 4, 16})
                .heads(2).headDim(4).causal(causal).build();
        long stateBytes = AttentionStream.stateBytes(config);
        long maxPayload = 0;
        int rowFloats = 8;
        float[] chunk = new float[rowFloats * 1000];
        java.util.Arrays.fill(chunk, 0.5f);
        try (AttentionStream stream = AttentionStream.open(config, StreamOptions.defaults().withStateDirectory(dir),
                RowSink.DISCARD)) {
            Path file = dir.resolve(StateMemory.FILE);
            assertEquals(stateBytes, Files.size(file), "the state file has the size computed from the configuration");
            for (int i = 0; i < 100; i++) {                                // 100,000 rows: ~100 times the largest w
                stream.push(chunk, chunk, chunk, 1000);
                if (i % 25 == 24) {
                    Path snapshot = dir.resolve("snap");
                    stream.snapshot(snapshot);
                    try (SnapshotFile.Reader reader = SnapshotFile.open(snapshot)) {
                        long payload = Long.parseLong(reader.header().get(SnapshotFile.PAYLOAD_BYTES));
                        maxPayload = Math.max(maxPayload, payload);
                    }
                }
                assertEquals(stateBytes, Files.size(file), "the state file never grows");
            }
        }
        long bound;
        if (causal) {                       // Σ ceil(w/r) rows of k and v per head
            long rows = 0;
            for (Level l : config.levels()) rows += (l.segmentLength() + l.dilation() - 1) / l.dilation();
            bound = 2 * rows * config.heads() * config.headDim() * 4;
        } else {                            // q, k, v rows of fewer than 2·w_max positions
            bound = 3 * 2 * 1024L * rowFloats * 4;
        }
        assertTrue(maxPayload <= bound, "payload " + maxPayload + " > bound " + bound);
        assertTrue(stateBytes < bound + (8L << 20), "state " + stateBytes);
    }
}
