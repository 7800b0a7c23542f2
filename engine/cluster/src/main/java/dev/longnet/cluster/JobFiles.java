package dev.longnet.cluster;

import dev.longnet.engine.AttentionConfig;
import dev.longnet.engine.job.Job;
import dev.longnet.storage.AtomicFile;
import dev.longnet.storage.DType;
import dev.longnet.storage.FileFingerprint;
import dev.longnet.storage.NpyFile;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;

/**
 * A job's files as one member sees them: q, k, v read-only; the output accumulating in {@code OUT.partial}, written by
 * every member in disjoint row ranges; and the run directory {@code OUT.cluster/} with the lse scratch, the plan
 * and each block's journal. The output is renamed to its name only when every block is done ({@link #commit}).
 */
final class JobFiles implements AutoCloseable {
    final NpyFile q;
    final NpyFile k;
    final NpyFile v;
    final NpyFile out;
    final NpyFile lse;
    final Path dir;
    final AttentionConfig config;

    private JobFiles(NpyFile q, NpyFile k, NpyFile v, NpyFile out, NpyFile lse, Path dir, AttentionConfig config) {
        this.q = q;
        this.k = k;
        this.v = v;
        this.out = out;
        this.lse = lse;
        this.dir = dir;
        this.config = config;
    }

    static Path runDirectory(Path out) { return out.resolveSibling(out.getFileName() + ".cluster"); }

    /** Refuses an input that is the output, OUT.partial or inside OUT.cluster/ (the job layer's collision rule). */
    static void requireNoCollision(Path q, Path k, Path v, Path out) throws IOException {
        Job.requireNoCollision(List.of(q, k, v), List.of(out), null, List.of(runDirectory(out)), false);
    }

    /** The inputs' shape, dtypes and fingerprints as one line: every member must see the same. */
    static String inputs(Path q, Path k, Path v) throws IOException {
        StringBuilder text = new StringBuilder();
        for (Path p : new Path[]{q, k, v}) {
            try (NpyFile f = NpyFile.open(p)) {
                text.append(p.getFileName()).append(' ').append(f.dtype()).append(' ')
                        .append(Arrays.toString(f.shape())).append(' ')
                        .append(FileFingerprint.of(p, f.header().dataOffset()).substring(0, 16)).append("; ");
            }
        }
        return text.toString();
    }

    /** q's shape checked against k's and v's: (N, heads, headDim). */
    static long[] shape(Path q, Path k, Path v) throws IOException {
        long[] shape;
        try (NpyFile f = NpyFile.open(q)) { shape = f.shape(); }
        if (shape.length != 3 || shape[0] < 1) {
            throw new IllegalArgumentException(q + ": expected shape (N, heads, headDim), got " + Arrays.toString(shape));
        }
        for (Path p : new Path[]{k, v}) {
            try (NpyFile f = NpyFile.open(p)) {
                if (!Arrays.equals(f.shape(), shape)) {
                    throw new IllegalArgumentException(p + " has shape " + Arrays.toString(f.shape()) + ", q has "
                            + Arrays.toString(shape));
                }
            }
        }
        return shape;
    }

    /**
     * Creates the partial output, the lse scratch and the plan for a fresh job, or returns the plan an interrupted
     * run of the same job left (its block count stays, so blocks can move to other members). A run directory whose
     * plan describes another job is refused, naming what differs.
     */
    static BlockPlan prepare(Path q, Path k, Path v, Path out, JobSpec spec, int members) throws IOException {
        requireNoCollision(q, k, v, out);
        long[] shape = shape(q, k, v);
        AttentionConfig config = spec.config((int) shape[1], (int) shape[2]);
        if (Files.exists(out)) throw new FileAlreadyExistsException(out + ": the output exists; remove it first");
        Path dir = runDirectory(out);
        String identity = "config " + config.toText() + "\ninputs " + inputs(q, k, v) + "\n";
        Path planFile = dir.resolve("plan");
        if (Files.exists(planFile) && Files.exists(NpyFile.partialPath(out))) {
            String[] stored = Files.readString(planFile, StandardCharsets.US_ASCII).split("\n", 2);
            if (!stored[1].equals(identity)) {
                throw new IllegalStateException(dir + " holds an interrupted run of another job (" + firstDifference(
                        stored[1], identity) + "); remove " + dir + " and " + NpyFile.partialPath(out) + " to start over");
            }
            String[] p = stored[0].split(" ");
            return new BlockPlan(Long.parseLong(p[1]), Long.parseLong(p[2]), Integer.parseInt(p[3]));
        }
        BlockPlan plan = BlockPlan.of(config, shape[0], members);
        deleteTree(dir);
        Files.createDirectories(dir);
        NpyFile.create(out, DType.F32, shape).close();
        NpyFile.create(dir.resolve("lse.npy"), DType.F32, shape[0], shape[1]).close();
        byte[] text = ("plan " + plan.n() + " " + plan.blockRows() + " " + plan.blocks() + "\n" + identity)
                .getBytes(StandardCharsets.US_ASCII);
        AtomicFile.write(planFile, channel -> channel.write(java.nio.ByteBuffer.wrap(text)));
        return plan;
    }

    private static String firstDifference(String a, String b) {
        String[] x = a.split("\n");
        String[] y = b.split("\n");
        for (int i = 0; i < Math.min(x.length, y.length); i++) {
            if (!x[i].equals(y[i])) return "was: " + x[i] + "; now: " + y[i];
        }
        return "different plan";
    }

    /** Opens the job's files for computing blocks. */
    static JobFiles open(Path q, Path k, Path v, Path out, JobSpec spec) throws IOException {
        requireNoCollision(q, k, v, out);
        long[] shape = shape(q, k, v);
        AttentionConfig config = spec.config((int) shape[1], (int) shape[2]);
        Path dir = runDirectory(out);
        NpyFile[] files = new NpyFile[5];
        try {
            files[0] = NpyFile.open(q);
            files[1] = NpyFile.open(k);
            files[2] = NpyFile.open(v);
            files[3] = NpyFile.resume(out);
            files[4] = NpyFile.resume(dir.resolve("lse.npy"));
            return new JobFiles(files[0], files[1], files[2], files[3], files[4], dir, config);
        } catch (IOException | RuntimeException e) {
            for (NpyFile f : files) if (f != null) f.close();
            throw e;
        }
    }

    /** Renames the complete output to its name and removes the run directory. */
    static Path commit(Path out) throws IOException {
        NpyFile.resume(out).commit();
        deleteTree(runDirectory(out));
        return out;
    }

    static void deleteTree(Path dir) throws IOException { dev.longnet.storage.Disk.deleteTree(dir); }

    /** The out rows and lse rows of [first, end) as file regions (for the journal's before-images). */
    BlockJournal.Region[] regions(long first, long end) {
        return new BlockJournal.Region[]{
                new BlockJournal.Region(out.path(), out.header().dataOffset() + first * out.rowBytes(), (end - first) * out.rowBytes()),
                new BlockJournal.Region(lse.path(), lse.header().dataOffset() + first * lse.rowBytes(), (end - first) * lse.rowBytes())};
    }

    @Override
    public void close() throws IOException {
        for (NpyFile f : new NpyFile[]{q, k, v, out, lse}) f.close();
    }
}
