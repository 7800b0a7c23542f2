package dev.longnet.engine;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.longnet.engine.ResumableRunTest.FailingKernel;
import dev.longnet.storage.ChildJvm;
import dev.longnet.storage.DType;
import dev.longnet.storage.NpyFile;
import dev.longnet.storage.RowWindow;
import dev.longnet.storage.RunJournal;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.UncheckedIOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.channels.FileChannel;
import java.nio.channels.OverlappingFileLockException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.List;
import java.util.Random;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Hostile and concurrent use of file jobs (issue 11): each test reproduces a way a run used to end in a wrong output
 * with success, a destroyed file or a crash, and checks that it now fails cleanly, naming what is wrong.
 */
class HostileUseTest {
    private static final int N = ResumableRunTest.N;
    private static final int HEADS = ResumableRunTest.HEADS;
    private static final int D = ResumableRunTest.D;

    @TempDir
    Path dir;

    /** Pass 0 (w = 32, 64) in 24 windows of 64 rows; pass 1 (w = 512, r = 4) in 3 windows of 512 rows. */
    private final AttentionConfig config = AttentionConfig.builder().levels(new long[]{32, 64, 512}, new int[]{1, 2, 4})
            .heads(HEADS).headDim(D).causal(true).build();

    // --- 11.1 one run per output

    @Test
    void aSecondRunOfTheSameOutputIsRefusedWhileTheFirstRuns() throws Exception {
        ResumableRunTest.writeInputs(dir, new Random(1), DType.F32);
        Path out = dir.resolve("out.npy");
        byte[] expected = uninterrupted();
        AtomicReference<Throwable> second = new AtomicReference<>();
        DilatedAttention.Options first = options().withListener(p -> {
            if (second.get() != null) return;
            try {
                AttentionJob.run(config, options(), request(out));
                second.set(new AssertionError("the second run was not refused"));
            } catch (Throwable e) {
                second.set(e);
            }
        });
        AttentionJob.run(config, first, request(out));
        assertTrue(second.get() instanceof RunConflictException, String.valueOf(second.get()));
        assertTrue(second.get().getMessage().startsWith(out + " is being computed by another run (process "
                + ProcessHandle.current().pid() + ","), second.get().getMessage());
        assertArrayEquals(expected, Files.readAllBytes(out), "the first run's output is whole and right");
        assertFalse(Files.exists(RunFiles.directory(out)), "the lock goes with the run directory");
    }

    @Test
    void aRunHeldByAnotherProcessIsRefusedAndResumableAfterIt() throws Exception {
        ResumableRunTest.writeInputs(dir, new Random(2), DType.F32);
        Path out = dir.resolve("out.npy");
        Process holder = new ProcessBuilder(ChildJvm.command(List.of(), RunLockHolder.class.getName(), List.of(out.toString())))
                .redirectError(ProcessBuilder.Redirect.INHERIT).start();
        try {
            BufferedReader said = new BufferedReader(new InputStreamReader(holder.getInputStream()));
            assertEquals("locked", said.readLine());
            RunConflictException e = assertThrows(RunConflictException.class,
                    () -> AttentionJob.run(config, options(), request(out)));
            assertTrue(e.getMessage().contains("(process " + holder.pid() + ","), e.getMessage());
            assertFalse(Files.exists(out));
            assertFalse(Files.exists(NpyFile.partialPath(out)), "the refused run wrote nothing");
        } finally {
            holder.getOutputStream().close();
            holder.waitFor();
        }
        AttentionJob.run(config, options(), request(out));
        assertTrue(Files.isRegularFile(out), "the lock is released when its holder ends");
    }

    // --- 11.3 outputs that are not regular files

    @Test
    void aDeviceOrADirectoryIsNeverTakenForTheOutput() throws Exception {
        ResumableRunTest.writeInputs(dir, new Random(3), DType.F32);
        // A pipe and a dangling link stand for devices (never /dev/null itself: a regression would replace it).
        Path pipe = dir.resolve("pipe.npy");
        boolean made;
        try {
            made = new ProcessBuilder("mkfifo", pipe.toString()).start().waitFor() == 0;
        } catch (IOException e) {
            made = false;
        }
        Path dangling = Files.createSymbolicLink(dir.resolve("dangling.npy"), dir.resolve("nowhere"));
        for (Path special : made ? List.of(pipe, dangling) : List.of(dangling)) {
            FileAlreadyExistsException e = assertThrows(FileAlreadyExistsException.class,
                    () -> AttentionJob.run(config, options(), request(special).withOverwrite(true)));
            assertTrue(e.getMessage().contains("not a regular file"), e.getMessage());
            assertTrue(Files.exists(special, java.nio.file.LinkOption.NOFOLLOW_LINKS)
                    && !Files.isRegularFile(special, java.nio.file.LinkOption.NOFOLLOW_LINKS), special + " is untouched");
        }
        Path directory = Files.createDirectories(dir.resolve("existing"));
        FileAlreadyExistsException e = assertThrows(FileAlreadyExistsException.class,
                () -> AttentionJob.run(config, options(), request(directory).withOverwrite(true)));
        assertTrue(e.getMessage().contains("is a directory"), e.getMessage());
        assertFalse(Files.exists(RunFiles.directory(directory)), "refused before anything was computed");
    }

