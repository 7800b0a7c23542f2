package dev.longnet.engine;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.longnet.storage.DType;
import dev.longnet.storage.MemoryRows;
import dev.longnet.storage.NpyFile;
import dev.longnet.storage.RowWindow;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.file.Path;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Views longer than a key block are attended block by block (issue 11.9: resident memory bounded for any segment
 * length): the result matches the double reference for both causal and non-causal levels, odd dilations and
 * offsets, with blocks that cut views anywhere; in memory (no pages dropped) and from files (pages dropped).
 */
class KeyBlockTest {
    @TempDir
    Path dir;

    @Test
    void blockwiseAttentionMatchesTheReference() throws Exception {
        Random random = new Random(8);
        for (int trial = 0; trial < 8; trial++) {
            int n = 300 + random.nextInt(500);
            // The first two: one view of all n rows, causal and not, so that every block boundary is crossed.
            AttentionConfig config = trial < 2
                    ? AttentionConfig.builder().levels(new long[]{n, 64}, new int[]{1, 2}).heads(2).headDim(8)
                            .causal(trial == 0).build()
                    : TestData.randomConfig(random, n);
            int keyBlock = 7 + random.nextInt(120);
            int size = n * config.heads() * config.headDim();
            double[] q = TestData.gaussian(random, size, 1.5), k = TestData.gaussian(random, size, 1.5),
                    v = TestData.gaussian(random, size, 1);
            double[] expected = ReferenceAttention.attend(config, n, q, k, v).out();
            long budget = 1 + random.nextInt(64 * 1024);
            DilatedAttention.Options options = DilatedAttention.Options.defaults().withThreads(2).withBudget(budget);
            double[] inMemory = attend(config, n, q, k, v, options, keyBlock);
            double diff = TestData.maxAbsDiff(expected, inMemory);
            assertTrue(diff <= 1e-4, "N=" + n + " " + config + " key block " + keyBlock + ": max abs diff " + diff);
            double[] fromFiles = attendFiles(config, n, q, k, v, options, keyBlock);
            assertArrayEquals(inMemory, fromFiles, 0.0, "dropping pages of mapped keys changes nothing");
        }
    }

    static double[] attend(AttentionConfig config, int n, double[] q, double[] k, double[] v,
                                   DilatedAttention.Options options, int keyBlock) throws Exception {
        long[] shape = {n, config.heads(), config.headDim()};
        try (Arena arena = Arena.ofShared(); DilatedAttention attention = new DilatedAttention(config, options, keyBlock)) {
            MemorySegment out = arena.allocate((long) q.length * 4, 4);
            attention.attend(MemoryRows.of(TestData.store(arena, DType.F32, q), DType.F32, shape),
                    MemoryRows.of(TestData.store(arena, DType.F32, k), DType.F32, shape),
                    MemoryRows.of(TestData.store(arena, DType.F32, v), DType.F32, shape),
                    MemoryRows.of(out, DType.F32, shape),
                    MemoryRows.of(arena.allocate((long) n * config.heads() * 4, 4), DType.F32, n, config.heads()));
            double[] result = new double[q.length];
            for (int i = 0; i < result.length; i++) result[i] = DType.F32.get(out, i);
            return result;
        }
    }

    private double[] attendFiles(AttentionConfig config, int n, double[] q, double[] k, double[] v,
                                 DilatedAttention.Options options, int keyBlock) throws Exception {
        long[] shape = {n, config.heads(), config.headDim()};
        Path[] paths = {dir.resolve("q.npy"), dir.resolve("k.npy"), dir.resolve("v.npy")};
        double[][] data = {q, k, v};
        for (int i = 0; i < 3; i++) {
            java.nio.file.Files.deleteIfExists(paths[i]);
            try (NpyFile f = NpyFile.create(paths[i], DType.F32, shape); RowWindow w = f.window(0, n)) {
                for (int j = 0; j < data[i].length; j++) DType.F32.set(w.segment(), j, (float) data[i][j]);
                w.close();
                f.commit();
            }
        }
        try (NpyFile qf = NpyFile.open(paths[0]); NpyFile kf = NpyFile.open(paths[1]); NpyFile vf = NpyFile.open(paths[2]);
             NpyFile out = NpyFile.create(dir.resolve("o.npy"), DType.F32, shape);
             NpyFile lse = NpyFile.create(dir.resolve("lse.npy"), DType.F32, n, config.heads());
             DilatedAttention attention = new DilatedAttention(config, options, keyBlock)) {
            attention.attend(qf, kf, vf, out, lse);
            try (RowWindow w = out.window(0, n)) {
                double[] result = new double[q.length];
                for (int i = 0; i < result.length; i++) result[i] = DType.F32.get(w.segment(), i);
                return result;
            }
        }
    }
}
