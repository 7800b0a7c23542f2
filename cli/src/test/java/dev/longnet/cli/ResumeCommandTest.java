package dev.longnet.cli;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.longnet.engine.AttentionKernel;
import dev.longnet.engine.DilatedAttention;
import dev.longnet.engine.RunCounter;
import dev.longnet.engine.RunFiles;
import dev.longnet.engine.VectorAttentionKernel;
import dev.longnet.engine.View;
import dev.longnet.storage.CountersFile;
import dev.longnet.storage.DType;
import dev.longnet.storage.NpyFile;
import dev.longnet.storage.RowWindow;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Supplier;
import java.util.function.UnaryOperator;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * attend after a failure: a full disk or an I/O fault (injected into the kernel through the test hook) is one line,
 * keeps OUT.partial and OUT.run, leaves nothing under OUT; the same command resumes to the same bytes. Changed
 * configurations are refused unless --restart; --check-finite names the first NaN; stat reads the counters.
 */
class ResumeCommandTest {
    static final int N = 3000;
    static final String[] CONFIG = {"--segments", "64,128,1024", "--dilations", "1,2,4", "--causal",
            "--window-budget", "100000", "--threads", "2"};

    @TempDir
    Path tmp;
    Path out;

    @BeforeEach
    void generate() {
        Cli.Run run = Cli.run("gen", "--n", "" + N, "--heads", "2", "--head-dim", "16", "--seed", "3",
                "--out", tmp.toString(), "--quiet");
        assertEquals(0, run.code(), run.toString());
        out = tmp.resolve("out.npy");
    }

    /** What the next attend runs change in the engine options (an injected failing kernel). */
    private UnaryOperator<DilatedAttention.Options> engine = UnaryOperator.identity();

    /** The real kernel, throwing at its {@code failAt}-th call (under the same name: the same run). */
    static final class FailingKernel implements AttentionKernel {
        final AttentionKernel real = new VectorAttentionKernel();
        final AtomicLong calls = new AtomicLong();
        final long failAt;
        final Supplier<? extends Throwable> failure;

        FailingKernel(long failAt, Supplier<? extends Throwable> failure) {
            this.failAt = failAt;
            this.failure = failure;
        }

        @Override
        public void attend(View q, View k, View v, View o, View lse, int qFrom, int qTo, boolean causal, float scale) {
            if (calls.incrementAndGet() == failAt) {
                Throwable t = failure.get();
                if (t instanceof RuntimeException re) throw re;
                throw (Error) t;
            }
            real.attend(q, k, v, o, lse, qFrom, qTo, causal, scale);
        }

        @Override
        public String name() { return real.name(); }
    }

    private Cli.Run attend(Path output, String... extra) {
        List<String> args = new ArrayList<>(List.of("attend", "--q", tmp.resolve("q.npy").toString(),
                "--k", tmp.resolve("k.npy").toString(), "--v", tmp.resolve("v.npy").toString(), "--out", output.toString()));
        args.addAll(List.of(CONFIG));
        args.addAll(List.of(extra));
        return Cli.run(engine, args.toArray(String[]::new));
    }

    private byte[] uninterrupted() throws IOException {
        Path base = tmp.resolve("base.npy");
        Cli.Run run = attend(base, "--quiet");
        assertEquals(0, run.code(), run.toString());
        return Files.readAllBytes(base);
    }

    private void inject(long failAt, Supplier<? extends Throwable> failure) {
        engine = o -> o.withKernel(new FailingKernel(failAt, failure));
    }

    /** tokensPerSecond × seconds from a --json summary: the tokens' worth of work the run reports as its own. */
    private static double ownTokens(String json) {
        return number(json, "tokensPerSecond") * number(json, "seconds");
    }

    private static double number(String json, String key) {
        java.util.regex.Matcher m = java.util.regex.Pattern.compile("\"" + key + "\":([-0-9.eE]+)").matcher(json);
        assertTrue(m.find(), key + " in " + json);
        return Double.parseDouble(m.group(1));
    }

