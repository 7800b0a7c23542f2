package dev.longnet.engine;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.longnet.storage.DType;
import dev.longnet.storage.ProcSelf;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.atomic.AtomicLong;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Split units with a scratch directory read keys and values gathered head by head ({@link GatheredKeys}): resident
 * memory stays bounded by the units' own rows and the heads in flight, not by the segment's keys, and the bits are
 * those of the keys read in place and of the run in memory.
 */
class GatheredKeysTest {
    @TempDir
    Path dir;

    /** Samples the resident bytes of the run's mapped files at every kernel call. */
    private static final class Sampling implements AttentionKernel {
        private final AttentionKernel kernel = AttentionKernels.cpu();
        private final Path directory;
        final AtomicLong most = new AtomicLong();

        Sampling(Path directory) throws IOException { this.directory = directory.toRealPath(); }

        @Override
        public String name() { return kernel.name(); }

        @Override
        public void attend(View q, View k, View v, View out, View lse, int qFrom, int qTo, boolean causal, float scale) {
            long resident = 0;
            for (Map.Entry<Path, Long> e : ProcSelf.residentBytesByFile().entrySet()) {
                if (e.getKey().startsWith(directory)) resident += e.getValue();
            }
            most.accumulateAndGet(resident, Math::max);
            kernel.attend(q, k, v, out, lse, qFrom, qTo, causal, scale);
        }
    }

    @Test
    void splitUnitsKeepResidentMemoryBoundedAndTheBits() throws Exception {
        assumeTrue(Files.isReadable(Path.of("/proc/self/smaps")), "needs Linux /proc");
        // One level whose segment is the whole sequence, 8 heads over 8 phases: 32 MiB of keys, 32 of values, 32
        // of output; units of about 1,000 rows (2 MiB of q, of out).
        int n = 16_384;
        AttentionConfig config = AttentionConfig.builder().levels(new long[]{1_048_576}, new int[]{8}).heads(8)
                .headDim(64).semantics(Semantics.TORCHSCALE).build();
        Random random = new Random(3);
        int size = n * config.heads() * config.headDim();
        double[] q = TestData.gaussian(random, size, 1.5), k = TestData.gaussian(random, size, 1.5),
                v = TestData.gaussian(random, size, 1);
        DilatedAttention.Options options = DilatedAttention.Options.defaults().withThreads(2).withBudget(8L << 20);
        Path run = Files.createDirectory(dir.resolve("run"));
        Sampling sampling = new Sampling(run);
        double[] gathered = KeyBlockTest.attendFiles(run, config, n, q, k, v, DType.F32,
                options.withKernel(sampling).withScratch(run), Tiling.KEY_BLOCK_ROWS);
        long bound = 16L << 20;
        assertTrue(sampling.most.get() <= bound, "resident file pages " + (sampling.most.get() >> 10)
                + " KiB while units ran, over " + (bound >> 10) + " KiB");
        double[] inPlace = KeyBlockTest.attendFiles(run, config, n, q, k, v, DType.F32, options, Tiling.KEY_BLOCK_ROWS);
        assertArrayEquals(inPlace, gathered, 0.0, "gathered keys change no bit");
        assertArrayEquals(KeyBlockTest.attend(config, n, q, k, v, options, Tiling.KEY_BLOCK_ROWS), gathered, 0.0,
                "as in memory");
    }

    @Test
    void gatheredKeysChangeNoBitWhateverTheShape() throws Exception {
        Random random = new Random(11);
        DType[] types = {DType.F32, DType.F16};
        for (int trial = 0; trial < 24; trial++) {
            int n = 50 + random.nextInt(700);
            AttentionConfig config = trial % 2 == 0 ? TestData.randomTorchscaleConfig(random, n)
                    : TestData.randomConfig(random, n);
            int keyBlock = trial % 3 == 0 ? 5 + random.nextInt(60) : Tiling.KEY_BLOCK_ROWS;
            DType type = types[trial / 2 % 2];
            int size = n * config.heads() * config.headDim();
            double[] q = TestData.gaussian(random, size, 1.5), k = TestData.gaussian(random, size, 1.5),
                    v = TestData.gaussian(random, size, 1);
            // A budget of a few rows or a few hundred: split units for most levels.
            long rowBytes = (long) config.heads() * (config.headDim() * (3L * type.bytes() + 4) + 4);
            long budget = rowBytes * (1 + random.nextInt(300));
            DilatedAttention.Options options = DilatedAttention.Options.defaults().withThreads(1 + trial % 3)
                    .withBudget(budget);
            Path run = Files.createDirectory(dir.resolve("run" + trial));
            String what = "N=" + n + " " + config + " " + type + " budget " + budget + " key block " + keyBlock;
            double[] gathered = KeyBlockTest.attendFiles(run, config, n, q, k, v, type, options.withScratch(run), keyBlock);
            try (Stream<Path> left = Files.list(run)) {
                assertEquals(0, left.filter(p -> p.getFileName().toString().startsWith("gathered-keys")).count(),
                        "no scratch file left: " + what);
            }
            assertArrayEquals(KeyBlockTest.attend(config, n, q, k, v, type, options, keyBlock), gathered, 0.0, what);
        }
    }
}
