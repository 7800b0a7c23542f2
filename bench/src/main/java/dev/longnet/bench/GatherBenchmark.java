package dev.longnet.bench;

import dev.longnet.engine.View;
import dev.longnet.storage.DType;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OperationsPerInvocation;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

/**
 * Gathering one head's rows of a dilated view into a tile buffer, as the kernel does before each tile: 2048 rows
 * of d = 64 at a stride of r·H·d elements (H = 8), widening f16 and bf16; and storing them back, narrowing.
 * The {@code Elementwise} methods convert element by element through {@link DType} (the path before the vector
 * conversions) for comparison in the same run. Score: rows per microsecond.
 */
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@Warmup(iterations = 2, time = 1)
@Measurement(iterations = 3, time = 1)
@Fork(value = 1, jvmArgsAppend = {"--add-modules=jdk.incubator.vector"})
@State(Scope.Thread)
public class GatherBenchmark {
    static final int ROWS = 2048, HEADS = 8, D = 64;

    @Param({"1", "8"})
    int dilation;

    @Param({"F32", "F16", "BF16"})
    DType dtype;

    private Arena arena;
    private View view;
    private final float[] tile = new float[ROWS * D];

    @Setup(Level.Trial)
    public void setup() {
        arena = Arena.ofShared();
        long elements = (long) ROWS * dilation * HEADS * D;
        MemorySegment data = arena.allocate(elements * dtype.bytes(), 64);
        for (long i = 0; i < elements; i++) dtype.set(data, i, (float) (i % 1000) / 1000f);
        view = new View(data, dtype, 3L * D, (long) dilation * HEADS * D, ROWS, D);
    }

    @TearDown(Level.Trial)
    public void tearDown() { arena.close(); }

    @Benchmark
    @OperationsPerInvocation(ROWS)
    public float[] gather() {
        for (int i = 0; i < ROWS; i++) view.readRow(i, tile, i * D, 0.125f);
        return tile;
    }

    @Benchmark
    @OperationsPerInvocation(ROWS)
    public float[] gatherElementwise() {
        for (int i = 0; i < ROWS; i++) {
            for (int c = 0; c < D; c++) tile[i * D + c] = view.get(i, c) * 0.125f;
        }
        return tile;
    }

    @Benchmark
    @OperationsPerInvocation(ROWS)
    public View scatter() {
        for (int i = 0; i < ROWS; i++) view.writeRow(i, tile, i * D);
        return view;
    }

    @Benchmark
    @OperationsPerInvocation(ROWS)
    public View scatterElementwise() {
        for (int i = 0; i < ROWS; i++) {
            for (int c = 0; c < D; c++) view.set(i, c, tile[i * D + c]);
        }
        return view;
    }
}
