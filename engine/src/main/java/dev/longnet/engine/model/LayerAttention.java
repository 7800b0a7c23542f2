package dev.longnet.engine.model;

import dev.longnet.engine.AttentionConfig;
import dev.longnet.engine.stream.StreamOptions;
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

    /** The engine's streaming attention for the model, on the given number of threads, its state in memory. */
    static Factory factory(int threads) {
        return StreamAttention.factory(StreamOptions.defaults().withThreads(threads));
    }

    /** The streaming attention with these options (a state directory keeps the states in mapped files). */
    static Factory factory(StreamOptions options) {
        return StreamAttention.factory(options);
    }

    /** Opens fresh layers, or restores one from a snapshot. */
    interface Factory {
        LayerAttention open(AttentionConfig config) throws IOException;

        LayerAttention restore(AttentionConfig config, Path snapshot) throws IOException;
    }
}
