package dev.longnet.engine.encoder;

import dev.longnet.engine.model.TensorSource;
import dev.longnet.storage.TensorFile;
import java.io.IOException;
import java.util.Map;
import java.util.Set;

/** Named tensors and their shapes: what the encoders read an architecture from before reading any values. */
public interface ShapedTensors extends TensorSource {
    /** The tensor's shape; a name not among {@link #names()} is an error naming it. */
    long[] shape(String name) throws IOException;

    /** A tensor source with the shapes a function gives. */
    static ShapedTensors of(TensorSource source, Shapes shapes) {
        return new ShapedTensors() {
            @Override public Set<String> names() { return source.names(); }

            @Override public float[] read(String name, long... shape) throws IOException { return source.read(name, shape); }

            @Override
            public long[] shape(String name) throws IOException {
                if (!source.names().contains(name)) throw new IllegalArgumentException("missing tensor \"" + name + "\"");
                return shapes.shape(name);
            }
        };
    }

    static ShapedTensors of(Map<String, Tensor> tensors) {
        return of(TensorSource.of(tensors), name -> tensors.get(name).shape().clone());
    }

    static ShapedTensors of(TensorFile file) {
        return of(TensorSource.of(file), name -> file.info(name).shape().clone());
    }

    /** Shapes by name. */
    interface Shapes {
        long[] shape(String name) throws IOException;
    }
}
