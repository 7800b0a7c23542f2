package dev.longnet.cli;

import dev.longnet.engine.encoder.EncoderConfig;
import dev.longnet.engine.encoder.EncoderFile;
import dev.longnet.engine.encoder.LongNetEncoder;
import dev.longnet.engine.encoder.SlideEncoder;
import dev.longnet.engine.job.Job;
import dev.longnet.storage.DType;
import dev.longnet.storage.Disk;
import dev.longnet.storage.Json;
import dev.longnet.storage.NpyFile;
import dev.longnet.storage.ProcSelf;
import dev.longnet.storage.RowWindow;
import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/** longnet encode: token embeddings through a LongNetEncoder. */
@Command(name = "encode", description = {
        "Runs token embeddings through a torchscale LongNetEncoder, out of core.",
        "The input is (N, dim) f32 or f16; the encoder is bidirectional dilated attention, pre-LN with sub-LN; the "
                + "output is the hidden states (N, dim) f32, after the encoder's layer_norm when it has one.",
        "The checkpoint holds the encoder's tensors (layers.I.*, layer_norm.*), possibly under a prefix such as "
                + "'encoder.' (tensors outside it are ignored); dim, depth and ffn come from their shapes. What it "
                + "does not hold comes from flags: --heads, --segments, --dilations, --semantics (default: "
                + "GigaPath's).",
        "Out of core: the states live in the output file while the layers run one at a time; memory stays bounded "
                + "whatever N is."})
final class EncodeCommand extends BaseCommand {
    private static final ValueLayout.OfFloat FLOAT = ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    @Option(names = "--model", required = true, paramLabel = "MODEL", description = "The encoder checkpoint.")
    Path model;

    @Option(names = "--in", required = true, paramLabel = "X.npy", description = "Token embeddings (N, dim).")
    Path in;

    @Option(names = "--out", required = true, paramLabel = "H.npy", description = "Hidden states (N, dim) f32.")
    Path out;

    @Option(names = "--all-layers-out", paramLabel = "L.npy", description = "Every state (layers + 1, N, dim) f32: "
            + "the input, then each layer's output (without the final layer_norm), as torchscale's encoder_states.")
    Path allLayersOut;

    @Option(names = "--json", description = "The summary as one JSON object on stdout.")
    boolean json;

    @Mixin
    EncoderOptions encoder;

    @Mixin
    ThreadOptions threads;

    @Mixin
    ForceOption force;

    @Override
    boolean json() { return json; }

