package dev.longnet.engine;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.longnet.storage.CountersFile;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Closing the counters while the sampler is busy: the sampler must have ended before the file is unmapped (a
 * late write into an unmapped file is a SIGSEGV that kills the JVM, not an exception).
 */
class RunCountersTest {
    @TempDir
    Path dir;

    @Test
    void closeStopsABusySamplerBeforeUnmapping() throws Exception {
        for (int i = 0; i < 200; i++) {
            Path file = dir.resolve("counters" + i);
            RunCounters counters = RunCounters.start(file, 1000, 10, 0, 0, 0, 0);   // samples without pause
            Progress.Listener listener = counters.listener(Progress.Listener.NONE);
            listener.onProgress(new Progress(i, 500, 1000, 1, 0, 3, 10));
            assertTrue(counters.sampling(), "the sampler runs");
            Thread.currentThread().interrupt();                 // an interrupted closer still waits for the sampler
            counters.close();
            assertTrue(Thread.interrupted(), "the interrupt is kept for the caller");
            assertFalse(counters.sampling(), "the sampler has ended when close returns");
            CountersFile.Snapshot s = CountersFile.read(file);
            assertEquals(500, RunCounter.TOKENS_DONE.in(s, -1));
            assertEquals(3, RunCounter.UNITS_DONE.in(s, -1));
        }
    }
}
