package dev.longnet.engine.model;

import dev.longnet.engine.job.Identity;
import dev.longnet.storage.AtomicFile;
import dev.longnet.storage.DType;
import dev.longnet.storage.Disk;
import dev.longnet.storage.NpyFile;
import dev.longnet.storage.RowWindow;
import dev.longnet.storage.TokenFile;
import java.io.IOException;
import java.io.Reader;
import java.io.Writer;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.Map;
import java.util.Properties;
import java.util.function.LongConsumer;

/**
 * Per-token next-token negative log-likelihood over a token file of any length: the model streams over it chunk by
 * chunk, nll[t] = logsumexp(logits_t) - logits_t[token t+1] (nats) for t in [0, N-1), optionally with the final
 * hidden states. Resumable: every {@code snapshotEvery} tokens the outputs are forced to disk and every layer's
 * stream state, with the position and the running sum, is snapshotted into the state directory; a run that finds
 * a snapshot there continues from it, and its outputs are the same bytes as an uninterrupted run's.
 */
public final class ScoreRun {
    private static final String CURRENT = "CURRENT";
    private static final String RUN = "run.properties";
    /** The properties' prefix of the job's identity. */
    private static final String JOB = "job.";

    /**
     * @param nllOut        .npy of N-1 f32 NLLs, or null
     * @param hiddenOut     .npy of (N, dim) f32 final hidden states, or null
     * @param stateDir      where snapshots go, or null for a run that cannot resume
     * @param snapshotEvery tokens between snapshots
     * @param restart       ignore (and replace) an earlier run's state
     * @param limit         score only the first limit tokens (Long.MAX_VALUE: all)
     * @param chunk         tokens per step (0: as many as 16 MiB of logits hold, at most 4096)
     * @param threads       threads of the linear layers (the attention's are the factory's)
     */
    public record Options(Path nllOut, Path hiddenOut, Path stateDir, long snapshotEvery, boolean restart, long limit,
                          int chunk, LayerAttention.Factory attention, int threads) { }

    /** tokens: N; nllSum over the N-1 predictions; resumedFrom: the position the run continued from (0: fresh). */
    public record Result(long tokens, double nllSum, long resumedFrom, double seconds, long stateBytes) {
        public long predictions() { return Math.max(0, tokens - 1); }

        public double meanNll() { return nllSum / predictions(); }

        public double bitsPerToken() { return meanNll() / Math.log(2); }

        /** Tokens this process ran through, per second. */
        public double tokensPerSecond() { return (tokens - resumedFrom) / seconds; }
    }

    /**
     * What a state directory holds: its last snapshot, taken after {@code position} of the run's {@code tokens}
     * tokens, in {@code snapshot} (a directory).
     */
    public record Saved(long position, long tokens, Path snapshot) { }

    private ScoreRun() { }

    /** The last snapshot in a score run's state directory, or null when it holds none. */
    public static Saved saved(Path stateDir) throws IOException {
        Path snapshot = current(stateDir);
        if (snapshot == null) return null;
        Properties run = load(snapshot.resolve(RUN));
        try {
            return new Saved(Long.parseLong(run.getProperty("position", "0")), Long.parseLong(run.getProperty("tokens", "0")),
                    snapshot);
        } catch (NumberFormatException e) {
            throw new IOException(snapshot.resolve(RUN) + ": damaged (position or tokens is not a number)");
        }
    }

    public static Result run(LongNetModel model, TokenFile tokens, Options o, LongConsumer progress) throws IOException {
        return run(model, tokens, o, null, progress);
    }

