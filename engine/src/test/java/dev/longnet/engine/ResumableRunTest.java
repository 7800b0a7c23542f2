package dev.longnet.engine;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.longnet.storage.CountersFile;
import dev.longnet.storage.DType;
import dev.longnet.storage.NpyFile;
import dev.longnet.storage.RowWindow;
import dev.longnet.storage.RunJournal;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Supplier;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Interrupted file runs resume from the run journal to the same bits as an uninterrupted run: failures injected at
 * chosen kernel calls, in first-pass units (redone from zeros) and in later-pass units (redone from their saved
 * before-image), on 1 or 2 threads, for f32 and f16 outputs (an f16 output of a one-pass schedule written directly,
 * without an f32 accumulator). Changed inputs or configurations are refused.
 */
class ResumableRunTest {
    static final int N = 1500;
    static final int HEADS = 3;
    static final int D = 8;
    /**
     * 396 bytes a row (q, k, v, out f32 and lse), 101 rows: pass 0 (w = 32, 64) in 24 windows of 64 rows; w = 512
     * alone, each segment cut into units of at most 101 query rows (6 per full segment, 5 for the last: 17).
     */
    static final long BUDGET = 40_000;

    @TempDir
    Path dir;

    private AttentionConfig config = AttentionConfig.builder().levels(new long[]{32, 64, 512}, new int[]{1, 2, 4})
            .heads(HEADS).headDim(D).causal(true).build();

    /** The real kernel, failing at the {@code failAt}-th call whose rows are {@code dilation} apart (0: any call). */
    static final class FailingKernel implements AttentionKernel {
        final AttentionKernel real = new VectorAttentionKernel();
        final AtomicLong calls = new AtomicLong();
        final long failAt;
        final int dilation;
        final Supplier<? extends Throwable> failure;

        FailingKernel(long failAt, int dilation, Supplier<? extends Throwable> failure) {
            this.failAt = failAt;
            this.dilation = dilation;
            this.failure = failure;
        }

        @Override
        public void attend(View q, View k, View v, View out, View lse, int qFrom, int qTo, boolean causal, float scale) {
            boolean counted = dilation == 0 || q.rowStride() == (long) dilation * HEADS * D;
            if (counted && calls.incrementAndGet() == failAt) {
                Throwable t = failure.get();
                if (t instanceof RuntimeException re) throw re;
                throw (Error) t;
            }
            real.attend(q, k, v, out, lse, qFrom, qTo, causal, scale);
        }

        @Override
        public String name() { return real.name(); }     // the same kernel as far as the journal is concerned
    }

    private static Supplier<Throwable> diskFull() {
        return () -> new UncheckedIOException(new IOException("No space left on device"));
    }

    @Test
    void interruptedRunsResumeToTheSameBits() throws Exception {
        writeInputs(dir, new Random(11), DType.F32);
        byte[] expected = uninterrupted(dir, DType.F32);
        Path out = dir.resolve("out.npy");
        Path runDir = RunFiles.directory(out);

        // 1. Early in the first unit of pass 0.
        fail(out, 1, new FailingKernel(5, 0, diskFull()), UncheckedIOException.class);
        assertKept(out);
        // 2. Later in pass 0, on two threads (the journal does not care how a unit was cut).
        fail(out, 2, new FailingKernel(60, 0, diskFull()), UncheckedIOException.class);
        // 3. In the middle of the first unit of the last pass, after one head merged: its before-image is pending.
        fail(out, 1, new FailingKernel(2, 4, () -> new InternalError("a fault occurred in an unsafe memory access")),
                InternalError.class);
        List<RunJournal.Entry> records = journal(runDir);
        RunJournal.Entry lastUnit = records.stream().filter(e -> e.pass() >= 0).toList().getLast();
        assertEquals(RunJournal.Kind.BEGIN, lastUnit.kind(), records.toString());
        assertEquals(1, lastUnit.pass());
        assertEquals(0, lastUnit.unit());
        assertEquals(RunJournal.Kind.ERROR, records.getLast().kind());
        assertTrue(records.getLast().note().contains("unsafe memory access"), records.getLast().note());
        // 4. The redo of that unit fails before writing: its before-image is restored again.
        fail(out, 2, new FailingKernel(1, 4, diskFull()), UncheckedIOException.class);
        // 5. In the middle of the second unit of the last pass.
        fail(out, 2, new FailingKernel(5, 4, diskFull()), UncheckedIOException.class);

        AttentionResult result = run(out, DType.F32, 2, null, false);
        assertTrue(result.resumed() && result.unitsResumed() > 24, "resumed after " + result.unitsResumed() + " units");
        assertEquals(24 + 17, result.unitsTotal());
        assertArrayEquals(expected, Files.readAllBytes(out), "bit-identical to the uninterrupted run");
        assertFalse(Files.exists(runDir), "the run directory is removed on success");
        assertFalse(Files.exists(NpyFile.partialPath(out)));
    }

