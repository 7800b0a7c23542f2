package dev.longnet.cli;

import dev.longnet.engine.job.Job;
import dev.longnet.engine.model.LongNetModel;
import dev.longnet.engine.model.ModelConfig;
import dev.longnet.engine.model.TensorSource;
import dev.longnet.storage.DType;
import dev.longnet.storage.Disk;
import dev.longnet.storage.SafetensorsWriter;
import dev.longnet.storage.TensorFile;
import dev.longnet.storage.TorchCheckpoint;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.EnumMap;
import java.util.Locale;
import java.util.Map;
import java.util.stream.Collectors;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/** longnet convert: a PyTorch checkpoint's state dict to a safetensors file. */
@Command(name = "convert", description = {
        "Converts a PyTorch checkpoint (.pt, .pth: torch.save's zip format, torch 1.6 and later) to a .safetensors file.",
        "The checkpoint is read as data: nothing in it is executed, and its pickle may only name collections.OrderedDict,"
                + " torch's tensor and parameter rebuild functions and storage classes (argparse.Namespace and numpy values"
                + " are skipped as opaque).",
        "The state dict is the top-level dict, or the one under \"model\" or \"state_dict\". Its f32, f16 and bf16 tensors"
                + " are copied unchanged, in order; its other entries (int64 counters, say) are named on stderr and left out.",
        "--config FILE attaches a LongNet decoder configuration (DecoderConfig's fields as JSON, checked against the"
                + " tensors) so that score and generate can run the file.",
        "OUT is written as OUT.partial and renamed when complete."})
final class ConvertCommand extends BaseCommand {
    @Parameters(index = "0", paramLabel = "IN", description = "The checkpoint (.pt or .pth).")
    Path in;

    @Option(names = "--json", description = "The summary as one JSON object on stdout.")
    boolean json;

    @Option(names = "--out", required = true, paramLabel = "OUT", description = "The .safetensors file to write.")
    Path out;

    @Option(names = "--config", paramLabel = "FILE", description = "A JSON file of torchscale's DecoderConfig fields"
            + " (vocab_size, decoder_embed_dim, ..., segment_length, dilated_ratio) stored as the model's configuration.")
    Path config;

    @Mixin
    ForceOption force;

    @Override
    protected int execute() throws Exception {
        try (Job job = Job.builder("longnet convert").input(in).input(config).output(out).force(force.force).start();
             TensorFile file = TensorFile.open(in)) {
            if (file instanceof TorchCheckpoint ckpt) {
                ckpt.skipped().forEach((name, why) -> note(spec.qualifiedName() + ": " + in + ": left out \""
                        + InfoCommand.printable(name) + "\" (" + why + ")"));
            }
            if (file.names().isEmpty()) {
                throw new IllegalArgumentException(in + ": no f32, f16 or bf16 tensors to convert" + where(file));
            }
            SafetensorsWriter writer = new SafetensorsWriter().metadata("format", "pt");
            if (config != null) writer.metadata(ModelConfig.METADATA_KEY, checkedConfig(file).toJson());
            Map<DType, Integer> counts = new EnumMap<>(DType.class);
            long bytes = 0;
            for (String name : file.names()) {
                TensorFile.Info info = file.info(name);
                writer.tensor(name, info.dtype(), info.shape(), file.bytes(name));
                counts.merge(info.dtype(), 1, Integer::sum);
                bytes += info.byteSize();
            }
            Disk.requireSpace(out, bytes + (1 << 20), "the converted tensors");
            try {
                writer.write(out);
            } catch (IOException e) {
                throw job.failure(e, out);
            }
            job.completed();
            if (json) {
                dev.longnet.storage.Json.Obj dtypes = dev.longnet.storage.Json.object();
                counts.forEach((dtype, count) -> dtypes.put(dtype.label(), count));
                result(dev.longnet.storage.Json.object().put("out", out.toString()).put("from", in.toString())
                        .put("tensors", file.names().size()).put("dtypes", dtypes).put("bytes", Files.size(out)).toString());
                return 0;
            }
            result(String.format(Locale.ROOT, "%s: %d tensor%s (%s), %d bytes (%s), from %s", out, file.names().size(),
                    file.names().size() == 1 ? "" : "s",
                    counts.entrySet().stream().map(e -> e.getValue() + " " + e.getKey().label())
                            .collect(Collectors.joining(", ")),
                    Files.size(out), Disk.human(Files.size(out)), in));
        }
        return 0;
    }

    /** The --config file's configuration, after checking that the checkpoint's tensors are that model's. */
    private ModelConfig checkedConfig(TensorFile file) throws IOException {
        ModelConfig model;
        try {
            model = ModelConfig.parse(Files.readString(config));
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException(config + ": " + e.getMessage());
        }
        try {
            LongNetModel.load(model, TensorSource.of(file));
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException(in + " does not hold the model of " + config + ": " + e.getMessage());
        }
        return model;
    }

    /** Where tensors were looked for, when none was found. */
    private static String where(TensorFile file) {
        if (!(file instanceof TorchCheckpoint ckpt)) return "";
        String keys = ckpt.values().keySet().stream().limit(20).map(InfoCommand::printable).collect(Collectors.joining(", "));
        return ckpt.stateDictKey().isEmpty()
                ? " (a state dict is the top-level dict, or the one under \"model\" or \"state_dict\"; top-level keys: "
                        + (keys.isEmpty() ? "none" : keys) + ")"
                : " under \"" + ckpt.stateDictKey() + "\"";
    }
}
