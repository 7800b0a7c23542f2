package dev.longnet.cluster;

import dev.longnet.engine.AttentionConfig;
import dev.longnet.engine.HeadOffsetRule;
import dev.longnet.engine.Level;
import dev.longnet.engine.PaddedLayout;
import dev.longnet.engine.Semantics;
import dev.longnet.engine.VectorAttentionKernel;
import dev.longnet.storage.DType;
import java.io.IOException;
import java.nio.file.Path;
import java.util.Random;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The distributed algorithm without a network: every block computed in turn, slices read from the files. Its output
 * must equal the single-machine engine's bit for bit.
 */
class BlockRunnerTest {
    @TempDir
    Path dir;

    /** Runs every block of the job; slices come from {@code source} (the files when null). */
    static BlockPlan runAll(Path[] qkv, Path out, JobSpec spec, int members, SliceSource source) throws IOException {
        BlockPlan plan = JobFiles.prepare(qkv[0], qkv[1], qkv[2], out, spec, members);
        try (JobFiles files = JobFiles.open(qkv[0], qkv[1], qkv[2], out, spec)) {
            SliceSource slices = source != null ? source : new FileSlices(files, plan);
            for (int b = 0; b < plan.blocks(); b++) {
                new BlockRunner(files, plan, slices, spec, new VectorAttentionKernel()).run(b);
            }
        }
        JobFiles.commit(out);
        return plan;
    }

    /**
     * Issue 21, defect 16: a spanning level's view longer than a key block is cut into key blocks exactly as the
     * engine and the stream cut it, so the bits stay equal. Key blocks of 8 rows (the engine's are 2^16) make the
     * views of a small job long; the stream with the same key blocks is the reference.
     */
    @Test
    void spanningViewsLongerThanAKeyBlockAreCutAsTheEngineCutsThem() throws IOException {
        for (boolean causal : new boolean[]{false, true}) {
            keyBlocks(AttentionConfig.builder().levels(new long[]{8, 300}, new int[]{1, 2}).heads(2).headDim(4)
                    .causal(causal).build(), 300, "kb-" + causal);
            // torchscale: level 100 spans the blocks of 104 rows, and its last segment (90 rows) has zero keys.
            keyBlocks(AttentionConfig.builder().levels(new long[]{8, 100}, new int[]{1, 4}).heads(3).headDim(4)
                    .causal(causal).semantics(Semantics.TORCHSCALE).build(), 290, "kb-torchscale-" + causal);
            // torchscale, level 99 shifts (99 % 4 != 0): the stream does not run it, the engine with key blocks of 8 does.
            AttentionConfig shifted = AttentionConfig.builder().levels(new long[]{8, 99}, new int[]{1, 4}).heads(3)
                    .headDim(4).causal(causal).semantics(Semantics.TORCHSCALE).build();
            keyBlocks(shifted, 290, 6, "kb-shifted-" + causal, qkv -> Tensors.engine(shifted, qkv, 8));
        }
    }

    /** What a run is compared with: the output of another path on the same q, k, v files. */
    @FunctionalInterface
    private interface Reference {
        int[] of(Path[] qkv) throws IOException;
    }

    private void keyBlocks(AttentionConfig config, long n, String name) throws IOException {
        keyBlocks(config, n, 5, name, qkv -> stream(config, qkv, 8));
    }

    /** The job on 3 blocks with key blocks of 8 rows, its last level spanning, against {@code reference}. */
    private void keyBlocks(AttentionConfig config, long n, int seed, String name, Reference reference) throws IOException {
        Path trialDir = dir.resolve(name);
        java.nio.file.Files.createDirectories(trialDir);
        Path[] qkv = Tensors.inputs(trialDir, new Random(seed), n, config.heads(), config.headDim(), DType.F32);
        Path out = trialDir.resolve("out.npy");
        JobSpec spec = JobSpec.of(qkv[0], qkv[1], qkv[2], out, config, 1, 1L << 20);
        BlockPlan plan = JobFiles.prepare(qkv[0], qkv[1], qkv[2], out, spec, 3);
        try (JobFiles files = JobFiles.open(qkv[0], qkv[1], qkv[2], out, spec)) {
            for (int b = 0; b < plan.blocks(); b++) {
                new BlockRunner(files, plan, new FileSlices(files, plan), spec, new VectorAttentionKernel(), 8).run(b);
            }
        }
        JobFiles.commit(out);
        assertTrue(Stage.of(config, plan).getLast().spanning(), plan.toString());
        assertArrayEquals(reference.of(qkv), Tensors.bits(out), "causal " + config.causal() + ", " + plan);
    }

