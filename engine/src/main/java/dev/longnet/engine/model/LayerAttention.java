package dev.longnet.engine.model;

import dev.longnet.engine.AttentionConfig;
import java.io.IOException;
import java.nio.file.Path;

/**
 * One layer's causal dilated attention as the model drives it: chunks of q, k, v rows pushed at the next positions,
 * the chunk's output rows back at once. The state is the layer's, whatever the sequence length.
 */
public interface LayerAttention extends AutoCloseable {
    /** Pushes rows of q, k, v (rows·H·d floats each, (row, head, dim)) and writes their output rows into out. */
    void push(float[] q, float[] k, float[] v, int rows, float[] out) throws IOException;

    /** Rows pushed so far. */
    long position();

    /** Writes the whole state to file, atomically. */
    void snapshot(Path file) throws IOException;

    /** Bytes the state holds. */
    long stateBytes();

    @Override
    void close() throws IOException;

    /** The engine's attention for the model, on the given number of threads. */
    static Factory factory(int threads) {
        return PrefixAttention.factory(dev.longnet.engine.DilatedAttention.Options.defaults().withThreads(threads));
    }

    /** Opens fresh layers, or restores one from a snapshot. */
    interface Factory {
        LayerAttention open(AttentionConfig config) throws IOException;

        LayerAttention restore(AttentionConfig config, Path snapshot) throws IOException;
    }
}
