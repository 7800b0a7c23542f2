package dev.longnet.cli;

import dev.longnet.engine.AttentionConfig;
import dev.longnet.engine.Level;
import dev.longnet.engine.Semantics;
import java.util.List;
import picocli.CommandLine.Option;

/** The encoder settings a checkpoint does not hold: heads, levels, semantics, and how the rows are run. */
final class EncoderOptions {
    @Option(names = "--heads", paramLabel = "H", converter = Sizes.IntConverter.class,
            description = "Attention heads (default: 16, GigaPath's).")
    Integer heads;

    @Option(names = "--segments", split = ",", paramLabel = "W", converter = Sizes.LongConverter.class,
            description = "Segment lengths (default: GigaPath's 1024,5792,32768,185363,1048576).")
    List<Long> segments;

    @Option(names = "--dilations", split = ",", paramLabel = "R", converter = Sizes.IntConverter.class,
            description = "Dilation rates, one per segment length (default: 1,2,4,8,16).")
    List<Integer> dilations;

    @Option(names = "--semantics", paramLabel = "S", description = "torchscale (default: what trained weights expect: "
            + "zero-padded segments as torchscale computes them) or exact.")
    String semantics;

    @Option(names = "--chunk-rows", paramLabel = "ROWS", converter = Sizes.IntConverter.class,
            description = "Rows each pass maps and processes at once (default: 512 per thread).")
    Integer chunkRows;

    @Option(names = "--window-budget", paramLabel = "BYTES", converter = Sizes.LongConverter.class,
            description = "Bytes of attention rows mapped at once (default: 256M).")
    Long windowBudget;

    int heads() {
        if (heads != null && heads < 1) throw new IllegalArgumentException("--heads must be >= 1, got " + heads);
        return heads != null ? heads : 16;
    }

    /** The levels, or GigaPath's when neither --segments nor --dilations is given. */
    List<Level> levels(long[] defaultSegments, int[] defaultDilations) {
        long[] w = segments != null ? segments.stream().mapToLong(Long::longValue).toArray() : defaultSegments;
        int[] r = dilations != null ? dilations.stream().mapToInt(Integer::intValue).toArray() : defaultDilations;
        try {
            return AttentionConfig.levels(w, r);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("--segments/--dilations: " + e.getMessage());
        }
    }

    Semantics semantics() {
        if (semantics == null) return Semantics.TORCHSCALE;
        try {
            return Semantics.parse(semantics);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("--semantics: " + e.getMessage());
        }
    }

    dev.longnet.engine.encoder.LongNetEncoder.Options options(int threads) {
        var o = dev.longnet.engine.encoder.LongNetEncoder.Options.defaults().withThreads(threads);
        if (chunkRows != null) {
            if (chunkRows < 1) throw new IllegalArgumentException("--chunk-rows must be >= 1, got " + chunkRows);
            o = o.withChunkRows(chunkRows);
        } else {
            o = o.withChunkRows(Math.max(256, 64 * threads));
        }
        if (windowBudget != null) {
            if (windowBudget < 1) throw new IllegalArgumentException("--window-budget must be positive, got " + windowBudget);
            o = o.withBudget(windowBudget);
        }
        return o;
    }
}