    @Override
    protected int execute() throws Exception {
        if (allLayersOut != null && out.toAbsolutePath().normalize().equals(allLayersOut.toAbsolutePath().normalize())) {
            throw usage("--out and --all-layers-out name the same file");
        }
        long start = System.nanoTime();
        Path work = out.resolveSibling(out.getFileName() + ".work");
        try (Job job = Job.builder("longnet encode").input(model).input(in).output(out).output(allLayersOut)
                .workDirectory(work).force(force.force).start();
             Checkpoint ckpt = Checkpoint.open(model); NpyFile input = NpyFile.open(in)) {
            EncoderFile file = EncoderFile.inspect(ckpt.source());
            EncoderConfig config = file.config(encoder.heads(),
                    encoder.levels(SlideEncoder.segmentLengths(262144, 256), new int[]{1, 2, 4, 8, 16}), encoder.semantics());
            note("model " + model + ": " + config);
            long[] shape = input.shape();
            if (shape.length != 2 || shape[1] != config.dim()) {
                throw new IllegalArgumentException(in + ": embeddings must have shape (N, " + config.dim() + "), got "
                        + Arrays.toString(shape));
            }
            long n = shape[0];
            if (n == 0) throw new IllegalArgumentException(in + ": no rows (N = 0)");
            Disk.requireSpace(out, n * config.dim() * 4L * (allLayersOut != null ? config.layers() + 2 : 1)
                    + LongNetEncoder.workBytes(config, n), "the hidden states and the encoder's work files");
            Disk.deleteTree(work);
            Files.createDirectories(work);
            NpyFile x = NpyFile.create(out, DType.F32, n, config.dim());
            NpyFile layers = allLayersOut != null ? NpyFile.create(allLayersOut, DType.F32, config.layers() + 1, n, config.dim()) : null;
            boolean ok = false;
            List<Path> partials = new ArrayList<>(List.of(work, x.path()));
            if (layers != null) partials.add(layers.path());
            try (PartialCleanup _ = new PartialCleanup(partials);
                 LongNetEncoder enc = new LongNetEncoder(config, ckpt.source(), file.prefix(), encoder.options(threads.threads()));
                 ProgressDisplay progress = ProgressDisplay.start("encode", n, chatty());
                 FileChannel layersChannel = layers != null ? FileChannel.open(layers.path(), StandardOpenOption.WRITE) : null) {
                copyIn(input, x, config.dim());
                enc.run(x, work, (index, states) -> {
                    if (layersChannel != null) copyState(states, layersChannel, layers.header().dataOffset() + index * n * config.dim() * 4L, config.dim());
                }, f -> progress.update(Math.round(f * n)));
                finalNorm(enc, x, config.dim());
                ok = true;
            } catch (IOException e) {
                throw job.failure(e, out);
            } finally {
                Disk.deleteTree(work);
                if (!ok) {
                    x.discard();
                    if (layers != null) layers.discard();
                }
            }
            x.commit();
            if (layers != null) layers.commit();
            job.completed();
            double seconds = (System.nanoTime() - start) / 1e9;
            long peak = ProcSelf.peakRssBytes();
            if (json) {
                result(Json.object().put("rows", n).put("dim", config.dim()).put("layers", config.layers())
                        .put("seconds", seconds).put("rowsPerSecond", n / seconds).put("peakRssBytes", peak).toString());
            } else {
                result(String.format(Locale.ROOT, "%,d rows -> %s (%d, %d) in %.2f s (%,.0f rows/s), peak RSS %s", n, out, n,
                        config.dim(), seconds, n / seconds, Disk.human(peak)));
            }
            return 0;
        }
    }

    /** The input rows as f32 into x, refusing NaN and infinities (naming the row). */
    private void copyIn(NpyFile input, NpyFile x, int dim) throws IOException {
        int chunk = 4096;
        float[] buf = new float[chunk * dim];
        for (long r0 = 0; r0 < input.rows(); r0 += chunk) {
            int c = (int) Math.min(chunk, input.rows() - r0);
            try (RowWindow iw = input.window(r0, c); RowWindow xw = x.window(r0, c)) {
                for (int i = 0; i < c * dim; i++) {
                    float v = input.dtype().get(iw.segment(), i);
                    if (!Float.isFinite(v)) {
                        throw new IllegalArgumentException(in + ": row " + (r0 + i / dim) + " holds " + v + " (column "
                                + i % dim + "); the encoder needs finite inputs");
                    }
                    buf[i] = v;
                }
                MemorySegment.copy(buf, 0, xw.segment(), FLOAT, 0, c * dim);
            }
        }
    }

    private static void copyState(dev.longnet.storage.TensorRows x, FileChannel to, long at, int dim) throws IOException {
        int chunk = 4096;
        for (long r0 = 0; r0 < x.rows(); r0 += chunk) {
            int c = (int) Math.min(chunk, x.rows() - r0);
            try (RowWindow w = x.window(r0, c)) {
                Disk.writeFully(to, w.segment(), at + r0 * dim * 4L);
            }
        }
    }

    private static void finalNorm(LongNetEncoder enc, NpyFile x, int dim) throws IOException {
        int chunk = 4096;
        float[] buf = new float[chunk * dim];
        for (long r0 = 0; r0 < x.rows(); r0 += chunk) {
            int c = (int) Math.min(chunk, x.rows() - r0);
            try (RowWindow w = x.window(r0, c)) {
                MemorySegment.copy(w.segment(), FLOAT, 0, buf, 0, c * dim);
                enc.finalNorm(buf, c);
                MemorySegment.copy(buf, 0, w.segment(), FLOAT, 0, c * dim);
            }
        }
    }
}
