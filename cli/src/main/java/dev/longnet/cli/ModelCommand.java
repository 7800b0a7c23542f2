package dev.longnet.cli;

import dev.longnet.engine.Semantics;
import dev.longnet.engine.model.ModelConfig;
import dev.longnet.engine.model.ModelInit;
import dev.longnet.engine.model.TensorSource;
import dev.longnet.storage.DType;
import java.nio.file.Path;
import java.util.Locale;
import java.util.Map;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** longnet model: model files. */
@Command(name = "model", description = "LongNet language model files (torchscale's LongNetDecoder): 'model init' writes one.",
        subcommands = {ModelCommand.Init.class})
final class ModelCommand extends BaseCommand {
    @Override
    protected int execute() {
        throw usage("a subcommand is needed: init");
    }

    /** longnet model init: a randomly initialised model. */
    @Command(name = "init", description = {
            "Writes a randomly initialised LongNet model as a .safetensors file.",
            "The tensors have torchscale's names and initialisation (sub-LN scaling included); the configuration is"
                    + " stored under __metadata__ longnet_config."})
    static final class Init extends BaseCommand {
        @Option(names = "--vocab", required = true, paramLabel = "N", converter = Sizes.IntConverter.class,
                description = "Vocabulary size (256 for byte-level text).")
        int vocab;
        @Option(names = "--dim", required = true, paramLabel = "N", converter = Sizes.IntConverter.class,
                description = "Embedding dimension (decoder_embed_dim).")
        int dim;
        @Option(names = "--heads", required = true, paramLabel = "H", converter = Sizes.IntConverter.class,
                description = "Attention heads.")
        int heads;
        @Option(names = "--layers", required = true, paramLabel = "N", converter = Sizes.IntConverter.class,
                description = "Decoder layers.")
        int layers;
        @Option(names = "--ffn", required = true, paramLabel = "N", converter = Sizes.IntConverter.class,
                description = "FFN inner dimension (decoder_ffn_embed_dim).")
        int ffn;
        @Option(names = "--segments", required = true, split = ",", paramLabel = "W", converter = Sizes.LongConverter.class,
                description = "Segment lengths, e.g. 2048,4096,8192,16384 (or 2k,4k,8k,16k).")
        long[] segments;
        @Option(names = "--dilations", required = true, split = ",", paramLabel = "R", converter = Sizes.IntConverter.class,
                description = "Dilation rates, e.g. 1,2,4,8.")
        int[] dilations;
        @Option(names = "--xpos", description = "xPos relative positions on q and k.")
        boolean xpos;
        @Option(names = "--xpos-scale-base", paramLabel = "B", defaultValue = "512", description = "xPos scale base (default 512).")
        double xposBase;
        @Option(names = "--learned-positions", paramLabel = "N", converter = Sizes.IntConverter.class,
                description = "fairseq's learned positional embedding of N positions (embed_positions.weight;"
                        + " padding index 1); none by default.")
        int learnedPositions;
        @Option(names = "--semantics", paramLabel = "exact|torchscale", defaultValue = "torchscale", description =
                "The attention the weights expect: torchscale's (default; every segment length must then be a"
                + " multiple of its dilation rate) or SPEC.md's exact operator.")
        String semantics;
        @Option(names = "--seed", paramLabel = "SEED", defaultValue = "0", description = "Random seed (default 0).")
        long seed;
        @Option(names = "--dtype", paramLabel = "TYPE", defaultValue = "f32", description = "Stored type: f32, f16 or bf16 (default f32).")
        String dtype;
        @Option(names = "--json", description = "The summary as one JSON object on stdout.")
        boolean json;

        @Option(names = "--out", required = true, paramLabel = "FILE", description = "The .safetensors file to write.")
        Path out;
        @picocli.CommandLine.Mixin
        ForceOption force;

        @Override
        protected int execute() throws Exception {
            ModelConfig config;
            DType type;
            try {
                type = DType.parse(dtype);
                ModelConfig base = ModelConfig.of(vocab, dim, heads, layers, ffn, segments, dilations, xpos);
                config = new ModelConfig(vocab, dim, heads, layers, ffn, segments, dilations, xpos, xposBase,
                        base.layernormEps(), base.activation(), base.subln(), base.noScaleEmbedding(),
                        base.shareEmbeddings(), base.normalizeBefore(), learnedPositions, 1,
                        Semantics.parse(semantics));
            } catch (IllegalArgumentException e) {
                throw usage(e.getMessage());
            }
            if ((long) vocab * dim > Integer.MAX_VALUE - 64 || (long) ffn * dim > Integer.MAX_VALUE - 64) {
                throw usage("--vocab " + vocab + " × --dim " + dim + " (or --ffn × --dim) exceeds the 2^31 values a"
                        + " tensor can hold");
            }
            try (dev.longnet.engine.job.Job job = dev.longnet.engine.job.Job.builder("longnet model init").output(out)
                    .force(force.force).start()) {
                dev.longnet.engine.job.MemoryBudget.requireHeap(config.parameterCount() * 4 * 2, "a model of "
                        + config.parameterCount() + " parameters", null);
                Map<String, TensorSource.Tensor> tensors = ModelInit.tensors(config, seed);
                try {
                    ModelInit.write(out, config, tensors, type);
                } catch (java.io.IOException e) {
                    throw job.failure(e, out);
                }
            }
            if (json) {
                result(dev.longnet.storage.Json.object().put("out", out.toString()).put("vocab", config.vocabSize())
                        .put("dim", config.embedDim()).put("heads", config.heads()).put("layers", config.layers())
                        .put("ffn", config.ffnDim()).put("segments", config.segmentLength())
                        .put("dilations", java.util.Arrays.stream(config.dilatedRatio()).asLongStream().toArray())
                        .put("xpos", config.xpos()).put("semantics", config.semantics().name().toLowerCase(Locale.ROOT))
                        .put("parameters", config.parameterCount()).put("dtype", type.label()).toString());
                return 0;
            }
            result(String.format(Locale.ROOT, "%s: %s, %,d parameters, %s", out, config, config.parameterCount(),
                    type.label()));
            return 0;
        }
    }
}