    private static int[] stream(AttentionConfig config, Path[] qkv, int keyBlockRows) throws IOException {
        float[][] in = new float[3][];
        for (int t = 0; t < 3; t++) {
            try (dev.longnet.storage.NpyFile f = dev.longnet.storage.NpyFile.open(qkv[t]);
                 dev.longnet.storage.RowWindow w = f.window(0, f.rows())) {
                in[t] = new float[(int) (f.rows() * f.rowElements())];
                for (int i = 0; i < in[t].length; i++) in[t][i] = (float) f.dtype().get(w.segment(), i);
            }
        }
        int rowValues = config.heads() * config.headDim();
        int[] bits = new int[in[0].length];
        dev.longnet.engine.stream.StreamOptions options = new dev.longnet.engine.stream.StreamOptions(1, null, null)
                .withKeyBlockRows(keyBlockRows);
        try (dev.longnet.engine.stream.AttentionStream s = dev.longnet.engine.stream.AttentionStream.open(config, options,
                (firstRow, rows, count) -> {
                    for (int i = 0; i < count * rowValues; i++) {
                        bits[(int) (firstRow * rowValues) + i] = rows.getAtIndex(
                                java.lang.foreign.ValueLayout.JAVA_INT_UNALIGNED, i);
                    }
                })) {
            s.push(in[0], in[1], in[2], in[0].length / rowValues);
            s.finish();
        }
        return bits;
    }

    @Test
    void randomConfigurationsEqualTheEngineBitForBit() throws IOException {
        Random random = new Random(14);
        int spanning = 0;
        for (int trial = 0; trial < 40; trial++) {
            long n = 1 + random.nextInt(90);
            AttentionConfig config = Tensors.randomConfig(random, n);
            int members = 1 + random.nextInt(4);
            Path trialDir = dir.resolve("t" + trial);
            java.nio.file.Files.createDirectories(trialDir);
            DType dtype = random.nextInt(4) == 0 ? DType.F16 : DType.F32;
            Path[] qkv = Tensors.inputs(trialDir, random, n, config.heads(), config.headDim(), dtype);
            Path out = trialDir.resolve("out.npy");
            JobSpec spec = JobSpec.of(qkv[0], qkv[1], qkv[2], out, config, 1 + random.nextInt(2), 1L << 20);
            BlockPlan plan = runAll(qkv, out, spec, members, null);
            if (Stage.of(config, plan).stream().anyMatch(Stage::spanning)) spanning++;
            assertArrayEquals(Tensors.engine(config, qkv), Tensors.bits(out), "trial " + trial + ": " + config + ", " + plan);
        }
        assertTrue(spanning >= 10, "too few trials with spanning levels: " + spanning);
    }

    /**
     * Under torchscale semantics too: partial segments (zero keys), w % r != 0 (shifted segments, whose outputs move
     * to later rows and blocks, and zero queries), w > N, H % r != 0, causal or not.
     */
    @Test
    void randomTorchscaleConfigurationsEqualTheEngineBitForBit() throws IOException {
        Random random = new Random(21);
        int spanning = 0;
        int shifted = 0;
        int padded = 0;
        for (int trial = 0; trial < 60; trial++) {
            long n = 1 + random.nextInt(90);
            AttentionConfig config = Tensors.randomConfig(random, n).toBuilder().semantics(Semantics.TORCHSCALE).build();
            int members = 2 + random.nextInt(3);
            Path trialDir = dir.resolve("ts" + trial);
            java.nio.file.Files.createDirectories(trialDir);
            DType dtype = random.nextInt(4) == 0 ? DType.F16 : DType.F32;
            Path[] qkv = Tensors.inputs(trialDir, random, n, config.heads(), config.headDim(), dtype);
            Path out = trialDir.resolve("out.npy");
            JobSpec spec = JobSpec.of(qkv[0], qkv[1], qkv[2], out, config, 1 + random.nextInt(2), 1L << 20);
            BlockPlan plan = runAll(qkv, out, spec, members, null);
            for (Stage stage : Stage.of(config, plan)) {
                if (!stage.spanning()) continue;
                spanning++;
                Level level = config.levels().get(stage.levels().getFirst());
                if (PaddedLayout.of(level, n).shifted()) shifted++;
                if (PaddedSpan.needed(config, level, n)) padded++;
            }
            assertArrayEquals(Tensors.engine(config, qkv), Tensors.bits(out), "trial " + trial + ": " + config + ", " + plan);
        }
        assertTrue(spanning >= 20 && shifted >= 10 && padded >= 15,
                "too few spanning levels: " + spanning + ", shifted " + shifted + ", padded " + padded);
    }

