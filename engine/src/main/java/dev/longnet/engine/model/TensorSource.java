package dev.longnet.engine.model;

import dev.longnet.storage.Advice;
import dev.longnet.storage.Convert;
import dev.longnet.storage.Madvise;
import dev.longnet.storage.RowWindow;
import dev.longnet.storage.TensorFile;
import dev.longnet.storage.TensorRows;
import java.lang.foreign.MemorySegment;
import java.io.IOException;
import java.util.Arrays;
import java.util.Map;
import java.util.Set;

/**
 * Named tensors the model is built from: a tensor file (safetensors or a PyTorch checkpoint), or tensors made in
 * memory by {@link ModelInit}.
 */
public interface TensorSource {
    Set<String> names();

    /** The tensor's values as float, after checking its shape; errors name the tensor. */
    float[] read(String name, long... shape) throws IOException;

    /** Tensors held in memory, by name: shape and values. */
    record Tensor(long[] shape, float[] values) { }

    static TensorSource of(Map<String, Tensor> tensors) {
        return new TensorSource() {
            @Override public Set<String> names() { return tensors.keySet(); }

            @Override
            public float[] read(String name, long... shape) {
                Tensor t = tensors.get(name);
                if (t == null) throw new IllegalArgumentException("missing tensor \"" + name + "\"");
                checkShape("tensor \"" + name + "\"", t.shape(), shape);
                return t.values();
            }
        };
    }

    static TensorSource of(TensorFile file) {
        return new TensorSource() {
            @Override public Set<String> names() { return file.names(); }

            @Override
            public float[] read(String name, long... shape) throws IOException {
                if (!file.names().contains(name)) {
                    throw new IllegalArgumentException(file.path() + ": missing tensor \"" + name + "\"");
                }
                TensorFile.Info info = file.info(name);
                checkShape(file.path() + ": tensor \"" + name + "\"", info.shape(), shape);
                long count = Arrays.stream(shape).reduce(1, Math::multiplyExact);
                if (count > Integer.MAX_VALUE - 64) throw new IllegalArgumentException(file.path() + ": tensor \"" + name + "\" is too large");
                float[] values = new float[(int) count];
                TensorRows rows = file.tensor(name);
                try (RowWindow w = rows.window(0, rows.rows())) {
                    MemorySegment s = w.segment();
                    Convert.read(info.dtype(), s, 0, values, 0, values.length, 1f);
                    // The file's pages are copied: let them go, so that loading layer after layer from one mapping
                    // does not keep the whole checkpoint resident (a read-only file mapping keeps its contents).
                    if (s.isMapped() && s.isReadOnly()) Madvise.advise(s, Advice.DONT_NEED);
                }
                for (int i = 0; i < values.length; i++) {
                    if (!Float.isFinite(values[i])) {
                        throw new IllegalArgumentException(file.path() + ": tensor \"" + name + "\" holds "
                                + values[i] + " at element " + i + "; a model with non-finite weights gives wrong"
                                + " outputs, so it is not loaded");
                    }
                }
                return values;
            }
        };
    }

    private static void checkShape(String what, long[] actual, long[] expected) {
        if (!Arrays.equals(actual, expected)) {
            throw new IllegalArgumentException(what + " has shape " + Arrays.toString(actual) + ", expected "
                    + Arrays.toString(expected));
        }
    }
}
