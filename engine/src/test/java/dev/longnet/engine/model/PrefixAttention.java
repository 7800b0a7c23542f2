package dev.longnet.engine.model;

import dev.longnet.engine.AttentionConfig;
import dev.longnet.engine.DilatedAttention;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.Arrays;

/**
 * A layer's attention on the batch engine, for tests: keeps every pushed row and attends the whole prefix on each push,
 * returning the new rows' outputs. Quadratic in the length: for tests and short runs only; it gives the same rows
 * as the stream.
 */
final class PrefixAttention implements LayerAttention {
    private final AttentionConfig config;
    private final DilatedAttention attention;
    private final int rowFloats;
    private float[] q = new float[0], k = q, v = q;
    private int rows;

    public PrefixAttention(AttentionConfig config, DilatedAttention.Options options) {
        this.config = config;
        this.attention = new DilatedAttention(config, options);
        this.rowFloats = config.heads() * config.headDim();
    }

    public static Factory factory(DilatedAttention.Options options) {
        return new Factory() {
            @Override public LayerAttention open(AttentionConfig config) { return new PrefixAttention(config, options); }

            @Override
            public LayerAttention restore(AttentionConfig config, Path snapshot) throws IOException {
                PrefixAttention a = new PrefixAttention(config, options);
                try (InputStream in = Files.newInputStream(snapshot); DataInputStream data = new DataInputStream(in)) {
                    int n = data.readInt();
                    if (data.readInt() != a.rowFloats) throw new IOException(snapshot + ": snapshot of another head layout");
                    float[][] parts = new float[3][n * a.rowFloats];
                    for (float[] part : parts) for (int i = 0; i < part.length; i++) part[i] = data.readFloat();
                    a.append(parts[0], parts[1], parts[2], n);
                }
                return a;
            }
        };
    }

    @Override
    public void push(float[] q, float[] k, float[] v, int count, float[] out) {
        append(q, k, v, count);
        long n = rows;
        try (Arena arena = Arena.ofConfined()) {
            long bytes = n * rowFloats * 4L;
            MemorySegment qs = arena.allocate(bytes, 4), ks = arena.allocate(bytes, 4), vs = arena.allocate(bytes, 4);
            MemorySegment os = arena.allocate(bytes, 4);
            MemorySegment.copy(this.q, 0, qs, ValueLayout.JAVA_FLOAT, 0, (int) (n * rowFloats));
            MemorySegment.copy(this.k, 0, ks, ValueLayout.JAVA_FLOAT, 0, (int) (n * rowFloats));
            MemorySegment.copy(this.v, 0, vs, ValueLayout.JAVA_FLOAT, 0, (int) (n * rowFloats));
            attention.attend(qs, ks, vs, os, n);
            MemorySegment.copy(os, ValueLayout.JAVA_FLOAT, (n - count) * rowFloats * 4L, out, 0, count * rowFloats);
        }
    }

    private void append(float[] q, float[] k, float[] v, int count) {
        int need = (rows + count) * rowFloats;
        if (this.q.length < need) {
            int size = Math.max(need, this.q.length * 2);
            this.q = Arrays.copyOf(this.q, size);
            this.k = Arrays.copyOf(this.k, size);
            this.v = Arrays.copyOf(this.v, size);
        }
        System.arraycopy(q, 0, this.q, rows * rowFloats, count * rowFloats);
        System.arraycopy(k, 0, this.k, rows * rowFloats, count * rowFloats);
        System.arraycopy(v, 0, this.v, rows * rowFloats, count * rowFloats);
        rows += count;
    }

    @Override public long position() { return rows; }

    @Override public long stateBytes() { return 3L * rows * rowFloats * 4; }

    @Override
    public void snapshot(Path file) throws IOException {
        Path tmp = file.resolveSibling(file.getFileName() + ".partial");
        try (OutputStream os = Files.newOutputStream(tmp);
             DataOutputStream out = new DataOutputStream(new java.io.BufferedOutputStream(os))) {
            out.writeInt(rows);
            out.writeInt(rowFloats);
            for (float[] part : new float[][]{q, k, v}) for (int i = 0; i < rows * rowFloats; i++) out.writeFloat(part[i]);
        }
        Files.move(tmp, file, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
    }

    AttentionConfig config() { return config; }

    @Override
    public void close() { attention.close(); }
}