    /**
     * A unit's commit (force, checksum, DONE) runs while the next unit computes, so a crash can leave two first-pass
     * units begun and not done, the later one with rows half merged. Made here by failing in a unit and removing the
     * DONE of the unit before it from the journal: the resume must start both from zeros again.
     */
    @Test
    void aCrashWhileTheUnitBeforeCommitsRedoesBothUnits() throws Exception {
        writeInputs(dir, new Random(17), DType.F32);
        byte[] expected = uninterrupted(dir, DType.F32);
        Path out = dir.resolve("out.npy");
        Path runDir = RunFiles.directory(out);
        fail(out, 1, new FailingKernel(40, 0, diskFull()), UncheckedIOException.class);

        List<RunJournal.Entry> records = journal(runDir);
        RunJournal.Entry lastDone = records.stream().filter(e -> e.kind() == RunJournal.Kind.DONE).toList().getLast();
        RunJournal.Entry computing = records.stream().filter(e -> e.kind() == RunJournal.Kind.BEGIN).toList().getLast();
        assertEquals(0, computing.pass());
        assertEquals(lastDone.unit() + 1, computing.unit(), records.toString());
        try (NpyFile lse = NpyFile.open(runDir.resolve("lse.npy.partial"));
             RowWindow rows = lse.window(computing.firstRow(), computing.rows())) {
            assertTrue(rows.segment().mismatch(java.lang.foreign.MemorySegment.ofArray(
                    new byte[(int) rows.segment().byteSize()])) >= 0, "the failed unit had merged rows");
        }
        Map<String, String> header;
        try (RunJournal j = RunJournal.open(runDir.resolve("journal"))) {
            header = j.header();
        }
        Files.delete(runDir.resolve("journal"));
        try (RunJournal j = RunJournal.create(runDir.resolve("journal"), header)) {
            for (RunJournal.Entry e : records) if (e != lastDone) j.append(e);
            j.force();
        }

        AttentionResult result = run(out, DType.F32, 2, null, false);
        assertTrue(result.resumed());
        assertEquals(lastDone.unit(), result.unitsResumed(), "the unit without DONE is redone");
        assertArrayEquals(expected, Files.readAllBytes(out), "bit-identical to the uninterrupted run");
    }

    @Test
    void torchscaleRunsResumeToTheSameBits() throws Exception {
        // (510, 4) shifts its later segments: a pass of its own, padded segments of 512 output rows cut into units.
        config = AttentionConfig.builder().levels(new long[]{32, 64, 510}, new int[]{1, 2, 4}).heads(HEADS).headDim(D)
                .semantics(Semantics.TORCHSCALE).build();
        writeInputs(dir, new Random(13), DType.F32);
        byte[] expected = uninterrupted(dir, DType.F32);
        Path out = dir.resolve("out.npy");
        fail(out, 1, new FailingKernel(30, 0, diskFull()), UncheckedIOException.class);
        fail(out, 2, new FailingKernel(3, 4, diskFull()), UncheckedIOException.class);
        fail(out, 1, new FailingKernel(8, 4, diskFull()), UncheckedIOException.class);
        AttentionResult result = run(out, DType.F32, 2, null, false);
        assertTrue(result.resumed() && result.unitsResumed() > 0, "resumed after " + result.unitsResumed() + " units");
        assertArrayEquals(expected, Files.readAllBytes(out), "bit-identical to the uninterrupted run");
    }

    @Test
    void halfPrecisionOutputsResumeToo() throws Exception {
        writeInputs(dir, new Random(12), DType.F16);
        byte[] expected = uninterrupted(dir, DType.F16);
        Path out = dir.resolve("out.npy");
        fail(out, 1, new FailingKernel(100, 0, diskFull()), UncheckedIOException.class, DType.F16);
        assertTrue(Files.exists(RunFiles.directory(out).resolve("acc.npy.partial")), "the f32 accumulator is kept");
        fail(out, 2, new FailingKernel(4, 4, diskFull()), UncheckedIOException.class, DType.F16);
        run(out, DType.F16, 1, null, false);
        assertArrayEquals(expected, Files.readAllBytes(out));
    }

