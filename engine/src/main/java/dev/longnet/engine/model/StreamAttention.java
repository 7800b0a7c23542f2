package dev.longnet.engine.model;

import dev.longnet.engine.AttentionConfig;
import dev.longnet.engine.stream.AttentionStream;
import dev.longnet.engine.stream.StreamOptions;
import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.file.Path;

/** A layer's attention on the engine's {@link AttentionStream}: causal rows come back before each push returns. */
final class StreamAttention implements LayerAttention {
    private final int rowFloats;
    private AttentionStream stream;
    private float[] out;
    private long pushStart;

    private StreamAttention(AttentionConfig config) {
        this.rowFloats = config.heads() * config.headDim();
    }

    static Factory factory(StreamOptions options) {
        return new Factory() {
            @Override
            public LayerAttention open(AttentionConfig config) throws IOException {
                StreamAttention a = new StreamAttention(config);
                a.stream = AttentionStream.open(config, options, a::accept);
                return a;
            }

            @Override
            public LayerAttention restore(AttentionConfig config, Path snapshot) throws IOException {
                StreamAttention a = new StreamAttention(config);
                a.stream = AttentionStream.restore(snapshot, config, options, a::accept);
                return a;
            }
        };
    }

    private void accept(long firstRow, MemorySegment rows, int count) {
        long at = (firstRow - pushStart) * rowFloats;
        MemorySegment.copy(rows, ValueLayout.JAVA_FLOAT_UNALIGNED, 0, out, (int) at, count * rowFloats);
    }

    @Override
    public void push(float[] q, float[] k, float[] v, int rows, float[] out) throws IOException {
        this.out = out;
        this.pushStart = stream.position();
        long bytes = (long) rows * rowFloats * 4;
        stream.push(MemorySegment.ofArray(q).asSlice(0, bytes), MemorySegment.ofArray(k).asSlice(0, bytes),
                MemorySegment.ofArray(v).asSlice(0, bytes), rows);
        this.out = null;
    }

    @Override public long position() { return stream.position(); }

    @Override public long stateBytes() { return stream.stateBytes(); }

    @Override public void snapshot(Path file) throws IOException { stream.snapshot(file); }

    @Override public void close() throws IOException { stream.close(); }
}
