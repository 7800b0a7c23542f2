package dev.longnet.cli;

import dev.longnet.engine.encoder.LongNetEncoder;
import dev.longnet.engine.encoder.SlideEncoder;
import dev.longnet.engine.encoder.TileCoords;
import dev.longnet.engine.job.Job;
import dev.longnet.storage.Disk;
import dev.longnet.storage.Json;
import dev.longnet.storage.NpyFile;
import dev.longnet.storage.ProcSelf;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.stream.Stream;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/** longnet slide embed: GigaPath slide embeddings from tile embeddings and coordinates. */
@Command(name = "embed", description = {
        "Embeds whole slides with a Prov-GigaPath slide encoder (LongNetViT), out of core.",
        "Tile embeddings (N, 1536) f32 or f16 and their pixel coordinates (N, 2) (x, y; float or integer) give one "
                + "(1, dim) f32 embedding.",
        "The architecture (dim, depth, in_chans) is read from the checkpoint's tensors; the attention is GigaPath's "
                + "(16 heads, segments 1024..1048576, dilations 1..16, torchscale's semantics). The encoder runs "
                + "layer by layer over mapped work files next to the output (removed at the end): memory stays "
                + "bounded whatever N is.",
        "With --tiles DIR, every NAME.npy in it (with NAME.coords.npy beside it) becomes --out DIR/NAME.npy; slides "
                + "whose output exists are skipped, so an interrupted run continues where it stopped."})
final class SlideEmbedCommand extends BaseCommand {
    @Option(names = "--model", required = true, paramLabel = "MODEL", description = "The slide encoder checkpoint.")
    Path model;

    @Option(names = "--tiles", required = true, paramLabel = "T.npy|DIR", description = "Tile embeddings (N, in_chans), "
            + "or a directory of NAME.npy and NAME.coords.npy.")
    Path tiles;

    @Option(names = "--coords", paramLabel = "C.npy", description = "Tile coordinates (N, 2) in pixels (x, y) "
            + "(single slide only).")
    Path coords;

    @Option(names = "--out", required = true, paramLabel = "E.npy|DIR", description = "The embedding, (1, dim) f32; a "
            + "directory with --tiles DIR.")
    Path out;

    @Option(names = "--global-pool", description = "Mean of the tile rows instead of the CLS token (gigapath's global_pool).")
    boolean globalPool;