    @Test
    void aOnePassHalfPrecisionRunWritesItsOutputDirectlyAndResumes() throws Exception {
        // w = 32, 64 fit one pass (f16 inputs: windows of 128 rows, 12 units): no f32 accumulator, lse scratch or undo.
        AttentionConfig onePass = AttentionConfig.builder().levels(new long[]{32, 64}, new int[]{1, 2})
                .heads(HEADS).headDim(D).causal(true).build();
        writeInputs(dir, new Random(19), DType.F16);
        Path f32 = dir.resolve("f32.npy");
        AttentionJob.run(onePass, options(2, null), request(f32, DType.F32, false));
        Path converted = dir.resolve("expected.npy");
        try (NpyFile f = NpyFile.open(f32)) {
            f.convertTo(converted, DType.F16);                              // what an f16 output must be, bit for bit
        }
        byte[] expected = Files.readAllBytes(converted);

        Path out = dir.resolve("out.npy");
        Path runDir = RunFiles.directory(out);
        FailingKernel first = new FailingKernel(40, 0, diskFull());
        assertThrows(UncheckedIOException.class, () -> AttentionJob.run(onePass, options(1, first),
                request(out, DType.F16, false)));
        for (String name : List.of("acc.npy.partial", "lse.npy.partial", "undo")) {
            assertFalse(Files.exists(runDir.resolve(name)), name + " is not needed");
        }
        try (NpyFile partial = NpyFile.resume(out)) {
            assertEquals(DType.F16, partial.dtype(), "the partial output holds the output's rows");
        }
        FailingKernel second = new FailingKernel(60, 0, diskFull());
        assertThrows(UncheckedIOException.class, () -> AttentionJob.run(onePass, options(2, second),
                request(out, DType.F16, false)));

        // A finished unit's rows are checked against the journal on resume.
        RunJournal.Entry lastDone = journal(runDir).stream().filter(x -> x.kind() == RunJournal.Kind.DONE).toList().getLast();
        short kept;
        try (NpyFile f = NpyFile.resume(out); RowWindow w = f.window(lastDone.firstRow(), 1)) {
            kept = w.segment().get(java.lang.foreign.ValueLayout.JAVA_SHORT_UNALIGNED, 4);
            w.segment().set(java.lang.foreign.ValueLayout.JAVA_SHORT_UNALIGNED, 4, (short) (kept ^ 1));
        }
        RunConflictException e = assertThrows(RunConflictException.class, () -> AttentionJob.run(onePass,
                options(1, null), request(out, DType.F16, false)));
        assertTrue(e.getMessage().contains("does not match the journal"), e.getMessage());
        try (NpyFile f = NpyFile.resume(out); RowWindow w = f.window(lastDone.firstRow(), 1)) {
            w.segment().set(java.lang.foreign.ValueLayout.JAVA_SHORT_UNALIGNED, 4, kept);
        }

        AttentionResult result = AttentionJob.run(onePass, options(1, null), request(out, DType.F16, false));
        assertTrue(result.unitsResumed() >= 2 && result.unitsResumed() < 12, "resumed after " + result.unitsResumed());
        assertEquals(12, result.unitsTotal());
        assertArrayEquals(expected, Files.readAllBytes(out), "bit-identical to the f32 run converted");
        assertFalse(Files.exists(runDir));
        assertFalse(Files.exists(NpyFile.partialPath(out)));
    }

    @Test
    void onlyOnePassRunsOfNarrowOutputsAreDirect() {
        AttentionInputs inputs = new AttentionInputs(N, HEADS, D, DType.F16);
        long elements = (long) N * HEADS * D;
        Schedule twoPasses = Schedule.plan(config, N, BUDGET / 396);
        assertEquals(2, twoPasses.passes().size());
        assertFalse(JobPlan.direct(DType.F16, twoPasses));
        Schedule onePass = Schedule.plan(AttentionConfig.builder().levels(new long[]{32, 64}, new int[]{1, 2})
                .heads(HEADS).headDim(D).build(), N, BUDGET / 396);
        assertEquals(1, onePass.passes().size());
        assertTrue(JobPlan.direct(DType.F16, onePass));
        assertTrue(JobPlan.direct(DType.BF16, onePass));
        assertFalse(JobPlan.direct(DType.F32, onePass), "an f32 output is its own accumulator");
        assertEquals(elements * 2, JobPlan.spaceNeeded(inputs, DType.F16, onePass), "the output alone");
        assertEquals(elements * 4 + (long) N * HEADS * 4, JobPlan.spaceNeeded(inputs, DType.F32, onePass));
    }

