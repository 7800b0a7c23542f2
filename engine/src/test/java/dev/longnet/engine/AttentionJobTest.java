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
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Random;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Files in, file out: the same numbers as in memory, checked inputs, and nothing left under the output on failure. */
class AttentionJobTest {
    @TempDir
    Path dir;

    private final AttentionConfig config = AttentionConfig.builder().levels(new long[]{32, 128}, new int[]{1, 4})
            .heads(3).headDim(8).causal(true).build();

    @Test
    void fileRunMatchesTheReferenceAndLeavesOnlyTheOutput() throws Exception {
        int n = 300;
        Random random = new Random(5);
        double[][] qkv = write(n, DType.F32, random);
        AttentionResult result = AttentionJob.run(config, DilatedAttention.Options.defaults().withBudget(20_000),
                dir.resolve("q.npy"), dir.resolve("k.npy"), dir.resolve("v.npy"), dir.resolve("out.npy"), DType.F32, false);
        assertEquals(n, result.tokens());
        double[] expected = ReferenceAttention.attend(config, n, qkv[0], qkv[1], qkv[2]).out();
        assertTrue(TestData.maxAbsDiff(expected, read(dir.resolve("out.npy"))) <= 1e-5);
        try (Stream<Path> files = Files.list(dir)) {
            assertEquals(4, files.count(), "q, k, v and out only: the partial, scratch and run directory are gone");
        }
    }

    @Test
    void torchscaleSemanticsFromFiles() throws Exception {
        int n = 250;
        double[][] qkv = write(n, DType.F32, new Random(15));
        // (27, 4) shifts its later segments: a pass of its own; the one-level run writes its output directly.
        for (AttentionConfig c : new AttentionConfig[]{
                AttentionConfig.builder().levels(new long[]{10, 27, 64}, new int[]{1, 4, 2}).heads(3).headDim(8)
                        .semantics(Semantics.TORCHSCALE).build(),
                AttentionConfig.builder().levels(new long[]{27}, new int[]{4}).heads(3).headDim(8)
                        .semantics(Semantics.TORCHSCALE).build()}) {
            for (DType type : new DType[]{DType.F32, DType.F16}) {
                Files.deleteIfExists(dir.resolve("out.npy"));
                AttentionJob.run(c, DilatedAttention.Options.defaults().withBudget(3_000), dir.resolve("q.npy"),
                        dir.resolve("k.npy"), dir.resolve("v.npy"), dir.resolve("out.npy"), type, false);
                double[] expected = ReferenceAttention.attend(c, n, qkv[0], qkv[1], qkv[2]).out();
                double diff = TestData.maxAbsDiff(expected, read(dir.resolve("out.npy")));
                assertTrue(diff <= (type == DType.F32 ? 1e-5 : 2e-3), c + " " + type + ": " + diff);
            }
        }
    }

    @Test
    void halfPrecisionOutputIsTheF32ResultRounded() throws Exception {
        int n = 200;
        double[][] qkv = write(n, DType.F16, new Random(6));
        AttentionJob.run(config, DilatedAttention.Options.defaults(), dir.resolve("q.npy"), dir.resolve("k.npy"),
                dir.resolve("v.npy"), dir.resolve("out.npy"), DType.F16, false);
        try (NpyFile out = NpyFile.open(dir.resolve("out.npy"))) {
            assertEquals(DType.F16, out.dtype());
        }
        double[] expected = ReferenceAttention.attend(config, n, qkv[0], qkv[1], qkv[2]).out();
        assertTrue(TestData.maxAbsDiff(expected, read(dir.resolve("out.npy"))) <= 2e-3);
    }

    @Test
    void existingOutputIsRefusedUnlessOverwriting() throws Exception {
        write(50, DType.F32, new Random(7));
        Path out = dir.resolve("out.npy");
        Files.writeString(out, "precious");
        FileAlreadyExistsException e = assertThrows(FileAlreadyExistsException.class, () -> AttentionJob.run(config,
                DilatedAttention.Options.defaults(), dir.resolve("q.npy"), dir.resolve("k.npy"), dir.resolve("v.npy"), out,
                DType.F32, false));
        assertTrue(e instanceof dev.longnet.engine.job.OutputExistsException, e.toString());
        assertEquals(out + ": output exists", e.getMessage(), "the library names no command-line flag");
        assertEquals("precious", Files.readString(out));
        AttentionJob.run(config, DilatedAttention.Options.defaults(), dir.resolve("q.npy"), dir.resolve("k.npy"),
                dir.resolve("v.npy"), out, DType.F32, true);
        try (NpyFile f = NpyFile.open(out)) {
            assertEquals(50, f.rows());
        }
    }