    /** A batch (3, 1000, 2, 16) of the same rows, stopped in its second sequence: stat says so, and it resumes. */
    @Test
    void anInterruptedBatchShowsInStatAndResumesToTheSameBytes() throws IOException {
        Path[] batch = new Path[3];
        String[] names = {"q", "k", "v"};
        for (int t = 0; t < 3; t++) {
            Path file = tmp.resolve(names[t] + ".npy");
            byte[] all = Files.readAllBytes(file);
            long offset;
            try (NpyFile f = NpyFile.open(file)) {
                offset = f.header().dataOffset();
            }
            batch[t] = Cli.writeNpy(tmp.resolve("b" + names[t] + ".npy"), "<f4", "(3, 1000, 2, 16)",
                    java.util.Arrays.copyOfRange(all, (int) offset, all.length));
        }
        java.util.function.Function<Path, Cli.Run> run = output -> {
            List<String> args = new ArrayList<>(List.of("attend", "--q", batch[0].toString(), "--k", batch[1].toString(),
                    "--v", batch[2].toString(), "--out", output.toString(), "--lengths", "1000,700,1000", "--quiet"));
            args.addAll(List.of(CONFIG));
            return Cli.run(engine, args.toArray(String[]::new));
        };
        FailingKernel counting = new FailingKernel(Long.MAX_VALUE, () -> new AssertionError("never"));
        engine = o -> o.withKernel(counting);
        assertEquals(0, run.apply(tmp.resolve("whole.npy")).code());
        inject(counting.calls.get() / 2, () -> new UncheckedIOException(new IOException("No space left on device")));
        Cli.Run failed = run.apply(out);
        assertEquals(1, failed.code(), failed.toString());
        assertTrue(failed.err().contains("the partial run is kept in " + RunFiles.directory(out)), failed.err());
        Cli.Run stat = Cli.run("stat", RunFiles.directory(out).toString());
        assertEquals(0, stat.code(), stat.toString());
        assertTrue(stat.out().startsWith(RunFiles.directory(out) + ": a batch, 1 of 3 sequences done; the sequence in"
                + " progress:\n" + RunFiles.directory(out).resolve("sequence-1.npy" + RunFiles.SUFFIX)), stat.out());
        engine = UnaryOperator.identity();
        Cli.Run resumed = run.apply(out);
        assertEquals(0, resumed.code(), resumed.toString());
        assertArrayEquals(Files.readAllBytes(tmp.resolve("whole.npy")), Files.readAllBytes(out));
        assertFalse(Files.exists(RunFiles.directory(out)));
    }

    @Test
    void aResumedRunReportsItsOwnSpeed() {
        Cli.Run fresh = attend(tmp.resolve("fresh.npy"), "--json");
        assertEquals(0, fresh.code(), fresh.toString());
        assertEquals(N, ownTokens(fresh.out()), N * 1e-9, "a fresh run computes all N tokens");

        inject(40, () -> new UncheckedIOException(new IOException("No space left on device")));
        assertEquals(1, attend(out).code());
        engine = UnaryOperator.identity();
        Cli.Run resumed = attend(out, "--json");
        assertEquals(0, resumed.code(), resumed.toString());
        assertTrue(resumed.out().contains("\"tokens\":" + N), resumed.out());
        double own = ownTokens(resumed.out());
        assertTrue(own > 0 && own < 0.9 * N, "the resumed run's speed counts only its own work: " + own + " of " + N);
        assertEquals(Math.round(own), own, 1e-6 * N, "a whole number of tokens' worth");

        inject(40, () -> new UncheckedIOException(new IOException("No space left on device")));
        assertEquals(1, attend(tmp.resolve("again.npy")).code());
        engine = UnaryOperator.identity();
        Cli.Run human = attend(tmp.resolve("again.npy"));
        assertEquals(0, human.code(), human.toString());
        assertTrue(human.err().contains("units were done by an earlier run; the speed counts this run's work, "),
                human.err());
    }

