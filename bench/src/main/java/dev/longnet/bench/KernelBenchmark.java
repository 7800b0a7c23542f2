package dev.longnet.bench;

import dev.longnet.engine.AttentionKernel;
import dev.longnet.engine.View;
import dev.longnet.engine.VectorAttentionKernel;
import dev.longnet.storage.DType;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Threads;
import org.openjdk.jmh.annotations.Warmup;

/**
 * One dense m×m attention tile (a whole dilated view) through the Vector API kernel, as the engine runs it. Time per tile; GFLOPS = 4·m²·d (2·m²·d causal) / time, as SPEC.md counts.
 * {@code tileAllCores} runs one independent tile per thread on every core.
 */
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(value = 1, jvmArgsAppend = {"--add-modules=jdk.incubator.vector"})
@State(Scope.Thread)
public class KernelBenchmark {
    @Param({"512", "1024", "2048"})
    int m;

    @Param({"64", "128"})
    int d;

    @Param({"false", "true"})
    boolean causal;

    /** The micro-kernel shape: {@code auto} as the engine picks it for d, or SINGLE (6 × 1), NARROW (6 × 2), WIDE (6 × 4). */
    @Param({"auto", "SINGLE", "NARROW", "WIDE"})
    String shape;

    private Arena arena;
    private View q, k, v, out, lse;
    private AttentionKernel kernel;

    @Setup(Level.Trial)
    public void setup() {
        arena = Arena.ofShared();
        kernel = shape.equals("auto") ? new VectorAttentionKernel() : new VectorAttentionKernel(VectorAttentionKernel.Shape.valueOf(shape));
        SplittableRandom random = new SplittableRandom(42);
        q = view(random, m, d);
        k = view(random, m, d);
        v = view(random, m, d);
        out = view(null, m, d);
        lse = view(null, m, 1);
    }

    private View view(SplittableRandom random, int rows, int cols) {
        MemorySegment s = arena.allocate((long) rows * cols * 4, 64);
        if (random != null) for (long i = 0; i < (long) rows * cols; i++) DType.F32.set(s, i, (float) random.nextGaussian());
        return new View(s, DType.F32, 0, cols, rows, cols);
    }

    @TearDown(Level.Trial)
    public void tearDown() { arena.close(); }

    @Benchmark
    @Threads(1)
    public void tile() { run(); }

    @Benchmark
    @Threads(Threads.MAX)
    public void tileAllCores() { run(); }

    private void run() {
        kernel.attend(q, k, v, out, lse, 0, m, causal, (float) (1 / Math.sqrt(d)));
    }
}
