package dev.longnet.cli;

import dev.longnet.storage.Json;

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
    @Option(names = "--prompt", paramLabel = "FILE", description = "Prompt token file: bytes, .u16, .i32, .npy or .lzt.")
    Path prompt;
    @Option(names = "--prompt-text", paramLabel = "TEXT", description = "The prompt as text, for a byte-level model"
            + " (vocabulary 256): its UTF-8 bytes are the token ids. Instead of --prompt.")
    String promptText;
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
    @Option(names = "--json", description = "The summary as one JSON object on stdout.")
    boolean json;

    @Option(names = "--out", paramLabel = "FILE", description = "Where to write the generated ids (the prompt's format).")
    Path out;
    @Mixin
    ThreadOptions threads;
    @Mixin
    ForceOption force;

    @Override
    protected int execute() throws Exception {
        if (maxNew < 0) throw usage("--max-new must be >= 0, got " + maxNew);
        if ((prompt == null) == (promptText == null)) throw usage("give the prompt with --prompt FILE or --prompt-text TEXT");
        if (promptText != null && format != null) throw usage("--format is for --prompt FILE, not --prompt-text");
        Sampler sampler;
        try {
            sampler = new Sampler(temperature, topK, seed);
        } catch (IllegalArgumentException e) {
            throw usage(e.getMessage());
        }
        TokenFormat promptFormat = ScoreCommand.parseFormat(format);
        try (Job job = Job.builder("longnet generate").input(model).input(prompt).output(out).force(force.force).start()) {
            if (promptText != null) return generate(sampler, promptText.getBytes(StandardCharsets.UTF_8), job);
            return generate(sampler, promptFormat, job);
        }
    }

    /** Generates after the prompt text's UTF-8 bytes, for a byte-level model. */
    private int generate(Sampler sampler, byte[] text, Job job) throws Exception {
        if (text.length == 0) throw usage("--prompt-text is empty");
        int[] ids = allocate(text.length);
        for (int i = 0; i < text.length; i++) ids[i] = text[i] & 0xff;
        LongNetModel m = ModelFile.load(model);
        if (m.config().vocabSize() != 256) {
            throw usage("--prompt-text needs a byte-level model (vocabulary 256); " + model + " has a vocabulary of "
                    + m.config().vocabSize() + ": give the token ids with --prompt FILE");
        }
        return generate(sampler, m, ids, TokenFormat.BYTES, job);
    }

    private int generate(Sampler sampler, TokenFormat promptFormat, Job job) throws Exception {
        int[] ids;
        try (TokenFile file = TokenFile.open(prompt, promptFormat)) {
            if (file.count() == 0) throw new IllegalArgumentException(prompt + ": the prompt is empty");
            ids = allocate(file.count());
            file.read(0, ids, 0, (int) file.count());
            if (promptFormat == null) promptFormat = TokenFormat.detect(prompt);
        }
        return generate(sampler, ModelFile.load(model), ids, promptFormat, job);
    }

    /** Room for a prompt of {@code promptTokens} and --max-new more, checked against the heap first. */
    private int[] allocate(long promptTokens) {
        if (promptTokens + maxNew > Integer.MAX_VALUE - 8) {
            throw usage("--max-new " + maxNew + " with a prompt of " + promptTokens + " tokens exceeds the "
                    + (Integer.MAX_VALUE - 8) + " tokens a generation can hold");
        }
        MemoryBudget.requireHeap(4 * (promptTokens + maxNew), "the prompt and --max-new " + maxNew, null);
        return new int[(int) promptTokens + maxNew];
    }

    /** Generates --max-new tokens after ids' prompt (the first ids.length - maxNew), and reports them. */
    private int generate(Sampler sampler, LongNetModel m, int[] ids, TokenFormat promptFormat, Job job) throws Exception {
        int n = ids.length - maxNew;
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
        if (json) {
            Json.Obj summary = Json.object().put("promptTokens", n).put("generatedTokens", generated.length)
                    .put("seconds", seconds).put("tokensPerSecond", generated.length / seconds)
                    .put("tokens", java.util.Arrays.stream(generated).asLongStream().toArray());
            if (vocab == 256) {
                byte[] text = new byte[generated.length];
                for (int i = 0; i < text.length; i++) text[i] = (byte) generated[i];
                summary.put("text", new String(text, StandardCharsets.UTF_8));
            }
            result(summary.put("out", out == null ? null : out.toString()).toString());
        } else if (vocab == 256) {
            byte[] text = new byte[generated.length];
            for (int i = 0; i < text.length; i++) text[i] = (byte) generated[i];
            // On a terminal, bytes that would move the cursor, ring or change colours are shown escaped.
            result(ProgressDisplay.interactive() ? printable(text) : new String(text, StandardCharsets.UTF_8));
        } else if (out == null) {
            result(java.util.Arrays.toString(generated));
        }
        note(String.format(Locale.ROOT, "prompt %,d tokens, generated %,d in %.2f s", n, maxNew, seconds));
        return 0;
    }

    /**
     * Generated bytes as text a terminal shows as they are: UTF-8 characters, newlines and tabs pass; control
     * characters, unassigned code points and bytes that are not UTF-8 are written as {@code \xNN} (each byte), and
     * a backslash as {@code \\}.
     */
    static String printable(byte[] bytes) {
        StringBuilder text = new StringBuilder(bytes.length);
        java.nio.charset.CharsetDecoder utf8 = StandardCharsets.UTF_8.newDecoder()
                .onMalformedInput(java.nio.charset.CodingErrorAction.REPORT)
                .onUnmappableCharacter(java.nio.charset.CodingErrorAction.REPORT);
        for (int i = 0; i < bytes.length; ) {
            int b = bytes[i] & 0xff;
            int length = b < 0x80 ? 1 : b >> 5 == 0b110 ? 2 : b >> 4 == 0b1110 ? 3 : b >> 3 == 0b11110 ? 4 : 0;
            String c = null;
            if (length > 0 && i + length <= bytes.length) {
                try {
                    c = utf8.reset().decode(java.nio.ByteBuffer.wrap(bytes, i, length)).toString();
                } catch (java.nio.charset.CharacterCodingException e) {
                    c = null;                                  // not UTF-8 (an overlong form, a surrogate, ...)
                }
            }
            int cp = c == null ? -1 : c.codePointAt(0);
            boolean shown = c != null && (cp == '\n' || cp == '\t' || !Character.isISOControl(cp)
                    && Character.getType(cp) != Character.UNASSIGNED);
            if (!shown) {
                text.append(String.format(Locale.ROOT, "\\x%02x", b));
                i++;
            } else {
                text.append(cp == '\\' ? "\\\\" : c);
                i += length;
            }
        }
        return text.toString();
    }
}
