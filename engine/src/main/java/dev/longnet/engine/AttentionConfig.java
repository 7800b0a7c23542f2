package dev.longnet.engine;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.stream.Collectors;

/**
 * A validated dilated-attention configuration: the levels, the head layout, causality, the head-offset rule and
 * the softmax scale. Build one with {@link #builder()} or take a paper preset with {@link #preset}.
 */
public record AttentionConfig(List<Level> levels, int heads, int headDim, boolean causal, HeadOffsetRule offsetRule,
                              float scale, Semantics semantics) {

    /** Named level sets from SPEC.md "Reference configurations" and the benchmark configuration. */
    public static final Map<String, List<Level>> PRESETS = Map.of(
            "paper", levels(new long[]{2048, 4096, 8192, 16384, 32768}, new int[]{1, 2, 4, 6, 12}),
            "pow2", levels(new long[]{2048, 8192, 32768, 131072}, new int[]{1, 4, 16, 64}),
            "bench", levels(new long[]{2048, 4096, 8192, 16384}, new int[]{1, 2, 4, 8}));

    public AttentionConfig {
        if (levels == null || levels.isEmpty()) throw new IllegalArgumentException("at least one level is needed");
        levels = List.copyOf(levels);
        if (heads < 1) throw new IllegalArgumentException("heads must be >= 1, got " + heads);
        if (headDim < 1) throw new IllegalArgumentException("head dimension must be >= 1, got " + headDim);
        if (offsetRule == null) throw new IllegalArgumentException("a head-offset rule is needed");
        if (!(scale > 0) || Float.isInfinite(scale)) {
            throw new IllegalArgumentException("softmax scale must be a positive finite number, got " + scale);
        }
        if (semantics == null) throw new IllegalArgumentException("a semantics is needed (exact or torchscale)");
    }

    /** With SPEC.md's exact semantics. */
    public AttentionConfig(List<Level> levels, int heads, int headDim, boolean causal, HeadOffsetRule offsetRule,
                           float scale) {
        this(levels, heads, headDim, causal, offsetRule, scale, Semantics.EXACT);
    }

    /** This configuration with other levels (same heads, causality, rule, scale and semantics). */
    public AttentionConfig withLevels(List<Level> other) {
        return new AttentionConfig(other, heads, headDim, causal, offsetRule, scale, semantics);
    }

    public static Builder builder() { return new Builder(); }

    /** A builder preset with a named level set: "paper", "pow2" or "bench". */
    public static Builder preset(String name) {
        List<Level> levels = PRESETS.get(name.toLowerCase(Locale.ROOT));
        if (levels == null) {
            throw new IllegalArgumentException("unknown preset '" + name + "' (known: "
                    + PRESETS.keySet().stream().sorted().collect(Collectors.joining(", ")) + ")");
        }
        return builder().levels(levels);
    }

    /** Levels from parallel lists of segment lengths and dilation rates, checked to have the same length. */
    public static List<Level> levels(long[] segmentLengths, int[] dilations) {
        if (segmentLengths.length != dilations.length) {
            throw new IllegalArgumentException("segment lengths " + Arrays.toString(segmentLengths) + " and dilation rates "
                    + Arrays.toString(dilations) + " must have the same number of entries");
        }
        List<Level> out = new ArrayList<>();
        for (int i = 0; i < segmentLengths.length; i++) out.add(new Level(segmentLengths[i], dilations[i]));
        return out;
    }

    /** Attention flops for n positions as SPEC.md counts them: 4·N·d·H·Σ min(w,N)/r², halved when causal. */
    public double flops(long n) {
        double sum = 0;
        for (Level level : levels) sum += (double) level.effectiveSegment(n) / ((double) level.dilation() * level.dilation());
        double total = 4.0 * n * headDim * heads * sum;
        return causal ? total / 2 : total;
    }

    /** The phase of head h at the given level. */
    public int offset(Level level, int head) { return offsetRule.offset(head, level.dilation(), heads); }

    @Override
    public String toString() {
        return "segments=" + levels.stream().map(l -> Long.toString(l.segmentLength())).collect(Collectors.joining(","))
                + " dilations=" + levels.stream().map(l -> Integer.toString(l.dilation())).collect(Collectors.joining(","))
                + " heads=" + heads + " headDim=" + headDim + " causal=" + causal + " offsets="
                + offsetRule.name().toLowerCase(Locale.ROOT) + " scale=" + scale
                + " semantics=" + semantics.name().toLowerCase(Locale.ROOT);
    }

    public static final class Builder {
        private List<Level> levels = List.of();
        private int heads = 1;
        private int headDim = 64;
        private boolean causal;
        private HeadOffsetRule offsetRule = HeadOffsetRule.TORCHSCALE;
        private Float scale;
        private Semantics semantics = Semantics.EXACT;

        public Builder levels(List<Level> levels) { this.levels = levels; return this; }
        public Builder levels(long[] segmentLengths, int[] dilations) { return levels(AttentionConfig.levels(segmentLengths, dilations)); }
        public Builder heads(int heads) { this.heads = heads; return this; }
        public Builder headDim(int headDim) { this.headDim = headDim; return this; }
        public Builder causal(boolean causal) { this.causal = causal; return this; }
        public Builder offsetRule(HeadOffsetRule rule) { this.offsetRule = rule; return this; }
        /** The softmax scale; 1/sqrt(headDim) when not set. */
        public Builder scale(float scale) { this.scale = scale; return this; }
        /** Which operator: {@link Semantics#EXACT} (default) or torchscale's. */
        public Builder semantics(Semantics semantics) { this.semantics = semantics; return this; }

        public AttentionConfig build() {
            float s = scale != null ? scale : (float) (1.0 / Math.sqrt(Math.max(headDim, 1)));
            return new AttentionConfig(levels, heads, headDim, causal, offsetRule, s, semantics);
        }
    }
}