    @Test
    void aFullDiskIsOneLineKeepsThePartialRunAndTheSameCommandResumes() throws IOException {
        byte[] expected = uninterrupted();
        inject(40, () -> new UncheckedIOException(new IOException("No space left on device")));
        Cli.Run failed = attend(out);
        assertEquals(1, failed.code(), failed.toString());
        String line = lastLine(failed.err());
        assertEquals("longnet attend: disk full: No space left on device; the partial run is kept in "
                + RunFiles.directory(out) + ": run the same command again to resume (after freeing space, if the disk is"
                + " full), or add --restart to start over", line);
        assertFalse(Files.exists(out), "nothing under the output's name");
        assertTrue(Files.exists(NpyFile.partialPath(out)));
        assertTrue(Files.exists(RunFiles.directory(out).resolve("journal")));

        Cli.Run stat = Cli.run("stat", RunFiles.directory(out).toString());
        assertEquals(0, stat.code(), stat.toString());
        assertTrue(stat.out().startsWith(RunFiles.directory(out) + ": failed (run the same attend command to resume)"),
                stat.out());
        assertTrue(stat.out().contains("errors           1"), stat.out());
        Cli.Run json = Cli.run("stat", "--json", out.toString());              // the output's path works too
        assertEquals(0, json.code(), json.toString());
        assertTrue(json.out().startsWith("{\"dir\":\"" + RunFiles.directory(out) + "\",\"state\":\"failed\""), json.out());
        assertTrue(json.out().contains("\"tokensTotal\":" + N), json.out());

        // An I/O fault on a mapped page (the JVM's InternalError) later in the resumed run: kept too.
        inject(30, () -> new InternalError("a fault occurred in an unsafe memory access operation"));
        Cli.Run fault = attend(out);
        assertEquals(1, fault.code(), fault.toString());
        assertTrue(lastLine(fault.err()).startsWith("longnet attend: I/O error on a mapped file (disk full, or a file"
                + " truncated while in use): a fault occurred in an unsafe memory access operation; the partial run is"
                + " kept in "), fault.err());

        engine = UnaryOperator.identity();
        Cli.Run resumed = attend(out);
        assertEquals(0, resumed.code(), resumed.toString());
        assertTrue(resumed.err().contains("attend: resuming the run in " + RunFiles.directory(out)), resumed.err());
        assertTrue(resumed.err().matches("(?s).*attend: resumed: \\d+ of \\d+ units were done by an earlier run.*"),
                resumed.err());
        assertArrayEquals(expected, Files.readAllBytes(out), "bit-identical to the uninterrupted run");
        assertFalse(Files.exists(RunFiles.directory(out)));
        assertFalse(Files.exists(NpyFile.partialPath(out)));
        Cli.Run gone = Cli.run("stat", out.toString());
        assertEquals(1, gone.code());
        assertTrue(gone.err().contains("no run here"), gone.err());
    }

    @Test
    void aChangedConfigurationIsRefusedUnlessRestarted() throws IOException {
        inject(10, () -> new UncheckedIOException(new IOException("Input/output error")));
        assertEquals(1, attend(out, "--quiet").code());
        engine = UnaryOperator.identity();
        Cli.Run changed = attend(out, "--quiet", "--offsets", "paper");
        assertEquals(1, changed.code(), changed.toString());
        assertTrue(changed.oneErrorLine(), changed.toString());
        assertTrue(changed.err().startsWith("longnet attend: cannot resume the run in " + RunFiles.directory(out)
                + ": the configuration changed since the run started"), changed.err());
        assertTrue(changed.err().strip().endsWith("; use --restart to start over"), changed.err());
        Cli.Run restarted = attend(out, "--quiet", "--offsets", "paper", "--restart");
        assertEquals(0, restarted.code(), restarted.toString());
        assertFalse(Files.exists(RunFiles.directory(out)));
    }

