package dev.longnet.bench;

import dev.longnet.storage.DType;
import dev.longnet.storage.NpyFile;
import dev.longnet.storage.RowWindow;
import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OperationsPerInvocation;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

/**
 * Streaming a 256 MiB .npy file through 16 MiB row windows, mapped and unmapped as the engine does: reading (a sum)
 * and writing (a fill). The file is in the page cache after the first pass, so this is the mapping path's own cost
 * (faults, unmapping), not the disk's. Score: MiB per second (one operation = one MiB).
 */
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@Warmup(iterations = 2, time = 2)
@Measurement(iterations = 3, time = 2)
@Fork(value = 1, jvmArgsAppend = {"--add-modules=jdk.incubator.vector", "--enable-native-access=ALL-UNNAMED"})
@State(Scope.Benchmark)
public class MappedStreamBenchmark {
    static final long ROWS = 1 << 20, ROW_FLOATS = 64, WINDOW_ROWS = 1 << 16;
    static final int MIB = (int) (ROWS * ROW_FLOATS * 4 >> 20);
    private static final VectorSpecies<Float> SPECIES = FloatVector.SPECIES_PREFERRED;
    private static final ValueLayout.OfFloat FLOAT = ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    private Path dir;
    private NpyFile file;

    @Setup(Level.Trial)
    public void setup() throws IOException {
        dir = Files.createTempDirectory("longnet-stream-");
        NpyFile created = NpyFile.create(dir.resolve("x.npy"), DType.F32, ROWS, ROW_FLOATS);
        created.commit();
        file = NpyFile.openWritable(dir.resolve("x.npy"));
    }

    @TearDown(Level.Trial)
    public void tearDown() throws IOException {
        file.close();
        Files.deleteIfExists(dir.resolve("x.npy"));
        Files.deleteIfExists(dir);
    }

    @Benchmark
    @OperationsPerInvocation(MIB)
    public float read() throws IOException {
        FloatVector sum = FloatVector.zero(SPECIES);
        for (long first = 0; first < ROWS; first += WINDOW_ROWS) {
            try (RowWindow w = file.window(first, WINDOW_ROWS)) {
                MemorySegment s = w.segment();
                for (long at = 0; at < s.byteSize(); at += SPECIES.vectorByteSize()) {
                    sum = sum.add(FloatVector.fromMemorySegment(SPECIES, s, at, ByteOrder.LITTLE_ENDIAN));
                }
            }
        }
        return sum.reduceLanes(VectorOperators.ADD);
    }

    @Benchmark
    @OperationsPerInvocation(MIB)
    public void write() throws IOException {
        FloatVector one = FloatVector.broadcast(SPECIES, 1f);
        for (long first = 0; first < ROWS; first += WINDOW_ROWS) {
            try (RowWindow w = file.window(first, WINDOW_ROWS)) {
                MemorySegment s = w.segment();
                for (long at = 0; at < s.byteSize(); at += SPECIES.vectorByteSize()) {
                    one.intoMemorySegment(s, at, ByteOrder.LITTLE_ENDIAN);
                }
                s.set(FLOAT, 0, first);
            }
        }
    }
}