    /**
     * As {@link #run(LongNetModel, TokenFile, Options, LongConsumer)}, recording {@code identity} (what the run is
     * of: the model's and the tokens' fingerprints, ...) with each snapshot and refusing to resume a snapshot whose
     * recorded identity differs ({@link dev.longnet.engine.job.JobConflictException}, naming what changed).
     */
    public static Result run(LongNetModel model, TokenFile tokens, Options o, Identity identity, LongConsumer progress)
            throws IOException {
        long n = Math.min(tokens.count(), o.limit());
        if (n < 2) throw new IllegalArgumentException(tokens.path() + ": scoring needs at least 2 tokens, found " + n);
        ModelConfig c = model.config();
        int vocab = c.vocabSize(), e = c.embedDim();
        int chunk = o.chunk() > 0 ? o.chunk() : Math.clamp((1L << 22) / vocab, 1, 4096);
        long start = System.nanoTime();
        Path snapshot = o.stateDir() != null && !o.restart() ? current(o.stateDir()) : null;
        long position = 0;
        double sum = 0;
        if (snapshot != null) {
            Properties run = load(snapshot.resolve(RUN));
            if (identity != null) {
                Map<String, String> recorded = new java.util.HashMap<>();
                for (String key : run.stringPropertyNames()) recorded.put(key, run.getProperty(key));
                identity.requireSame(o.stateDir(), recorded, JOB);
            }
            if (!Long.toString(n).equals(run.getProperty("tokens")) || !c.toJson().equals(run.getProperty("config"))) {
                throw new dev.longnet.engine.job.JobConflictException(o.stateDir() + " holds the state of another run"
                        + " (other tokens or model)", true);
            }
            position = Long.parseLong(run.getProperty("position"));
            sum = Double.longBitsToDouble(Long.parseLong(run.getProperty("nllSumBits")));
        } else if (o.stateDir() != null) {
            clear(o.stateDir());
        }
        long resumedFrom = position;
        NpyFile nll = null, hidden = null;
        try (ModelStream stream = snapshot != null ? ModelStream.restore(model, o.attention(), snapshot, o.threads())
                : ModelStream.open(model, o.attention(), o.threads())) {
            if (o.nllOut() != null) nll = snapshot != null ? NpyFile.resume(o.nllOut()) : NpyFile.create(o.nllOut(), DType.F32, n - 1);
            if (o.hiddenOut() != null) hidden = snapshot != null ? NpyFile.resume(o.hiddenOut()) : NpyFile.create(o.hiddenOut(), DType.F32, n, e);
            int[] ids = new int[chunk + 1];
            float[] logits = new float[chunk * vocab];
            float[] states = hidden != null ? new float[chunk * e] : null;
            long nextSnapshot = position + o.snapshotEvery();
            while (position < n) {
                int count = (int) Math.min(chunk, n - position);
                int read = (int) Math.min(count + 1, n - position);     // and the next token, the last one's target
                tokens.read(position, ids, 0, read);
                stream.forward(ids, 0, count, logits, states);
                int scored = (int) Math.min(count, n - 1 - position);
                if (nll != null && scored > 0) {
                    try (RowWindow w = nll.window(position, scored)) {
                        for (int i = 0; i < scored; i++) {
                            float value = finite(nll(logits, i * vocab, vocab, ids[i + 1]), position + i);
                            DType.F32.set(w.segment(), i, value);
                            sum += value;
                        }
                    }
                } else {
                    for (int i = 0; i < scored; i++) sum += finite(nll(logits, i * vocab, vocab, ids[i + 1]), position + i);
                }
                if (hidden != null) {
                    try (RowWindow w = hidden.window(position, count)) {
                        for (int i = 0; i < count * e; i++) DType.F32.set(w.segment(), i, states[i]);
                    }
                }
                position += count;
                progress.accept(position);
                if (o.stateDir() != null && position >= nextSnapshot && position < n) {
                    snapshot(o.stateDir(), stream, nll, hidden, n, c, sum, identity);
                    nextSnapshot = position + o.snapshotEvery();
                }
            }
            if (nll != null) nll.commit();
            if (hidden != null) hidden.commit();
            long stateBytes = stream.stateBytes();
            if (o.stateDir() != null) {
                clear(o.stateDir());
                try {
                    Files.deleteIfExists(o.stateDir());                // only when nothing else is in it
                } catch (IOException kept) {
                    // the user's own files (or the job's lock) stay; "." cannot be removed
                }
            }
            return new Result(n, sum, resumedFrom, (System.nanoTime() - start) / 1e9, stateBytes);
        } finally {
            if (nll != null) nll.close();
            if (hidden != null) hidden.close();
        }
    }

