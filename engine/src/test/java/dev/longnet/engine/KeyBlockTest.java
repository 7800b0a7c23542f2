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
            double[] fromFiles = attendFiles(dir, config, n, q, k, v, DType.F32, options, keyBlock);
            assertArrayEquals(inMemory, fromFiles, 0.0, "dropping pages of mapped keys changes nothing");
        }
    }

    static double[] attend(AttentionConfig config, int n, double[] q, double[] k, double[] v,
                           DilatedAttention.Options options, int keyBlock) throws Exception {
        return attend(config, n, q, k, v, DType.F32, options, keyBlock);
    }

    /** The engine with key blocks of {@code keyBlock} rows on in-memory q, k, v of {@code type}; out as doubles. */
    static double[] attend(AttentionConfig config, int n, double[] q, double[] k, double[] v, DType type,
                           DilatedAttention.Options options, int keyBlock) throws Exception {
        long[] shape = {n, config.heads(), config.headDim()};
        try (Arena arena = Arena.ofShared(); DilatedAttention attention = new DilatedAttention(config, options, keyBlock)) {
            MemorySegment out = arena.allocate((long) q.length * 4, 4);
            attention.attend(MemoryRows.of(TestData.store(arena, type, q), type, shape),
                    MemoryRows.of(TestData.store(arena, type, k), type, shape),
                    MemoryRows.of(TestData.store(arena, type, v), type, shape), MemoryRows.of(out, DType.F32, shape),
                    MemoryRows.of(arena.allocate((long) n * config.heads() * 4, 4), DType.F32, n, config.heads()));
            double[] result = new double[q.length];
            for (int i = 0; i < result.length; i++) result[i] = DType.F32.get(out, i);
            return result;
        }
    }

    /**
     * Writes q, k, v as files of {@code type} in {@code run} and attends them into a file output, as
     * {@link #attend} does in memory; the output files are removed.
     */
    static double[] attendFiles(Path run, AttentionConfig config, int n, double[] q, double[] k, double[] v,
                                DType type, DilatedAttention.Options options, int keyBlock) throws Exception {
        long[] shape = {n, config.heads(), config.headDim()};
        Path[] paths = {run.resolve("q.npy"), run.resolve("k.npy"), run.resolve("v.npy")};
        double[][] data = {q, k, v};
        for (int i = 0; i < 3; i++) {
            java.nio.file.Files.deleteIfExists(paths[i]);
            try (NpyFile f = NpyFile.create(paths[i], type, shape); RowWindow w = f.window(0, n)) {
                for (int j = 0; j < data[i].length; j++) type.set(w.segment(), j, (float) data[i][j]);
                w.close();
                f.commit();
            }
        }
        try (NpyFile qf = NpyFile.open(paths[0]); NpyFile kf = NpyFile.open(paths[1]); NpyFile vf = NpyFile.open(paths[2]);
             NpyFile out = NpyFile.create(run.resolve("o.npy"), DType.F32, shape);
             NpyFile lse = NpyFile.create(run.resolve("lse.npy"), DType.F32, n, config.heads());
             DilatedAttention attention = new DilatedAttention(config, options, keyBlock)) {
            attention.attend(qf, kf, vf, out, lse);
            try (RowWindow w = out.window(0, n)) {
                double[] result = new double[q.length];
                for (int i = 0; i < result.length; i++) result[i] = DType.F32.get(w.segment(), i);
                return result;
            } finally {
                out.discard();
                lse.discard();
            }
        }
    }
}