    @Option(names = "--all-layers-out", paramLabel = "L.npy|DIR", description = "Also every layer's embedding, "
            + "(depth + 1, dim) f32 (gigapath's all_layer_embed); a directory with --tiles DIR.")
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
        SlideEncoder.Settings gigapath = SlideEncoder.Settings.gigapath();
        SlideEncoder.Settings settings = new SlideEncoder.Settings(encoder.heads(),
                encoder.levels(SlideEncoder.segmentLengths(262144, 256), new int[]{1, 2, 4, 8, 16}), encoder.semantics());
        LongNetEncoder.Options options = encoder.options(threads.threads());
        boolean dir = Files.isDirectory(tiles);
        if (dir && coords != null) throw usage("--coords is for one slide; with --tiles DIR each NAME.npy has NAME.coords.npy");
        if (!dir && coords == null) throw usage("--coords is needed with --tiles FILE");
        if (allLayersOut != null && out.toAbsolutePath().normalize().equals(allLayersOut.toAbsolutePath().normalize())) {
            throw usage("--out and --all-layers-out name the same " + (dir ? "directory" : "file"));
        }
        if (dir && (sameDirectory(tiles, out) || sameDirectory(tiles, allLayersOut))) {
            throw usage("the output directory is the tiles directory " + tiles + ": embeddings would be written over tiles");
        }
        try (Checkpoint ckpt = Checkpoint.open(model)) {
            SlideEncoder slide = new SlideEncoder(ckpt.source(), settings, options);
            note("model " + model + ": " + slide.architecture() + ", " + slide.config()
                    + (settings.equals(gigapath) ? "" : " (not GigaPath's attention settings)"));
            return dir ? directory(slide) : single(slide);
        }
    }

    private static boolean sameDirectory(Path a, Path b) throws IOException {
        if (b == null) return false;
        if (Files.exists(b)) return Files.isSameFile(a, b);
        return a.toAbsolutePath().normalize().equals(b.toAbsolutePath().normalize());
    }

    private int single(SlideEncoder slide) throws IOException {
        SlideEncoder.Result r = embed(slide, tiles, coords, out, allLayersOut, force.force);
        long peak = ProcSelf.peakRssBytes();
        if (json) {
            result(Json.object().put("tiles", r.tiles()).put("dim", slide.config().dim()).put("layers", slide.config().layers())
                    .put("architecture", slide.architecture().name()).put("globalPool", globalPool)
                    .put("seconds", r.seconds()).put("tilesPerSecond", r.tiles() / r.seconds())
                    .put("rowSeconds", r.timings().rowSeconds()).put("attentionSeconds", r.timings().attentionSeconds())
                    .put("weightGflopsPerSecond", slide.config().weightFlopsPerToken() * (r.tiles() + 1) / r.timings().rowSeconds() / 1e9)
                    .put("linearSeconds", r.timings().linearSeconds())
                    .put("linearGflopsPerSecond", r.timings().linearFlopsPerSecond() / 1e9)
                    .put("peakRssBytes", peak).put("out", out.toString()).toString());
        } else {
            result(String.format(Locale.ROOT, "%,d tiles -> %s (1, %d) in %.2f s (%,.0f tiles/s), peak RSS %s", r.tiles(), out,
                    slide.config().dim(), r.seconds(), r.tiles() / r.seconds(), Disk.human(peak)));
        }
        return 0;
    }

    private int directory(SlideEncoder slide) throws IOException {
        if (Files.exists(out) && !Files.isDirectory(out)) throw usage("--out must be a directory with --tiles DIR: " + out);
        if (allLayersOut != null && Files.exists(allLayersOut) && !Files.isDirectory(allLayersOut)) {
            throw usage("--all-layers-out must be a directory with --tiles DIR: " + allLayersOut);
        }
        Files.createDirectories(out);
        if (allLayersOut != null) Files.createDirectories(allLayersOut);
        List<String> names = new ArrayList<>();
        try (Stream<Path> files = Files.list(tiles)) {
            files.map(p -> p.getFileName().toString()).filter(n -> n.endsWith(".npy") && !n.endsWith(".coords.npy"))
                    .sorted().forEach(n -> names.add(n.substring(0, n.length() - 4)));
        }
        if (names.isEmpty()) throw new IllegalArgumentException(tiles + ": no NAME.npy tile files in the directory");
        int done = 0, skipped = 0, failed = 0;
        long tileCount = 0;
        double seconds = 0;
        for (String name : names) {
            Path o = out.resolve(name + ".npy");
            Path l = allLayersOut != null ? allLayersOut.resolve(name + ".npy") : null;
            if (!force.force && Files.exists(o) && (l == null || Files.exists(l))) {
                skipped++;
                note(name + ": done earlier, skipped");
                continue;
            }
            try {
                Path t = tiles.resolve(name + ".npy");
                SlideEncoder.Result r = embed(slide, t, tiles.resolve(name + ".coords.npy"), o, l, true);   // not done
                done++;
                tileCount += r.tiles();
                seconds += r.seconds();
                note(String.format(Locale.ROOT, "%s: %,d tiles in %.2f s", name, r.tiles(), r.seconds()));
            } catch (IOException | RuntimeException e) {
                failed++;
                err().println(spec.qualifiedName() + ": " + name + ": " + Errors.describe(e));
                err().flush();
            }
        }
        long peak = ProcSelf.peakRssBytes();
        if (json) {
            result(Json.object().put("slides", names.size()).put("embedded", done).put("skipped", skipped).put("failed", failed)
                    .put("tiles", tileCount).put("seconds", seconds).put("peakRssBytes", peak).toString());
        } else {
            result(String.format(Locale.ROOT, "%d slides: %d embedded, %d skipped (done earlier), %d failed; %,d tiles in "
                    + "%.2f s, peak RSS %s", names.size(), done, skipped, failed, tileCount, seconds, Disk.human(peak)));
        }
        return failed > 0 ? Errors.FAILURE : 0;
    }

    /**
     * One slide as a job (outputs locked, inputs never an output, OUT.work/ as scratch); overwrite: replace outputs
     * that exist.
     */
    private SlideEncoder.Result embed(SlideEncoder slide, Path tilesFile, Path coordsFile, Path o, Path l,
                                      boolean overwrite) throws IOException {
        Path work = o.resolveSibling(o.getFileName() + ".work");
        try (Job job = Job.builder("longnet slide embed").input(model).input(tilesFile).input(coordsFile).output(o)
                .output(l).workDirectory(work).force(overwrite).start()) {
            int[] cells = TileCoords.cells(coordsFile);
            Disk.deleteTree(work);
            Files.createDirectories(work);
            try (PartialCleanup _ = new PartialCleanup(List.of(work)); NpyFile t = NpyFile.open(tilesFile);
                 ProgressDisplay progress = ProgressDisplay.start("embed " + tilesFile.getFileName(), cells.length, chatty())) {
                SlideEncoder.Result r = slide.embed(t, tilesFile.toString(), cells, work, globalPool, l != null,
                        f -> progress.update(Math.round(f * cells.length)));
                Outputs.write(o, r.embedding(), 1, r.embedding().length);
                if (l != null) {
                    Outputs.write(l, dev.longnet.engine.encoder.Pooled.flat(r.layers()), r.layers().length, r.embedding().length);
                }
                job.completed();
                return r;
            } catch (IOException e) {
                throw job.failure(e, o);
            } finally {
                Disk.deleteTree(work);
            }
        }
    }
}