    @Test
    void changedInputsOrConfigurationAreRefusedUnlessRestarted() throws Exception {
        writeInputs(dir, new Random(13), DType.F32);
        Path out = dir.resolve("out.npy");
        fail(out, 1, new FailingKernel(30, 0, diskFull()), UncheckedIOException.class);
        byte[] partial = Files.readAllBytes(NpyFile.partialPath(out));

        AttentionConfig other = AttentionConfig.builder().levels(new long[]{32, 64, 512}, new int[]{1, 2, 4})
                .heads(HEADS).headDim(D).causal(false).build();
        RunConflictException e = assertThrows(RunConflictException.class, () -> AttentionJob.run(other,
                options(1, null), request(out, DType.F32, false)));
        assertTrue(e.getMessage().contains("the configuration changed") && e.getMessage().contains("causal=true")
                && e.startOver() && !e.getMessage().contains("--"), e.getMessage());   // the restart option resolves it

        e = assertThrows(RunConflictException.class, () -> AttentionJob.run(config,
                options(1, null).withBudget(BUDGET * 2), request(out, DType.F32, false)));
        assertTrue(e.getMessage().contains("window budget"), e.getMessage());

        e = assertThrows(RunConflictException.class, () -> run(out, DType.F16, 1, null, false));
        assertTrue(e.getMessage().contains("output type"), e.getMessage());

        Random random = new Random(14);
        writeInput(dir.resolve("k.npy"), random, DType.F32);                  // same header and size, new values
        e = assertThrows(RunConflictException.class, () -> run(out, DType.F32, 1, null, false));
        assertTrue(e.getMessage().contains("k (") && e.getMessage().contains("changed since the run started"),
                e.getMessage());
        assertArrayEquals(partial, Files.readAllBytes(NpyFile.partialPath(out)), "a refusal changes nothing");

        run(out, DType.F32, 2, null, true);                                    // --restart
        byte[] restarted = Files.readAllBytes(out);
        Files.delete(out);
        run(out, DType.F32, 1, null, false);
        assertArrayEquals(Files.readAllBytes(out), restarted);
    }

    @Test
    void aDamagedPartialOutputIsDetected() throws Exception {
        writeInputs(dir, new Random(15), DType.F32);
        Path out = dir.resolve("out.npy");
        fail(out, 1, new FailingKernel(50, 0, diskFull()), UncheckedIOException.class);
        RunJournal.Entry lastDone = journal(RunFiles.directory(out)).stream()
                .filter(x -> x.kind() == RunJournal.Kind.DONE).toList().getLast();
        try (NpyFile f = NpyFile.resume(out); RowWindow w = f.window(lastDone.firstRow(), 1)) {
            w.segment().set(java.lang.foreign.ValueLayout.JAVA_FLOAT_UNALIGNED, 8, 42f);
        }
        RunConflictException e = assertThrows(RunConflictException.class, () -> run(out, DType.F32, 1, null, false));
        assertTrue(e.getMessage().contains("does not match the journal") && e.startOver(), e.getMessage());
    }

    @Test
    void aDamagedUndoImageIsDetected() throws Exception {
        writeInputs(dir, new Random(16), DType.F32);
        Path out = dir.resolve("out.npy");
        fail(out, 1, new FailingKernel(2, 4, diskFull()), UncheckedIOException.class);
        try (FileChannel undo = FileChannel.open(RunFiles.directory(out).resolve("undo"), StandardOpenOption.WRITE)) {
            undo.write(ByteBuffer.wrap(new byte[]{1, 2, 3, 4}), 100);
        }
        RunConflictException e = assertThrows(RunConflictException.class, () -> run(out, DType.F32, 1, null, false));
        assertTrue(e.getMessage().contains("saved rows") && e.startOver() && !e.getMessage().contains("--"),
                e.getMessage());
    }

    @Test
    void aRunDirectoryWithoutJournalIsStartedAfresh() throws Exception {
        writeInputs(dir, new Random(17), DType.F32);
        byte[] expected = uninterrupted(dir, DType.F32);
        Path out = dir.resolve("out.npy");
        Files.createDirectories(RunFiles.directory(out));
        Files.write(NpyFile.partialPath(out), new byte[]{1, 2, 3});            // a crash before the journal existed
        run(out, DType.F32, 1, null, false);
        assertArrayEquals(expected, Files.readAllBytes(out));
    }