    /**
     * The NLL of target under logits[from, from + vocab), in double: log Σ exp(l) - l[target]. Stored as float, and
     * the running sum adds the stored value, so that a resumed run's sum is the same.
     */
    static float nll(float[] logits, int from, int vocab, int target) {
        if (target < 0 || target >= vocab) {
            throw new IllegalArgumentException("token id " + target + " is outside the vocabulary [0, " + vocab + ")");
        }
        double max = Double.NEGATIVE_INFINITY;
        for (int i = 0; i < vocab; i++) max = Math.max(max, logits[from + i]);
        double z = 0;
        for (int i = 0; i < vocab; i++) z += Math.exp(logits[from + i] - max);
        return (float) (max + Math.log(z) - logits[from + target]);
    }

    /** Outputs forced first, then the states into a new directory, then CURRENT switched to it atomically. */
    private static void snapshot(Path dir, ModelStream stream, NpyFile nll, NpyFile hidden, long n, ModelConfig c,
                                 double sum, Identity identity) throws IOException {
        forceAll(nll);
        forceAll(hidden);
        String name = "snap-" + stream.position();
        Path tmp = AtomicFile.partial(dir.resolve(name));
        deleteTree(tmp);
        stream.snapshot(tmp);
        Properties run = new Properties();
        run.setProperty("position", Long.toString(stream.position()));
        run.setProperty("nllSumBits", Long.toString(Double.doubleToRawLongBits(sum)));
        run.setProperty("tokens", Long.toString(n));
        run.setProperty("config", c.toJson());
        if (identity != null) identity.fields(JOB).forEach(run::setProperty);
        try (Writer w = Files.newBufferedWriter(tmp.resolve(RUN))) {
            run.store(w, "longnet score state");
        }
        Path target = dir.resolve(name);
        deleteTree(target);
        Files.move(tmp, target, StandardCopyOption.ATOMIC_MOVE);
        AtomicFile.write(dir.resolve(CURRENT), ch -> ch.write(java.nio.ByteBuffer.wrap(
                name.getBytes(java.nio.charset.StandardCharsets.UTF_8))));
        try (DirectoryStream<Path> old = Files.newDirectoryStream(dir, "snap-*")) {
            for (Path p : old) if (!p.getFileName().toString().equals(name)) deleteTree(p);
        }
    }

    /** A value of the NLL, refused when not finite: the model (or its input) overflowed, and the output would lie. */
    private static float finite(float value, long position) {
        if (!Float.isFinite(value)) {
            throw new IllegalArgumentException("the model gives a non-finite NLL (" + value + ") at token " + position
                    + ": its weights or activations overflow; nothing was written");
        }
        return value;
    }

    private static void forceAll(NpyFile file) throws IOException {
        if (file == null) return;
        try (RowWindow w = file.window(0, file.rows())) {
            w.force();
        }
    }

    /** The snapshot CURRENT names, or null when the directory holds none. */
    private static Path current(Path dir) throws IOException {
        Path pointer = dir.resolve(CURRENT);
        if (!Files.isRegularFile(pointer)) return null;
        Path snapshot = dir.resolve(Files.readString(pointer).trim());
        if (!Files.isRegularFile(snapshot.resolve(RUN))) throw new IOException(dir + ": " + CURRENT + " names a missing snapshot");
        return snapshot;
    }

    private static Properties load(Path file) throws IOException {
        Properties p = new Properties();
        try (Reader r = Files.newBufferedReader(file)) {
            p.load(r);
        }
        return p;
    }

    private static void clear(Path dir) throws IOException {
        Files.createDirectories(dir);
        Files.deleteIfExists(dir.resolve(CURRENT));
        try (DirectoryStream<Path> old = Files.newDirectoryStream(dir, "snap-*")) {
            for (Path p : old) deleteTree(p);
        }
    }

    private static void deleteTree(Path p) throws IOException { Disk.deleteTree(p); }
}
