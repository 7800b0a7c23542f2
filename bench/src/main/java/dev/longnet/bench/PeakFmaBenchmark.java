package dev.longnet.bench;

import java.util.concurrent.TimeUnit;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OperationsPerInvocation;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Threads;
import org.openjdk.jmh.annotations.Warmup;

/**
 * The machine's fp32 FMA peak through the Vector API: independent accumulators in registers, no memory traffic.
 * Scores are in Gflop/s directly (one operation = one flop: each lane's FMA counts 2).
 */
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Warmup(iterations = 2, time = 1)
@Measurement(iterations = 3, time = 1)
@Fork(value = 1, jvmArgsAppend = {"--add-modules=jdk.incubator.vector"})
@State(Scope.Thread)
public class PeakFmaBenchmark {
    static final VectorSpecies<Float> SPECIES = FloatVector.SPECIES_PREFERRED;
    static final int ITERATIONS = 1 << 16;
    /** 10 chains × lanes × 2 flops per FMA per iteration. */
    static final int FLOPS = ITERATIONS * 10 * 2 * 16;

    float seed = 1.0001f;

    @Benchmark
    @Threads(1)
    @OperationsPerInvocation(FLOPS)
    public float oneCore() { return fmaLoop(seed) * 16 / SPECIES.length(); }

    @Benchmark
    @Threads(Threads.MAX)
    @OperationsPerInvocation(FLOPS)
    public float allCores() { return fmaLoop(seed) * 16 / SPECIES.length(); }

    /**
     * Ten independent FMA chains hide the FMA latency (4 cycles × 2 ports needs 8). The flop count above assumes
     * 16 lanes; the return value's scaling is only there to keep the work alive. Runs scaled to the real lane count.
     */
    static float fmaLoop(float s) {
        FloatVector m = FloatVector.broadcast(SPECIES, s);
        FloatVector c = FloatVector.broadcast(SPECIES, 1e-7f);
        FloatVector a0 = c, a1 = c.add(1), a2 = c.add(2), a3 = c.add(3), a4 = c.add(4);
        FloatVector a5 = c.add(5), a6 = c.add(6), a7 = c.add(7), a8 = c.add(8), a9 = c.add(9);
        int iterations = ITERATIONS * 16 / SPECIES.length();
        for (int i = 0; i < iterations; i++) {
            a0 = a0.fma(m, c); a1 = a1.fma(m, c); a2 = a2.fma(m, c); a3 = a3.fma(m, c); a4 = a4.fma(m, c);
            a5 = a5.fma(m, c); a6 = a6.fma(m, c); a7 = a7.fma(m, c); a8 = a8.fma(m, c); a9 = a9.fma(m, c);
        }
        return a0.add(a1).add(a2).add(a3).add(a4).add(a5).add(a6).add(a7).add(a8).add(a9).reduceLanes(
                jdk.incubator.vector.VectorOperators.ADD);
    }
}
