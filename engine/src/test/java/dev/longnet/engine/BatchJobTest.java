package dev.longnet.engine;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.longnet.storage.DType;
import dev.longnet.storage.NpyFile;
import dev.longnet.storage.RowWindow;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.lang.foreign.ValueLayout;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** A batch (B, N, H, d) gives each sequence the bits of its run alone, padding rows zero, and resumes. */
class BatchJobTest {
    @TempDir
    Path dir;

    private static DilatedAttention.Options options() { return DilatedAttention.Options.defaults().withThreads(2); }

    @Test
    void eachSequenceOfARandomBatchEqualsItsRunAloneBitForBit() throws Exception {
        Random random = new Random(41);
        for (int trial = 0; trial < 14; trial++) {
            int batch = 1 + random.nextInt(4);
            int n = 1 + random.nextInt(90);
            AttentionConfig config = trial % 2 == 0 ? TestData.randomConfig(random, n) : TestData.randomTorchscaleConfig(random, n);
            DType dtype = random.nextBoolean() ? DType.F32 : DType.F16;
            DType outputType = random.nextInt(3) == 0 ? DType.F16 : DType.F32;
            long[] lengths = random.nextInt(4) == 0 ? null : random.longs(batch, 1, n + 1).toArray();
            DilatedAttention.Options options = random.nextBoolean() ? options()
                    : options().withBudget(1 + random.nextInt(64 * 1024));                     // many units
            Path trialDir = Files.createDirectories(dir.resolve("t" + trial));
            Inputs in = Inputs.write(trialDir, random, batch, n, config.heads(), config.headDim(), dtype, lengths);
            Path out = trialDir.resolve("out.npy");
            AttentionRequest request = in.request(out).withOutputType(outputType).withLengths(lengths);
            AttentionResult result = AttentionJob.run(config, options, request);
            String what = "trial " + trial + ": " + config + ", batch " + batch + " of " + n + ", lengths "
                    + Arrays.toString(lengths) + ", " + dtype + " -> " + outputType;
            assertEquals(in.totalTokens(), result.tokens(), what);
            assertFalse(Files.exists(RunFiles.directory(out)), what + ": the run directory is removed");
            byte[] batchBytes = data(out);
            long rowBytes = (long) config.heads() * config.headDim() * outputType.bytes();
            for (int b = 0; b < batch; b++) {
                Path alone = in.alone(trialDir, b);
                Path aloneOut = trialDir.resolve("alone" + b + ".npy");
                AttentionJob.run(config, options, AttentionRequest.of(alone.resolve("q.npy"), alone.resolve("k.npy"),
                        alone.resolve("v.npy"), aloneOut).withOutputType(outputType));
                byte[] expected = data(aloneOut);
                int from = (int) (b * n * rowBytes);
                assertArrayEquals(expected, Arrays.copyOfRange(batchBytes, from, from + expected.length),
                        what + ": sequence " + b);
                for (int i = from + expected.length; i < from + n * rowBytes; i++) {
                    assertEquals(0, batchBytes[i], what + ": sequence " + b + "'s padding is zero");
                }
            }
        }
    }

    @Test
    void aBatchInMemoryGivesEachSequenceTheBitsOfItsRunAlone() {
        Random random = new Random(17);
        for (int trial = 0; trial < 10; trial++) {
            int batch = 1 + random.nextInt(3);
            int n = 1 + random.nextInt(70);
            AttentionConfig config = trial % 2 == 0 ? TestData.randomConfig(random, n) : TestData.randomTorchscaleConfig(random, n);
            long[] lengths = random.nextBoolean() ? null : random.longs(batch, 1, n + 1).toArray();
            int row = config.heads() * config.headDim();
            try (java.lang.foreign.Arena arena = java.lang.foreign.Arena.ofShared();
                 DilatedAttention attention = new DilatedAttention(config, options())) {
                java.lang.foreign.MemorySegment[] qkv = new java.lang.foreign.MemorySegment[3];
                for (int t = 0; t < 3; t++) {
                    double[] x = TestData.gaussian(random, batch * n * row, 1);
                    if (lengths != null) {                     // padding a run must never read
                        for (int b = 0; b < batch; b++) Arrays.fill(x, (int) ((b * n + lengths[b]) * row), (b + 1) * n * row, Double.NaN);
                    }
                    qkv[t] = TestData.store(arena, DType.F32, x);
                }
                java.lang.foreign.MemorySegment out = arena.allocate((long) batch * n * row * 4);
                out.fill((byte) 7);
                attention.attend(qkv[0], qkv[1], qkv[2], out, batch, n, lengths);
                for (int b = 0; b < batch; b++) {
                    long length = lengths == null ? n : lengths[b];
                    long at = (long) b * n * row * 4;
                    long bytes = length * row * 4;
                    java.lang.foreign.MemorySegment alone = arena.allocate(bytes);
                    java.lang.foreign.MemorySegment[] copies = new java.lang.foreign.MemorySegment[3];
                    for (int t = 0; t < 3; t++) copies[t] = arena.allocate(bytes).copyFrom(qkv[t].asSlice(at, bytes));
                    attention.attend(copies[0], copies[1], copies[2], alone, length);
                    assertArrayEquals(alone.toArray(ValueLayout.JAVA_BYTE), out.asSlice(at, bytes).toArray(ValueLayout.JAVA_BYTE),
                            "trial " + trial + ", sequence " + b);
                    byte[] padding = out.asSlice(at + bytes, (long) n * row * 4 - bytes).toArray(ValueLayout.JAVA_BYTE);
                    assertArrayEquals(new byte[padding.length], padding, "trial " + trial + ": padding is zero");
                }
            }
        }
    }