    @Test
    void disagreeingShapesAreRefusedBeforeAnythingIsWritten() throws Exception {
        write(40, DType.F32, new Random(8));
        try (NpyFile v = NpyFile.create(dir.resolve("v.npy"), DType.F32, 41, 3, 8)) {
            v.commit();
        }
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> AttentionJob.run(config,
                DilatedAttention.Options.defaults(), dir.resolve("q.npy"), dir.resolve("k.npy"), dir.resolve("v.npy"),
                dir.resolve("out.npy"), DType.F32, false));
        assertTrue(e.getMessage().contains("v.npy") && e.getMessage().contains("does not match"), e.getMessage());
        assertFalse(Files.exists(dir.resolve("out.npy")));
        assertFalse(Files.exists(dir.resolve("out.npy.partial")));
    }

    @Test
    void headsThatDisagreeWithTheConfigurationAreNamed() throws Exception {
        write(40, DType.F32, new Random(9));
        AttentionConfig wrong = AttentionConfig.builder().levels(new long[]{8}, new int[]{1}).heads(4).headDim(8).build();
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> AttentionJob.run(wrong,
                DilatedAttention.Options.defaults(), dir.resolve("q.npy"), dir.resolve("k.npy"), dir.resolve("v.npy"),
                dir.resolve("out.npy"), DType.F32, false));
        assertTrue(e.getMessage().contains("heads=4"), e.getMessage());
    }

    @Test
    void aFailureMidRunLeavesNothingUnderTheOutputNameAndKeepsTheRunForAResume() throws Exception {
        write(100, DType.F32, new Random(10));
        AttentionKernel failing = new AttentionKernel() {
            @Override
            public void attend(View q, View k, View v, View out, View lse, int qFrom, int qTo, boolean causal, float s) {
                throw new IllegalStateException("injected failure");
            }

            @Override
            public String name() { return "failing"; }
        };
        assertThrows(IllegalStateException.class, () -> AttentionJob.run(config,
                DilatedAttention.Options.defaults().withKernel(failing), dir.resolve("q.npy"), dir.resolve("k.npy"),
                dir.resolve("v.npy"), dir.resolve("out.npy"), DType.F32, false));
        assertFalse(Files.exists(dir.resolve("out.npy")));
        assertTrue(Files.exists(dir.resolve("out.npy.partial")), "the partial output is kept for a resume");
        assertTrue(Files.exists(dir.resolve("out.npy.run/journal")), "and so is the run directory");
        RunFiles.delete(dir.resolve("out.npy"));
        assertFalse(Files.exists(dir.resolve("out.npy.partial")));
        assertFalse(Files.exists(dir.resolve("out.npy.run")));
    }

    private double[][] write(int n, DType dtype, Random random) throws IOException {
        int size = n * config.heads() * config.headDim();
        double[][] qkv = new double[3][];
        String[] names = {"q.npy", "k.npy", "v.npy"};
        for (int t = 0; t < 3; t++) {
            qkv[t] = TestData.roundTo(dtype, TestData.gaussian(random, size, 1.2));
            try (NpyFile f = NpyFile.create(dir.resolve(names[t]), dtype, n, config.heads(), config.headDim())) {
                try (RowWindow w = f.window(0, n)) {
                    for (int i = 0; i < size; i++) dtype.set(w.segment(), i, (float) qkv[t][i]);
                }
                f.commit();
            }
        }
        return qkv;
    }

    private static double[] read(Path file) throws IOException {
        try (NpyFile f = NpyFile.open(file); RowWindow w = f.window(0, f.rows())) {
            double[] out = new double[(int) (f.rows() * f.rowElements())];
            for (int i = 0; i < out.length; i++) out[i] = f.dtype().get(w.segment(), i);
            return out;
        }
    }
}