    // --- 11.4 inputs that are the output's working files

    @Test
    void anInputThatIsTheOutputsWorkingFileIsRefused() throws Exception {
        ResumableRunTest.writeInputs(dir, new Random(4), DType.F32);
        Path out = dir.resolve("out.npy");
        Path partial = NpyFile.partialPath(out);
        Files.copy(dir.resolve("q.npy"), partial);
        byte[] before = Files.readAllBytes(partial);
        AttentionRequest aliased = new AttentionRequest(partial, dir.resolve("k.npy"), dir.resolve("v.npy"), out,
                DType.F32, false, false, false);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> AttentionJob.run(config, options(), aliased));
        assertTrue(e.getMessage().startsWith(partial + " is the output " + out), e.getMessage());
        assertArrayEquals(before, Files.readAllBytes(partial), "the input is intact");

        Path link = Files.createSymbolicLink(dir.resolve("link.npy"), RunFiles.directory(out).resolve("lse.npy.partial"));
        Files.createDirectories(RunFiles.directory(out));
        Files.copy(dir.resolve("v.npy"), RunFiles.directory(out).resolve("lse.npy.partial"));
        AttentionRequest inRunDir = new AttentionRequest(dir.resolve("q.npy"), dir.resolve("k.npy"), link, out,
                DType.F32, false, false, false);
        assertThrows(IllegalArgumentException.class, () -> AttentionJob.run(config, options(), inRunDir));

