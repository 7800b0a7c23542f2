package dev.longnet.engine.encoder;

import dev.longnet.engine.Level;
import dev.longnet.engine.Semantics;
import java.io.IOException;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A bare torchscale LongNetEncoder in a checkpoint: its tensors (layers.i.*, layer_norm.*) under a common prefix
 * ("" or e.g. "encoder."), found by the first layer's fc1; dim, depth and ffn read from the shapes. Tensors outside
 * the prefix are not the encoder's and are left alone; any other tensor under it is an error.
 */
public record EncoderFile(String prefix, int dim, int layers, int ffnDim, boolean finalNorm) {
    private static final Pattern LAYER = Pattern.compile("layers\\.(\\d+)\\.");

    public static EncoderFile inspect(ShapedTensors source) throws IOException {
        String key = "layers.0.ffn.fc1.weight";
        List<String> found = source.names().stream().filter(n -> n.endsWith(key)).sorted().toList();
        if (found.size() != 1) {
            throw new IllegalArgumentException(found.isEmpty() ? "not a LongNet encoder: no tensor " + key
                    : "several encoders (tensors named *" + key + "): " + found);
        }
        String prefix = found.getFirst().substring(0, found.getFirst().length() - key.length());
        long[] fc1 = source.shape(found.getFirst());
        if (fc1.length != 2) throw new IllegalArgumentException("tensor " + found.getFirst() + " is not a matrix");
        int layers = 0;
        for (String n : source.names()) {
            if (!n.startsWith(prefix)) continue;
            Matcher m = LAYER.matcher(n.substring(prefix.length()));
            if (m.lookingAt()) layers = Math.max(layers, Integer.parseInt(m.group(1)) + 1);
        }
        EncoderFile f = new EncoderFile(prefix, Math.toIntExact(fc1[1]), layers, Math.toIntExact(fc1[0]),
                source.names().contains(prefix + "layer_norm.weight"));
        EncoderConfig shape = f.config(1, List.of(new Level(1, 1)), Semantics.EXACT);
        Set<String> expected = new HashSet<>(LongNetEncoder.tensorNames(shape, prefix));
        Set<String> missing = new TreeSet<>(expected);
        missing.removeAll(source.names());
        Set<String> extra = new TreeSet<>();
        for (String n : source.names()) if (n.startsWith(prefix) && !expected.contains(n)) extra.add(n);
        if (!missing.isEmpty() || !extra.isEmpty()) {
            throw new IllegalArgumentException("not a LongNet encoder of dim " + f.dim + ", " + layers + " layers, ffn "
                    + f.ffnDim + ":" + (missing.isEmpty() ? "" : " " + missing.size() + " missing tensors (" + sample(missing) + ")")
                    + (!missing.isEmpty() && !extra.isEmpty() ? ";" : "")
                    + (extra.isEmpty() ? "" : " " + extra.size() + " unexpected tensors (" + sample(extra) + ")"));
        }
        return f;
    }

    public EncoderConfig config(int heads, List<Level> levels, Semantics semantics) {
        return new EncoderConfig(dim, layers, heads, ffnDim, levels, semantics, finalNorm);
    }

    private static String sample(Set<String> names) {
        List<String> first = names.stream().limit(4).toList();
        return String.join(", ", first) + (names.size() > first.size() ? ", ..." : "");
    }
}