    /**
     * torchscale semantics with local and spanning levels: a shifted level (w % r != 0) spans the blocks even where
     * its segment divides the block, and so does a level of a non-causal job whose last block is shorter than its
     * segment; a causal level that does not shift stays local.
     */
    @Test
    void torchscaleLevelsThatShiftOrPadSpan() throws IOException {
        for (boolean causal : new boolean[]{false, true}) {
            AttentionConfig config = AttentionConfig.builder()
                    .levels(new long[]{16, 30, 56, 112, 400}, new int[]{1, 4, 3, 2, 12}).heads(6).headDim(8)
                    .causal(causal).semantics(Semantics.TORCHSCALE).build();
            Path trialDir = dir.resolve("ts-" + causal);
            java.nio.file.Files.createDirectories(trialDir);
            Path[] qkv = Tensors.inputs(trialDir, new Random(9), 300, 6, 8, DType.F32);
            Path out = trialDir.resolve("out.npy");
            JobSpec spec = JobSpec.of(qkv[0], qkv[1], qkv[2], out, config, 2, 1L << 20);
            BlockPlan plan = runAll(qkv, out, spec, 3, null);
            assertEquals(new BlockPlan(300, 112, 3), plan);              // the last block: 76 rows
            assertEquals(causal ? "[false, true, true, false, true]" : "[false, true, true, true, true]",
                    Stage.of(config, plan).stream().map(Stage::spanning).toList().toString());
            assertArrayEquals(Tensors.engine(config, qkv), Tensors.bits(out), config.toString());
        }
    }

    @Test
    void paperShapedLevelsWithLocalAndSpanningLevels() throws IOException {
        for (boolean causal : new boolean[]{false, true}) {
            for (HeadOffsetRule rule : HeadOffsetRule.values()) {
                AttentionConfig config = AttentionConfig.builder()
                        .levels(new long[]{16, 32, 64, 128, 256}, new int[]{1, 2, 4, 6, 12}).heads(12).headDim(8)
                        .causal(causal).offsetRule(rule).build();
                Path trialDir = dir.resolve(causal + "-" + rule);
                java.nio.file.Files.createDirectories(trialDir);
                Path[] qkv = Tensors.inputs(trialDir, new Random(7), 300, 12, 8, DType.F32);   // 300: not a multiple of the block
                Path out = trialDir.resolve("out.npy");
                JobSpec spec = JobSpec.of(qkv[0], qkv[1], qkv[2], out, config, 2, 1L << 20);
                BlockPlan plan = runAll(qkv, out, spec, 3, null);
                assertEquals(new BlockPlan(300, 112, 3), plan);
                assertEquals("[false, true, true, true, true]", Stage.of(config, plan).stream().map(Stage::spanning).toList().toString());
                assertArrayEquals(Tensors.engine(config, qkv), Tensors.bits(out), config.toString());
            }
        }
    }

    @Test
    void aRunCutMidStageResumesToTheSameBits() throws IOException {
        AttentionConfig config = AttentionConfig.builder().levels(new long[]{8, 32, 96}, new int[]{1, 2, 3})
                .heads(3).headDim(4).causal(true).build();
        Path[] qkv = Tensors.inputs(dir, new Random(3), 200, 3, 4, DType.F32);
        Path out = dir.resolve("out.npy");
        JobSpec spec = JobSpec.of(qkv[0], qkv[1], qkv[2], out, config, 1, 1L << 20);
        for (int failAt : new int[]{1, 3, 6}) {
            AtomicInteger fetches = new AtomicInteger();
            BlockPlan plan = JobFiles.prepare(qkv[0], qkv[1], qkv[2], out, spec, 4);
            try (JobFiles files = JobFiles.open(qkv[0], qkv[1], qkv[2], out, spec)) {
                FileSlices good = new FileSlices(files, plan);
                SliceSource failing = (level, s, b) -> {
                    if (fetches.incrementAndGet() == failAt) throw new IOException("member left");
                    return good.fetch(level, s, b);
                };
                assertThrows(IOException.class, () -> {
                    for (int b = plan.blocks() - 1; b >= 0; b--) {
                        new BlockRunner(files, plan, failing, spec, new VectorAttentionKernel()).run(b);
                    }
                });
            }
        }
        runAll(qkv, out, spec, 2, null);                              // the stored plan (4 blocks) is kept
        assertArrayEquals(Tensors.engine(config, qkv), Tensors.bits(out));
    }
}