    @Test
    void countersFollowTheRun() throws Exception {
        writeInputs(dir, new Random(18), DType.F32);
        Path out = dir.resolve("out.npy");
        fail(out, 1, new FailingKernel(40, 0, diskFull()), UncheckedIOException.class);
        CountersFile.Snapshot s = CountersFile.read(RunFiles.countersFile(RunFiles.directory(out)));
        assertEquals(CountersFile.State.FAILED, s.state());
        assertEquals(RunCounter.TYPES.stream().map(CountersFile.Type::id).toList(),
                s.counters().stream().map(CountersFile.Counter::typeId).toList());
        assertEquals(N, RunCounter.TOKENS_TOTAL.in(s, -1));
        assertEquals(41, RunCounter.UNITS_TOTAL.in(s, -1));
        assertTrue(RunCounter.UNITS_DONE.in(s, -1) > 0 && RunCounter.UNITS_DONE.in(s, -1) < 10, s.toString());
        assertTrue(RunCounter.TOKENS_DONE.in(s, -1) > 0 && RunCounter.TILES_DONE.in(s, -1) > 0, s.toString());
        assertEquals(1, RunCounter.ERRORS.in(s, -1));
        assertEquals(0, RunCounter.RESUMES.in(s, -1));
        assertTrue(RunCounter.RESIDENT_MEMORY.in(s, -1) > 1 << 20, s.toString());
        assertEquals(ProcessHandle.current().pid(), s.pid());

        fail(out, 1, new FailingKernel(20, 0, diskFull()), UncheckedIOException.class);
        s = CountersFile.read(RunFiles.countersFile(RunFiles.directory(out)));
        assertEquals(2, RunCounter.ERRORS.in(s, -1));
        assertEquals(1, RunCounter.RESUMES.in(s, -1));
        assertTrue(RunCounter.UNITS_DONE.in(s, -1) > 4, "resumed units count: " + s);
    }

    // --- helpers

    private byte[] uninterrupted(Path inputs, DType outputType) throws IOException {
        Path base = inputs.resolve("base.npy");
        AttentionResult r = AttentionJob.run(config, options(2, null), request(base, outputType, false));
        assertFalse(r.resumed());
        byte[] bytes = Files.readAllBytes(base);
        Files.delete(base);
        return bytes;
    }

    private AttentionRequest request(Path out, DType outputType, boolean restart) {
        return AttentionRequest.of(dir.resolve("q.npy"), dir.resolve("k.npy"), dir.resolve("v.npy"), out)
                .withOutputType(outputType).withRestart(restart);
    }

    private static DilatedAttention.Options options(int threads, AttentionKernel kernel) {
        return DilatedAttention.Options.defaults().withThreads(threads).withBudget(BUDGET).withKernel(kernel);
    }

    private AttentionResult run(Path out, DType outputType, int threads, AttentionKernel kernel, boolean restart)
            throws IOException {
        return AttentionJob.run(config, options(threads, kernel), request(out, outputType, restart));
    }

    private void fail(Path out, int threads, FailingKernel kernel, Class<? extends Throwable> expected) {
        fail(out, threads, kernel, expected, DType.F32);
    }

    private void fail(Path out, int threads, FailingKernel kernel, Class<? extends Throwable> expected, DType outputType) {
        assertThrows(expected, () -> run(out, outputType, threads, kernel, false));
        assertTrue(kernel.calls.get() >= kernel.failAt, "the failure point was reached");
    }

    private static void assertKept(Path out) {
        assertFalse(Files.exists(out), "nothing under the output's name");
        assertTrue(Files.exists(NpyFile.partialPath(out)), "the partial output is kept");
        for (String name : List.of("journal", "counters", "lse.npy.partial")) {
            assertTrue(Files.exists(RunFiles.directory(out).resolve(name)), name + " is kept");
        }
    }

    private static List<RunJournal.Entry> journal(Path runDir) throws IOException {
        try (RunJournal j = RunJournal.open(runDir.resolve("journal"))) {
            return j.records();
        }
    }

    static void writeInputs(Path dir, Random random, DType dtype) throws IOException {
        for (String name : new String[]{"q.npy", "k.npy", "v.npy"}) writeInput(dir.resolve(name), random, dtype);
    }

    static void writeInput(Path file, Random random, DType dtype) throws IOException {
        int size = N * HEADS * D;
        double[] x = TestData.gaussian(random, size, 1.5);
        Files.deleteIfExists(file);
        try (NpyFile f = NpyFile.create(file, dtype, N, HEADS, D)) {
            try (RowWindow w = f.window(0, N)) {
                for (int i = 0; i < size; i++) dtype.set(w.segment(), i, (float) x[i]);
            }
            f.commit();
        }
    }
}