    @Test
    void checkFiniteNamesTheFirstNaNAndComputesNothing() throws IOException {
        Path q = tmp.resolve("q.npy");
        try (NpyFile f = NpyFile.openWritable(q); RowWindow w = f.window(1234, 1)) {
            DType.F32.set(w.segment(), 16 + 5, Float.NaN);                     // head 1, dimension 5
        }
        Cli.Run run = attend(out, "--check-finite", "--quiet");
        assertEquals(1, run.code(), run.toString());
        assertTrue(run.oneErrorLine(), run.toString());
        assertEquals("longnet attend: " + q + ": row 1234, head 1 holds NaN (dimension 5); attention needs finite"
                + " inputs, nothing was computed", run.err().strip());
        assertFalse(Files.exists(out));
        assertFalse(Files.exists(RunFiles.directory(out)), "no run was started");
        assertFalse(Files.exists(NpyFile.partialPath(out)));

        try (NpyFile f = NpyFile.openWritable(tmp.resolve("v.npy")); RowWindow w = f.window(0, 1)) {
            DType.F32.set(w.segment(), 0, Float.NEGATIVE_INFINITY);
        }
        try (NpyFile f = NpyFile.openWritable(q); RowWindow w = f.window(1234, 1)) {
            DType.F32.set(w.segment(), 16 + 5, 0.5f);
        }
        run = attend(out, "--check-finite");
        assertEquals(1, run.code(), run.toString());
        assertTrue(run.err().contains("v.npy: row 0, head 0 holds -Inf (dimension 0)"), run.err());
    }

    @Test
    void checkFiniteRefusesInputsWhoseLogitsWouldOverflowFloat() throws IOException {
        Path q = tmp.resolve("q.npy");
        try (NpyFile f = NpyFile.openWritable(q); RowWindow w = f.window(7, 1)) {
            DType.F32.set(w.segment(), 3, 3e38f);
        }
        Cli.Run run = attend(out, "--check-finite");
        assertEquals(1, run.code(), run.toString());
        assertTrue(run.err().contains("beyond float's range: scale the inputs down"), run.err());
    }

    @Test
    void watchRefreshesUntilTheRunEnds() throws Exception {
        Path dir = tmp.resolve("x.npy.run");
        Files.createDirectories(dir);
        try (CountersFile counters = CountersFile.create(RunFiles.countersFile(dir), RunCounter.TYPES)) {
            counters.state(CountersFile.State.RUNNING);
            counters.counter(RunCounter.TOKENS_DONE.type()).setRelease(10);
            counters.counter(RunCounter.TOKENS_TOTAL.type()).setRelease(100);
            counters.heartbeat();
            Thread finisher = Thread.ofPlatform().start(() -> {
                try {
                    Thread.sleep(600);
                } catch (InterruptedException e) {
                    return;
                }
                counters.counter(RunCounter.TOKENS_DONE.type()).setRelease(100);
                counters.state(CountersFile.State.DONE);
            });
            Cli.Run watch = Cli.run("stat", "--watch", "--interval", "0.1", dir.toString());
            finisher.join();
            assertEquals(0, watch.code(), watch.toString());
            long readings = watch.out().lines().filter(l -> l.startsWith(dir + ": ")).count();
            assertTrue(readings >= 3, readings + " readings:\n" + watch.out());
            assertTrue(watch.out().contains("tokens done      10 / 100 (10.0%)"), watch.out());
            assertTrue(lastReading(watch.out()).startsWith(dir + ": done"), watch.out());
            assertTrue(lastReading(watch.out()).contains("tokens done      100 / 100 (100.0%)"), watch.out());
        }
        Cli.Run bad = Cli.run("stat", "--watch", "--interval", "0", dir.toString());
        assertEquals(2, bad.code(), bad.toString());
    }

    private static String lastReading(String out) {
        return out.substring(out.lastIndexOf(out.lines().filter(l -> !l.startsWith(" ")).reduce((a, b) -> b).orElseThrow()));
    }

    private static String lastLine(String text) {
        List<String> lines = text.strip().lines().toList();
        return lines.getLast();
    }
}
