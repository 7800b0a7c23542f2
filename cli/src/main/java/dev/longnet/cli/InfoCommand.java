package dev.longnet.cli;

import dev.longnet.engine.model.ModelConfig;
import dev.longnet.engine.model.ModelFile;
import dev.longnet.engine.encoder.EncoderFile;
import dev.longnet.engine.encoder.SlideEncoder;
import dev.longnet.storage.Disk;
import dev.longnet.storage.NpyFile;
import dev.longnet.storage.TensorFile;
import dev.longnet.storage.TokenFile;
import dev.longnet.storage.TokenFormat;
import dev.longnet.storage.TorchCheckpoint;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.stream.Collectors;
import dev.longnet.storage.Json;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/** longnet info: what a tensor file holds, from its header alone. */
@Command(name = "info", description = {
        "Prints what tensor, model and token files hold, from their headers.",
        "For .npy, .safetensors and PyTorch checkpoint (.pt, .pth) files: format, shape, dtype and bytes (and a LongNet"
                + " model's configuration and parameter count); for .lzt containers: the token count.",
        "Each tensor of a .safetensors file or of a checkpoint's state dict gets a line. Only headers (a checkpoint's"
                + " directory and pickle, which is read as data, never executed) are read. Exit 1 if any file cannot be read"
                + " (the others are still printed)."})
final class InfoCommand extends BaseCommand {
    private static final byte[] NPY_MAGIC = {(byte) 0x93, 'N', 'U', 'M', 'P', 'Y'};

    @Parameters(arity = "1..*", paramLabel = "FILE", description = ".npy, .safetensors, .pt or .pth files.")
    List<Path> files;

    @Option(names = "--json", description = "One JSON object per file on stdout (one line each).")
    boolean json;

    @Override
    protected int execute() {
        int status = 0;
        for (Path file : files) {
            try {
                if (json) out().println(describeJson(file));
                else describe(file);
            } catch (IOException | RuntimeException e) {
                err().println(spec.qualifiedName() + ": " + Errors.describe(e));
                err().flush();
                status = Errors.FAILURE;
            }
        }
        out().flush();
        return status;
    }

    private void describe(Path file) throws IOException {
        Disk.requireRegularFile(file);                          // a FIFO would block, a directory says nothing
        long size = Files.size(file);
        if (isNpy(file)) {
            try (NpyFile npy = NpyFile.open(file)) {
                out().printf(Locale.ROOT, "%s: npy %s, shape %s, %s, %d data bytes (%s), file %d bytes%n", file,
                        npy.header().version(), shape(npy.shape()), npy.dtype().label(), npy.dataBytes(),
                        Disk.human(npy.dataBytes()), size);
            }
            return;
        }
        if (TokenFormat.detect(file) == TokenFormat.LZT) {
            try (TokenFile lzt = TokenFile.open(file, TokenFormat.LZT)) {
                out().printf(Locale.ROOT, "%s: lzt token container, %,d tokens of %d bytes, file %d bytes%n", file,
                        lzt.count(), lzt.width(), size);
            }
            return;
        }
        try (TensorFile st = TensorFile.open(file)) {
            TorchCheckpoint ckpt = st instanceof TorchCheckpoint t ? t : null;
            out().printf(Locale.ROOT, "%s: %s, %d tensor%s%s, file %d bytes%n", file,
                    ckpt == null ? st.format() : "torch checkpoint", st.names().size(), st.names().size() == 1 ? "" : "s",
                    ckpt == null || ckpt.stateDictKey().isEmpty() ? "" : " (state dict under \"" + ckpt.stateDictKey() + "\")",
                    size);
            Map<String, String> metadata = st.metadata();
            String model = model(st);
            if (model != null) out().println("  model: " + model);
            if (!metadata.isEmpty()) {
                out().println("  __metadata__: " + metadata.entrySet().stream()
                        .map(e -> printable(e.getKey()) + "=" + printable(e.getValue())).collect(Collectors.joining(", ")));
            }
            if (ckpt != null && !ckpt.values().isEmpty()) {
                out().println("  other entries: " + printable(ckpt.values().keySet().stream().collect(Collectors.joining(", "))));
            }
            for (String name : st.names()) {
                TensorFile.Info t = st.info(name);
                out().printf(Locale.ROOT, "  %s: shape %s, %s, %d bytes (%s)%n", printable(name), shape(t.shape()), t.dtype().label(),
                        t.byteSize(), Disk.human(t.byteSize()));
            }
            if (ckpt != null) {
                ckpt.skipped().forEach((name, why) -> out().printf(Locale.ROOT, "  %s: %s, not loaded%n", printable(name), why));
            }
        }
    }

