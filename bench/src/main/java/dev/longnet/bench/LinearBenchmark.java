package dev.longnet.bench;

import dev.longnet.engine.model.Linear;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Warmup;

/** The model's linear layers (projections, FFN, output) on one core: y = x·Wᵀ + b for a chunk of rows. */
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@Warmup(iterations = 2, time = 1)
@Measurement(iterations = 3, time = 1)
@Fork(value = 1, jvmArgsAppend = {"--add-modules=jdk.incubator.vector"})
@State(Scope.Thread)
public class LinearBenchmark {
    /** "in x out": the small bench model's shapes (dim 128, ffn 512, vocab 256) and dim 256's. */
    @Param({"128x128", "128x512", "512x128", "128x256", "256x256", "256x1024", "1024x256"})
    public String shape;

    @Param({"256"})
    public int rows;

    Linear linear;
    float[] x, y, tmp;

    @Setup
    public void setUp() {
        String[] parts = shape.split("x");
        int in = Integer.parseInt(parts[0]), out = Integer.parseInt(parts[1]);
        Random random = new Random(1);
        float[] w = new float[in * out], b = new float[out];
        for (int i = 0; i < w.length; i++) w[i] = (float) random.nextGaussian();
        for (int i = 0; i < b.length; i++) b[i] = (float) random.nextGaussian();
        linear = new Linear(w, b, out, in);
        x = new float[rows * in];
        for (int i = 0; i < x.length; i++) x[i] = (float) random.nextGaussian();
        y = new float[rows * out];
        tmp = Linear.scratch();
    }

    @Benchmark
    public float[] apply() {
        linear.apply(x, rows, y, tmp);
        return y;
    }
}