    @Test
    void anInterruptedBatchResumesToTheSameBitsWithoutRedoingFinishedSequences() throws Exception {
        AttentionConfig config = AttentionConfig.builder().levels(new long[]{16, 64}, new int[]{1, 4}).heads(2).headDim(8).build();
        long[] lengths = {100, 37, 128};
        Inputs in = Inputs.write(dir, new Random(7), 3, 128, 2, 8, DType.F32, lengths);
        Path whole = dir.resolve("whole.npy");
        AttentionJob.run(config, options(), in.request(whole).withLengths(lengths));

        Path out = dir.resolve("out.npy");
        ResumableRunTest.FailingKernel failing = new ResumableRunTest.FailingKernel(60, 0,
                () -> new UncheckedIOException(new IOException("No space left on device")));
        DilatedAttention.Options small = options().withBudget(4096);
        assertThrows(UncheckedIOException.class, () -> AttentionJob.run(config, small.withKernel(failing),
                in.request(out).withLengths(lengths)));
        assertFalse(Files.exists(out));
        assertTrue(RunFiles.resumable(out));

        RunConflictException other = assertThrows(RunConflictException.class, () -> AttentionJob.run(config, small,
                in.request(out).withLengths(100, 36, 128)));
        assertTrue(other.getMessage().contains("the lengths changed since the run started"), other.getMessage());
        RunConflictException single = assertThrows(RunConflictException.class, () -> AttentionJob.run(config, small,
                AttentionRequest.of(in.alone(dir, 0).resolve("q.npy"), in.alone(dir, 0).resolve("k.npy"),
                        in.alone(dir, 0).resolve("v.npy"), out)));
        assertTrue(single.getMessage().contains("holds the run of a batch"), single.getMessage());

        AttentionResult resumed = AttentionJob.run(config, small, in.request(out).withLengths(lengths));
        assertTrue(resumed.resumed() && resumed.tokensResumed() >= 100, "sequence 0 was done: " + resumed);
        assertTrue(resumed.tokensResumed() < 265, "sequence 2 was not: " + resumed);
        assertArrayEquals(data(whole), data(out));
        assertFalse(Files.exists(RunFiles.directory(out)));
    }

    @Test
    void restartStartsAnotherBatchOver() throws Exception {
        AttentionConfig config = AttentionConfig.builder().levels(new long[]{8}, new int[]{2}).heads(1).headDim(4).build();
        Inputs in = Inputs.write(dir, new Random(3), 2, 20, 1, 4, DType.F32, null);
        Path out = dir.resolve("out.npy");
        ResumableRunTest.FailingKernel failing = new ResumableRunTest.FailingKernel(5, 0,
                () -> new UncheckedIOException(new IOException("No space left on device")));
        assertThrows(UncheckedIOException.class, () -> AttentionJob.run(config, options().withBudget(512)
                .withKernel(failing), in.request(out)));
        assertThrows(RunConflictException.class, () -> AttentionJob.run(config, options(), in.request(out).withLengths(20, 5)));
        AttentionResult r = AttentionJob.run(config, options(), in.request(out).withLengths(20, 5).withRestart(true));
        assertEquals(25, r.tokens());
        assertFalse(r.resumed());
    }