    /** A LongNet decoder's, a GigaPath slide encoder's or a bare LongNet encoder's description, or null. */
    private static String model(TensorFile st) throws IOException {
        if (st.metadata().containsKey(ModelConfig.METADATA_KEY)) {
            ModelConfig config = ModelFile.config(st);
            return String.format(Locale.ROOT, "LongNet decoder, %s, %,d parameters", config, config.parameterCount());
        }
        dev.longnet.engine.encoder.ShapedTensors source = dev.longnet.engine.encoder.ShapedTensors.of(st);
        boolean slide = source.names().stream().anyMatch(n -> n.endsWith("patch_embed.proj.weight"));
        boolean encoder = !slide && source.names().stream().anyMatch(n -> n.endsWith("layers.0.ffn.fc1.weight"))
                && source.names().stream().noneMatch(n -> n.endsWith("embed_tokens.weight"));
        try {
            if (slide) {
                SlideEncoder.Architecture a = SlideEncoder.inspect(source);
                return String.format(Locale.ROOT, "GigaPath slide encoder %s; attention: 16 heads, segments %s,"
                        + " dilations 1,2,4,8,16, semantics: torchscale", a, Arrays.stream(SlideEncoder.segmentLengths(262144, 256))
                        .mapToObj(Long::toString).collect(Collectors.joining(",")));
            } else if (encoder) {
                EncoderFile e = EncoderFile.inspect(source);
                return String.format(Locale.ROOT, "LongNet encoder, dim %d, %d layers, ffn %d%s%s; semantics: torchscale",
                        e.dim(), e.layers(), e.ffnDim(), e.finalNorm() ? ", final layer_norm" : "",
                        e.prefix().isEmpty() ? "" : ", tensors under '" + printable(e.prefix()) + "'");
            }
        } catch (IllegalArgumentException bad) {
            return printable(bad.getMessage());
        }
        return null;
    }

    /** The same facts as {@link #describe}, as one JSON object. */
    private static String describeJson(Path file) throws IOException {
        Disk.requireRegularFile(file);
        Json.Obj o = Json.object().put("file", file.toString()).put("fileBytes", Files.size(file));
        if (isNpy(file)) {
            try (NpyFile npy = NpyFile.open(file)) {
                return o.put("format", "npy").put("shape", npy.shape()).put("dtype", npy.dtype().label())
                        .put("dataBytes", npy.dataBytes()).toString();
            }
        }
        if (TokenFormat.detect(file) == TokenFormat.LZT) {
            try (TokenFile lzt = TokenFile.open(file, TokenFormat.LZT)) {
                return o.put("format", "lzt").put("tokens", lzt.count()).put("tokenBytes", lzt.width()).toString();
            }
        }
        try (TensorFile st = TensorFile.open(file)) {
            TorchCheckpoint ckpt = st instanceof TorchCheckpoint t ? t : null;
            o.put("format", ckpt == null ? st.format() : "torch checkpoint");
            if (ckpt != null && !ckpt.stateDictKey().isEmpty()) o.put("stateDictKey", ckpt.stateDictKey());
            o.put("model", model(st));
            Json.Obj metadata = Json.object();
            st.metadata().forEach(metadata::put);
            o.put("metadata", metadata);
            List<Object> tensors = new java.util.ArrayList<>();
            for (String name : st.names()) {
                TensorFile.Info t = st.info(name);
                tensors.add(Json.object().put("name", name).put("shape", t.shape()).put("dtype", t.dtype().label())
                        .put("bytes", t.byteSize()));
            }
            o.put("tensors", tensors);
            if (ckpt != null) {
                o.put("otherEntries", List.copyOf(ckpt.values().keySet()));
                Json.Obj skipped = Json.object();
                ckpt.skipped().forEach(skipped::put);
                o.put("skipped", skipped);
            }
            return o.toString();
        }
    }

    /** Longest text shown of a name or metadata value from a file. */
    static final int MAX_SHOWN = 200;

    /**
     * Text from a file as it may be shown on a terminal: control characters (C0, DEL, C1, which could move the
     * cursor or retitle the window) escaped as \\uXXXX, and at most {@value #MAX_SHOWN} characters.
     */
    static String printable(String text) {
        StringBuilder out = new StringBuilder();
        int shown = Math.min(text.length(), MAX_SHOWN);
        for (int i = 0; i < shown; i++) {
            char c = text.charAt(i);
            if (c < 0x20 || (c >= 0x7f && c <= 0x9f)) out.append(String.format(Locale.ROOT, "\\u%04x", (int) c));
            else out.append(c);
        }
        if (shown < text.length()) out.append("... (").append(text.length() - shown).append(" more characters)");
        return out.toString();
    }

    /** By the magic bytes, or by the name when the file is too short to tell. */
    private static boolean isNpy(Path file) throws IOException {
        try (InputStream in = Files.newInputStream(file)) {
            byte[] start = in.readNBytes(NPY_MAGIC.length);
            return Arrays.equals(start, NPY_MAGIC) || file.getFileName().toString().endsWith(".npy");
        }
    }

    private static String shape(long[] shape) {
        if (shape.length == 1) return "(" + shape[0] + ",)";
        return Arrays.stream(shape).mapToObj(Long::toString).collect(Collectors.joining(", ", "(", ")"));
    }
}
