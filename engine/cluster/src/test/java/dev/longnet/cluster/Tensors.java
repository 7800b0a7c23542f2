package dev.longnet.cluster;

import dev.longnet.engine.AttentionConfig;
import dev.longnet.engine.DilatedAttention;
import dev.longnet.engine.HeadOffsetRule;
import dev.longnet.engine.Level;
import dev.longnet.storage.DType;
import dev.longnet.storage.NpyFile;
import dev.longnet.storage.RowWindow;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;

/** Random .npy inputs, the single-machine engine's output for them, and reading outputs back, for the cluster tests. */
final class Tensors {
    private Tensors() { }

    /** Writes q, k, v (n, heads, d) of random values to dir/q.npy, k.npy, v.npy. */
    static Path[] inputs(Path dir, Random random, long n, int heads, int d, DType dtype) throws IOException {
        Path[] paths = {dir.resolve("q.npy"), dir.resolve("k.npy"), dir.resolve("v.npy")};
        for (Path p : paths) {
            try (NpyFile f = NpyFile.create(p, dtype, n, heads, d); RowWindow w = f.window(0, n)) {
                for (long i = 0; i < n * heads * d; i++) dtype.set(w.segment(), i, (float) random.nextGaussian());
                f.commit();
            }
        }
        return paths;
    }

    /** The raw bits of an f32 .npy file's data. */
    static int[] bits(Path file) throws IOException {
        try (NpyFile f = NpyFile.open(file); RowWindow w = f.window(0, f.rows())) {
            int[] out = new int[Math.toIntExact(f.rows() * f.rowElements())];
            for (int i = 0; i < out.length; i++) out[i] = Float.floatToRawIntBits(DType.F32.get(w.segment(), i));
            return out;
        }
    }

    /** The single-machine engine's output for the files, as raw f32 bits. */
    static int[] engine(AttentionConfig config, Path[] qkv) throws IOException {
        return engine(config, qkv, new DilatedAttention(config, DilatedAttention.Options.defaults().withThreads(1)));
    }

    /**
     * As {@link #engine(AttentionConfig, Path[])}, with key blocks of {@code keyBlockRows} view rows (the engine's
     * package-private test constructor, reached by reflection from this package).
     */
    static int[] engine(AttentionConfig config, Path[] qkv, int keyBlockRows) throws IOException {
        DilatedAttention engine;
        try {
            var constructor = DilatedAttention.class.getDeclaredConstructor(AttentionConfig.class,
                    DilatedAttention.Options.class, int.class);
            constructor.setAccessible(true);
            engine = constructor.newInstance(config, DilatedAttention.Options.defaults().withThreads(1), keyBlockRows);
        } catch (ReflectiveOperationException e) {
            throw new AssertionError(e);
        }
        return engine(config, qkv, engine);
    }

    private static int[] engine(AttentionConfig config, Path[] qkv, DilatedAttention attention) throws IOException {
        try (NpyFile q = NpyFile.open(qkv[0]); NpyFile k = NpyFile.open(qkv[1]); NpyFile v = NpyFile.open(qkv[2]);
             Arena arena = Arena.ofConfined();
             DilatedAttention engine = attention) {
            long n = q.rows();
            long[] shape = q.shape();
            MemorySegment out = arena.allocate(n * q.rowElements() * 4, 4);
            MemorySegment lse = arena.allocate(n * shape[1] * 4, 4);
            engine.attend(q, k, v, dev.longnet.storage.MemoryRows.of(out, DType.F32, shape),
                    dev.longnet.storage.MemoryRows.of(lse, DType.F32, n, shape[1]));
            int[] bits = new int[Math.toIntExact(n * q.rowElements())];
            for (int i = 0; i < bits.length; i++) bits[i] = out.getAtIndex(java.lang.foreign.ValueLayout.JAVA_INT_UNALIGNED, i);
            return bits;
        }
    }

    /** A random configuration with SPEC.md's edge cases (w > N, w % r != 0, H % r != 0), causal or not. */
    static AttentionConfig randomConfig(Random random, long n) {
        int levels = 1 + random.nextInt(4);
        List<Level> list = new ArrayList<>();
        for (int i = 0; i < levels; i++) {
            long w = 1 + random.nextInt((int) Math.max(1, n + n / 2));
            int r = 1 + random.nextInt((int) Math.min(5, w));
            list.add(new Level(w, r));
        }
        return AttentionConfig.builder().levels(list).heads(1 + random.nextInt(4))
                .headDim(new int[]{1, 3, 8, 16, 17}[random.nextInt(5)]).causal(random.nextBoolean())
                .offsetRule(random.nextBoolean() ? HeadOffsetRule.TORCHSCALE : HeadOffsetRule.PAPER).build();
    }
}