    @Test
    void badLengthsAndShapesAreOneLine() throws Exception {
        AttentionConfig config = AttentionConfig.builder().levels(new long[]{8}, new int[]{1}).heads(1).headDim(4).build();
        Inputs in = Inputs.write(dir, new Random(5), 2, 10, 1, 4, DType.F32, null);
        Path out = dir.resolve("out.npy");
        for (long[] lengths : new long[][]{{10}, {10, 0}, {11, 3}, {1, 2, 3}}) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> AttentionJob.run(config, options(), in.request(out).withLengths(lengths)));
            assertEquals(1, e.getMessage().lines().count(), e.getMessage());
        }
        Path alone = in.alone(dir, 0);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> AttentionJob.run(config, options(),
                AttentionRequest.of(alone.resolve("q.npy"), alone.resolve("k.npy"), alone.resolve("v.npy"), out)
                        .withLengths(4)));
        assertTrue(e.getMessage().contains("sequence lengths are for a batch"), e.getMessage());
        assertFalse(Files.exists(out) || Files.exists(RunFiles.directory(out)));
    }

    @Test
    void checkFiniteLooksAtEachSequencesRowsOnly() throws Exception {
        AttentionConfig config = AttentionConfig.builder().levels(new long[]{8}, new int[]{1}).heads(2).headDim(4).build();
        long[] lengths = {6, 10};
        Inputs in = Inputs.write(dir, new Random(9), 2, 10, 2, 4, DType.F32, lengths);    // NaN padding
        Path out = dir.resolve("out.npy");
        AttentionJob.run(config, options(), in.request(out).withLengths(lengths).withCheckFinite(true));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> AttentionJob.run(config,
                options(), in.request(dir.resolve("o2.npy")).withCheckFinite(true)));
        assertTrue(e.getMessage().contains("q.npy, sequence 0: row 6, head 0 holds NaN"), e.getMessage());
    }

    /** The batch's files; rows past a sequence's length hold NaN, which a run must never read. */
    private record Inputs(Path q, Path k, Path v, int batch, int n, int heads, int headDim, DType dtype, long[] lengths,
                          double[][] values) {
        static Inputs write(Path dir, Random random, int batch, int n, int heads, int headDim, DType dtype, long[] lengths)
                throws IOException {
            double[][] values = new double[3][];
            Path[] paths = {dir.resolve("q.npy"), dir.resolve("k.npy"), dir.resolve("v.npy")};
            int row = heads * headDim;
            for (int t = 0; t < 3; t++) {
                values[t] = TestData.roundTo(dtype, TestData.gaussian(random, batch * n * row, 1));
                if (lengths != null) {
                    for (int b = 0; b < batch; b++) {
                        Arrays.fill(values[t], (int) ((b * n + lengths[b]) * row), (b + 1) * n * row, Double.NaN);
                    }
                }
                writeNpy(paths[t], dtype, new long[]{batch, n, heads, headDim}, values[t], 0, values[t].length);
            }
            return new Inputs(paths[0], paths[1], paths[2], batch, n, heads, headDim, dtype, lengths, values);
        }

        AttentionRequest request(Path out) { return AttentionRequest.of(q, k, v, out); }

        long length(int b) { return lengths == null ? n : lengths[b]; }

        long totalTokens() {
            long sum = 0;
            for (int b = 0; b < batch; b++) sum += length(b);
            return sum;
        }

        /** Sequence b on its own: (length, heads, headDim) files in a directory of their own. */
        Path alone(Path dir, int b) throws IOException {
            Path d = Files.createDirectories(dir.resolve("seq" + b));
            int row = heads * headDim;
            String[] names = {"q.npy", "k.npy", "v.npy"};
            for (int t = 0; t < 3; t++) {
                writeNpy(d.resolve(names[t]), dtype, new long[]{length(b), heads, headDim}, values[t], b * n * row,
                        (int) (length(b) * row));
            }
            return d;
        }
    }

    private static void writeNpy(Path file, DType dtype, long[] shape, double[] values, int from, int count) throws IOException {
        NpyFile f = NpyFile.create(file, dtype, shape);
        try (RowWindow w = f.window(0, shape[0])) {
            for (int i = 0; i < count; i++) dtype.set(w.segment(), i, (float) values[from + i]);
        }
        f.commit();
    }

    private static byte[] data(Path npy) throws IOException {
        try (NpyFile f = NpyFile.open(npy); RowWindow w = f.window(0, f.rows())) {
            return w.segment().toArray(ValueLayout.JAVA_BYTE);
        }
    }
}
