package dev.longnet.cli;

import dev.longnet.engine.job.Job;
import dev.longnet.engine.job.MemoryBudget;
import dev.longnet.engine.model.LayerAttention;
import dev.longnet.engine.model.LongNetModel;
import dev.longnet.engine.model.ModelFile;
import dev.longnet.engine.model.ModelStream;
import dev.longnet.engine.model.Sampler;
import dev.longnet.storage.TokenFile;
import dev.longnet.storage.TokenFormat;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.Locale;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/** longnet generate: continue a prompt with a model, token by token, on the stream's state. */
@Command(name = "generate", description = {
        "Continues a prompt with a LongNet model, token by token.",
        "Decodes incrementally on the attention stream's state: each step's logits equal those of a full forward over"
                + " the whole sequence so far. --out writes the generated ids in the prompt's format (an .npy prompt"
                + " gives an int32 .npy); a byte-level model (vocabulary 256) also prints the text."})
final class GenerateCommand extends BaseCommand {
    @Option(names = "--model", required = true, paramLabel = "MODEL", description = "The model (.safetensors with longnet_config).")
    Path model;
    @Option(names = "--prompt", required = true, paramLabel = "FILE", description = "Prompt token file: bytes, .u16, .i32, .npy or .lzt.")
    Path prompt;
    @Option(names = "--format", paramLabel = "FORMAT", description = "Prompt format: bytes, u16, i32, npy, lzt (default: detected).")
    String format;
    @Option(names = "--max-new", required = true, paramLabel = "N", converter = Sizes.IntConverter.class, description = "Tokens to generate.")
    int maxNew;
    @Option(names = "--temperature", paramLabel = "T", defaultValue = "0", description = "Sampling temperature; 0 (default) is greedy.")
    double temperature;
    @Option(names = "--top-k", paramLabel = "K", defaultValue = "0", description = "Sample among the k most likely tokens (0: all).")
    int topK;
    @Option(names = "--seed", paramLabel = "SEED", defaultValue = "0", description = "Random seed for sampling (default 0).")
    long seed;
    @Option(names = "--out", paramLabel = "FILE", description = "Where to write the generated ids (the prompt's format).")
    Path out;
    @Mixin
    ThreadOptions threads;
    @Mixin
    ForceOption force;

    @Override
    protected int execute() throws Exception {
        if (maxNew < 0) throw usage("--max-new must be >= 0, got " + maxNew);
        Sampler sampler;
        try {
            sampler = new Sampler(temperature, topK, seed);
        } catch (IllegalArgumentException e) {
            throw usage(e.getMessage());
        }
        TokenFormat promptFormat = ScoreCommand.parseFormat(format);
        try (Job job = Job.builder("longnet generate").input(model).input(prompt).output(out).force(force.force).start()) {
            return generate(sampler, promptFormat, job);
        }
    }

    private int generate(Sampler sampler, TokenFormat promptFormat, Job job) throws Exception {
        int[] ids;
        try (TokenFile file = TokenFile.open(prompt, promptFormat)) {
            if (file.count() == 0) throw new IllegalArgumentException(prompt + ": the prompt is empty");
            if (file.count() + maxNew > Integer.MAX_VALUE - 8) {
                throw usage("--max-new " + maxNew + " with a prompt of " + file.count() + " tokens exceeds the "
                        + (Integer.MAX_VALUE - 8) + " tokens a generation can hold");
            }
            MemoryBudget.requireHeap(4 * (file.count() + maxNew), "the prompt and --max-new " + maxNew, null);
            ids = new int[(int) file.count() + maxNew];
            file.read(0, ids, 0, (int) file.count());
            if (promptFormat == null) promptFormat = TokenFormat.detect(prompt);
        }
        int n = ids.length - maxNew;
        LongNetModel m = ModelFile.load(model);
        int vocab = m.config().vocabSize();
        float[] logits = new float[vocab];
        long start = System.nanoTime();
        try (ModelStream stream = ModelStream.open(m, LayerAttention.factory(threads.threads()), threads.threads())) {
            stream.forward(ids, 0, n - 1, null, null);
            for (int p = n - 1; p < ids.length - 1; p++) {
                stream.forward(ids, p, 1, logits, null);
                for (float l : logits) {
                    if (!Float.isFinite(l)) {
                        throw new IllegalArgumentException(model + ": the model gives non-finite logits at token "
                                + (p + 1) + " (its weights or activations overflow); nothing was written");
                    }
                }
                ids[p + 1] = sampler.next(logits);
            }
        }
        double seconds = (System.nanoTime() - start) / 1e9;
        int[] generated = java.util.Arrays.copyOfRange(ids, n, ids.length);
        if (out != null) {
            try {
                TokenFile.write(out, promptFormat, generated);
            } catch (IOException e) {
                throw job.failure(e, out);
            }
        }
        if (vocab == 256) {
            byte[] text = new byte[generated.length];
            for (int i = 0; i < text.length; i++) text[i] = (byte) generated[i];
            result(new String(text, StandardCharsets.UTF_8));
        } else if (out == null) {
            result(java.util.Arrays.toString(generated));
        }
        note(String.format(Locale.ROOT, "prompt %,d tokens, generated %,d in %.2f s", n, maxNew, seconds));
        return 0;
    }
}