        AttentionRequest itself = new AttentionRequest(dir.resolve("q.npy"), dir.resolve("k.npy"),
                dir.resolve("v.npy"), dir.resolve("q.npy"), DType.F32, true, false, false);
        assertThrows(IllegalArgumentException.class, () -> AttentionJob.run(config, options(), itself));
    }

    // --- 11.5 every finished unit is checked on resume

    @Test
    void aDamagedEarlierUnitOfThePartialOutputIsDetectedOnResume() throws Exception {
        ResumableRunTest.writeInputs(dir, new Random(5), DType.F32);
        Path out = dir.resolve("out.npy");
        assertThrows(UncheckedIOException.class, () -> run(out, new FailingKernel(60, 0, diskFull())));
        List<RunJournal.Entry> done = doneUnits(out);
        assertTrue(done.size() > 2 && done.getLast().pass() == 0, done.size() + " units done");
        try (NpyFile f = NpyFile.resume(out); RowWindow w = f.window(0, 1)) {         // unit 0, not the last
            w.segment().set(ValueLayout.JAVA_FLOAT_UNALIGNED, 8, w.segment().get(ValueLayout.JAVA_FLOAT_UNALIGNED, 8) + 1);
        }
        RunConflictException e = assertThrows(RunConflictException.class, () -> run(out, null));
        assertTrue(e.getMessage().contains("pass 0 unit 0, rows 0..63, fails its checksum"), e.getMessage());
    }

    @Test
    void aDamagedLseRowOfAnEarlierPassIsDetectedOnResume() throws Exception {
        ResumableRunTest.writeInputs(dir, new Random(6), DType.F32);
        Path out = dir.resolve("out.npy");
        // 3 calls (one per head) per unit of pass 1: the 5th is in its unit 1, after unit 0 was done.
        assertThrows(UncheckedIOException.class, () -> run(out, new FailingKernel(5, 4, diskFull())));
        assertEquals(1, doneUnits(out).getLast().pass());
        try (NpyFile lse = NpyFile.resume(RunFiles.directory(out).resolve("lse.npy")); RowWindow w = lse.window(1400, 1)) {
            w.segment().set(ValueLayout.JAVA_FLOAT_UNALIGNED, 4, 7f);                // pass 0 unit 21, past pass 1
        }
        RunConflictException e = assertThrows(RunConflictException.class, () -> run(out, null));
        assertTrue(e.getMessage().contains("pass 0 unit 21"), e.getMessage());
    }

    // --- 11.6 non-finite and huge inputs without --check-finite

    @Test
    void nonFiniteInputsFailNamingFileRowAndHead() throws Exception {
        ResumableRunTest.writeInputs(dir, new Random(7), DType.F32);
        setElement(dir.resolve("q.npy"), 700, 1, 3, Float.NaN);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> run(dir.resolve("a.npy"), null));
        assertTrue(e.getMessage().startsWith(dir.resolve("q.npy") + ": row 700, head 1 holds NaN"), e.getMessage());
        assertFalse(Files.exists(dir.resolve("a.npy")));

        ResumableRunTest.writeInputs(dir, new Random(8), DType.F32);
        setElement(dir.resolve("v.npy"), 901, 2, 0, Float.NEGATIVE_INFINITY);
        e = assertThrows(IllegalArgumentException.class, () -> run(dir.resolve("b.npy"), null));
        assertTrue(e.getMessage().startsWith(dir.resolve("v.npy") + ": row 901, head 2 holds NaN, an infinity"),
                e.getMessage());

        ResumableRunTest.writeInputs(dir, new Random(9), DType.F32);
        setElement(dir.resolve("k.npy"), 5, 0, 7, 1e30f);
        e = assertThrows(IllegalArgumentException.class, () -> run(dir.resolve("c.npy"), null));
        assertTrue(e.getMessage().startsWith(dir.resolve("k.npy") + ": row 5, head 0 holds"), e.getMessage());
    }

    // --- 11.7 inputs changed during a run

    @Test
    void anInputTruncatedDuringTheRunFailsCleanlyInsteadOfCrashing() throws Exception {
        ResumableRunTest.writeInputs(dir, new Random(10), DType.F32);
        Path q = dir.resolve("q.npy");
        long keep;
        try (NpyFile f = NpyFile.open(q)) {
            keep = f.header().dataOffset() + 100 * f.rowBytes();
        }
        AtomicReference<Throwable> locked = new AtomicReference<>();
        DilatedAttention.Options truncating = options().withListener(p -> {
            if (locked.get() != null) return;
            try (FileChannel ch = FileChannel.open(q, StandardOpenOption.WRITE)) {
                try {
                    ch.tryLock();
                    locked.set(new AssertionError("the input was not locked"));
                } catch (OverlappingFileLockException e) {
                    locked.set(e);                                   // the run holds a (shared) lock on q
                }
                ch.truncate(keep);                                   // advisory locks do not stop truncate
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        });
        IOException e = assertThrows(IOException.class, () -> AttentionJob.run(config, truncating, request(dir.resolve("o.npy"))));
        assertTrue(e.getMessage().startsWith(q + ": the file shrank to "), e.getMessage());
        assertTrue(locked.get() instanceof OverlappingFileLockException, String.valueOf(locked.get()));
    }

    // --- 11.9 a segment larger than the window budget

    @Test
    void aSegmentLargerThanTheBudgetIsCutIntoUnitsThatProgressAndResume() throws Exception {
        // One segment of all 1500 rows (r = 1 and r = 3 in two levels that cannot share a window of 101 rows).
        AttentionConfig long_ = AttentionConfig.builder().levels(new long[]{1500, 3000}, new int[]{1, 3})
                .heads(HEADS).headDim(D).causal(true).build();
        ResumableRunTest.writeInputs(dir, new Random(11), DType.F32);
        Path base = dir.resolve("base.npy");
        List<Progress> events = new java.util.ArrayList<>();
        AttentionResult whole = AttentionJob.run(long_, options().withListener(events::add), request(base));
        assertEquals(2 * 15, whole.unitsTotal(), "each level's one segment in units of at most 101 query rows");
        assertEquals(30, events.stream().map(Progress::unitsDone).distinct().count(), "progress moves unit by unit");
        byte[] expected = Files.readAllBytes(base);
        double[] reference = reference(long_);
        assertEquals(0, maxAbsDiff(reference, base), 1e-4, "matches the reference");

        Path out = dir.resolve("out.npy");
        // 3 calls (one per head) per unit: the 20th is in unit 6 of the first level's segment.
        assertThrows(UncheckedIOException.class,
                () -> AttentionJob.run(long_, options().withKernel(new FailingKernel(20, 1, diskFull())), request(out)));
        assertEquals(6, doneUnits(out).size(), "only the unit in progress is lost");
        AttentionResult resumed = AttentionJob.run(long_, options(), request(out));
        assertEquals(6, resumed.unitsResumed());
        assertArrayEquals(expected, Files.readAllBytes(out), "bit-identical to the uninterrupted run");
        byte[] generous = Files.readAllBytes(runWithBudget(long_, 1L << 30));
        assertArrayEquals(expected, generous, "the same bits as one unit per segment");
    }

    // --- 11.10 segments of a confined arena

    @Test
    void confinedSegmentsAreRefusedUpFrontWithWhatToDo() {
        AttentionConfig small = AttentionConfig.builder().levels(new long[]{16}, new int[]{1}).heads(2).headDim(8).build();
        int n = 64;
        long bytes = (long) n * 2 * 8 * 4;
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment q = arena.allocate(bytes, 4);
            MemorySegment out = arena.allocate(bytes, 4);
            try (DilatedAttention two = new DilatedAttention(small, DilatedAttention.Options.defaults().withThreads(2))) {
                IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> two.attend(q, q, q, out, n));
                assertTrue(e.getMessage().startsWith("q belongs to a confined arena (Arena.ofConfined())"), e.getMessage());
                assertTrue(e.getMessage().contains("Arena.ofShared()") && e.getMessage().contains("withThreads(1)"),
                        e.getMessage());
            }
            try (DilatedAttention one = new DilatedAttention(small, DilatedAttention.Options.defaults().withThreads(1))) {
                one.attend(q, q, q, out, n);                         // on the caller's thread: fine
            }
        }
    }

    // --- 11.11 messages

    @Test
    void inputsWithoutRowsAreNamed() throws Exception {
        for (String name : new String[]{"q.npy", "k.npy", "v.npy"}) {
            try (NpyFile f = NpyFile.create(dir.resolve(name), DType.F32, 0, HEADS, D)) {
                f.commit();
            }
        }
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> run(dir.resolve("o.npy"), null));
        assertEquals(dir.resolve("q.npy") + ": shape [0, 3, 8] has no rows; attention needs at least one token",
                e.getMessage());
    }

    // --- helpers

    private Path runWithBudget(AttentionConfig config, long budget) throws IOException {
        Path out = dir.resolve("budget-" + budget + ".npy");
        AttentionJob.run(config, options().withBudget(budget), request(out));
        return out;
    }

    private double[] reference(AttentionConfig config) throws IOException {
        return ReferenceAttention.attend(config, N, values(dir.resolve("q.npy")), values(dir.resolve("k.npy")),
                values(dir.resolve("v.npy"))).out();
    }

    private static double maxAbsDiff(double[] expected, Path file) throws IOException {
        return TestData.maxAbsDiff(expected, values(file));
    }

    private static double[] values(Path file) throws IOException {
        try (NpyFile f = NpyFile.open(file); RowWindow w = f.window(0, f.rows())) {
            double[] x = new double[(int) (f.rows() * f.rowElements())];
            for (int i = 0; i < x.length; i++) x[i] = f.dtype().get(w.segment(), i);
            return x;
        }
    }

    private static java.util.function.Supplier<Throwable> diskFull() {
        return () -> new UncheckedIOException(new IOException("No space left on device"));
    }

    private DilatedAttention.Options options() {
        return DilatedAttention.Options.defaults().withThreads(1).withBudget(ResumableRunTest.BUDGET);
    }

    private AttentionRequest request(Path out) {
        return AttentionRequest.of(dir.resolve("q.npy"), dir.resolve("k.npy"), dir.resolve("v.npy"), out);
    }

    private void run(Path out, AttentionKernel kernel) throws IOException {
        AttentionJob.run(config, options().withKernel(kernel), request(out));
    }

    private byte[] uninterrupted() throws IOException {
        Path base = dir.resolve("base.npy");
        run(base, null);
        byte[] bytes = Files.readAllBytes(base);
        Files.delete(base);
        return bytes;
    }

    private static List<RunJournal.Entry> doneUnits(Path out) throws IOException {
        try (RunJournal j = RunJournal.open(RunFiles.directory(out).resolve("journal"))) {
            return j.records().stream().filter(e -> e.kind() == RunJournal.Kind.DONE).toList();
        }
    }

    private static void setElement(Path file, long row, int head, int dim, float value) throws IOException {
        try (NpyFile f = NpyFile.openWritable(file); RowWindow w = f.window(row, 1)) {
            w.segment().set(ValueLayout.JAVA_FLOAT_UNALIGNED, ((long) head * D + dim) * 4, value);
        }
    }
}
