package dev.longnet.cli;

import dev.longnet.engine.AttentionConfig;
import dev.longnet.engine.HeadOffsetRule;
import dev.longnet.engine.Level;
import dev.longnet.engine.Semantics;
import java.util.ArrayList;
import java.util.List;
import picocli.CommandLine.ITypeConverter;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;
import picocli.CommandLine.TypeConversionException;

/**
 * The dilated-attention configuration flags shared by attend, verify, stream and the benchmarks: the levels (as
 * lists or a preset), causality, the head-offset rule and the softmax scale. Heads and head dimension come from
 * q's shape (or a benchmark's own flags).
 */
public final class ConfigOptions {
    @Spec(Spec.Target.MIXEE)
    CommandSpec mixee;

    @Option(names = "--segments", split = ",", paramLabel = "W", converter = Sizes.LongConverter.class,
            description = "Segment lengths, one per level, e.g. 2048,4096,8192 (or 2k,4k,8k).")
    List<Long> segments;

    @Option(names = "--dilations", split = ",", paramLabel = "R", converter = Sizes.IntConverter.class,
            description = "Dilation rates, one per segment length, e.g. 1,2,4.")
    List<Integer> dilations;

    @Option(names = "--preset", paramLabel = "NAME", completionCandidates = PresetNames.class,
            description = "A named level set instead of --segments/--dilations: ${COMPLETION-CANDIDATES}.")
    String preset;

    @Option(names = "--causal", description = "Causal attention (each position sees only earlier ones).")
    boolean causal;

    @Option(names = "--offsets", paramLabel = "RULE", defaultValue = "torchscale", converter = OffsetConverter.class,
            completionCandidates = OffsetNames.class,
            description = "Head-offset rule: torchscale or paper (default: ${DEFAULT-VALUE}).")
    HeadOffsetRule offsets;

    @Option(names = "--semantics", paramLabel = "S", defaultValue = "exact", converter = SemanticsConverter.class,
            completionCandidates = SemanticsNames.class,
            description = "Operator: exact (SPEC.md) or torchscale (its padding and shifted segments, as trained"
                    + " torchscale/GigaPath weights expect) (default: ${DEFAULT-VALUE}).")
    Semantics semantics;

    @Option(names = "--scale", paramLabel = "S", description = "Softmax scale (default: 1/sqrt(headDim)).")
    Float scale;

    /** Whether the levels were given (--segments/--dilations or --preset). */
    boolean levelsGiven() {
        return preset != null || segments != null || dilations != null;
    }

    /** Checks the flags before any file is touched, so that a bad configuration is a usage error (exit 2). */
    void validate() {
        build(1, 1);
    }

    /** The configuration for q's head layout; an invalid one is a usage error. */
    public AttentionConfig build(int heads, int headDim) {
        return build(heads, headDim, null);
    }

    /** As {@link #build(int, int)}, taking the preset {@code defaultPreset} when no levels are given. */
    public AttentionConfig build(int heads, int headDim, String defaultPreset) {
        try {
            String name = preset != null || segments != null || dilations != null ? preset : defaultPreset;
            AttentionConfig.Builder builder = name != null ? presetBuilder(name) : AttentionConfig.builder().levels(levels());
            builder.heads(heads).headDim(headDim).causal(causal).offsetRule(offsets)
                    .semantics(semantics != null ? semantics : Semantics.EXACT);
            if (scale != null) builder.scale(scale);
            return builder.build();
        } catch (IllegalArgumentException e) {
            throw new ParameterException(mixee.commandLine(), e.getMessage());
        }
    }

    private AttentionConfig.Builder presetBuilder(String name) {
        if (segments != null || dilations != null) throw usage("use either --preset or --segments/--dilations, not both");
        return AttentionConfig.preset(name);
    }

    /**
     * The flags that give {@code config} again (heads and head dimension aside), for a command run in a child JVM:
     * each field of its text form as the flag of the same name ({@code --causal} alone when true).
     */
    public static List<String> args(AttentionConfig config) {
        List<String> args = new ArrayList<>();
        config.fields().forEach((name, value) -> {
            switch (name) {
                case "heads", "headDim" -> { }
                case "causal" -> { if (Boolean.parseBoolean(value)) args.add("--causal"); }
                default -> args.addAll(List.of("--" + name, value));
            }
        });
        return args;
    }

    private List<Level> levels() {
        if (segments == null || dilations == null) {
            throw usage(segments == null && dilations == null
                    ? "a configuration is needed: --segments and --dilations, or --preset NAME"
                    : segments == null ? "--dilations needs --segments (one segment length per rate)"
                    : "--segments needs --dilations (one rate per segment length)");
        }
        long[] w = segments.stream().mapToLong(Long::longValue).toArray();
        int[] r = dilations.stream().mapToInt(Integer::intValue).toArray();
        return new ArrayList<>(AttentionConfig.levels(w, r));
    }

    private ParameterException usage(String message) {
        return new ParameterException(mixee.commandLine(), message);
    }

    public static final class OffsetConverter implements ITypeConverter<HeadOffsetRule> {
        @Override
        public HeadOffsetRule convert(String value) {
            try {
                return HeadOffsetRule.parse(value);
            } catch (IllegalArgumentException e) {
                throw new TypeConversionException(e.getMessage());
            }
        }
    }

    public static final class SemanticsConverter implements ITypeConverter<Semantics> {
        @Override
        public Semantics convert(String value) {
            try {
                return Semantics.parse(value);
            } catch (IllegalArgumentException e) {
                throw new TypeConversionException(e.getMessage());
            }
        }
    }

    public static final class SemanticsNames extends ArrayList<String> {
        public SemanticsNames() { super(List.of("exact", "torchscale")); }
    }

    public static final class OffsetNames extends ArrayList<String> {
        public OffsetNames() { super(List.of("torchscale", "paper")); }
    }

    public static final class PresetNames extends ArrayList<String> {
        public PresetNames() { super(AttentionConfig.PRESETS.keySet().stream().sorted().toList()); }
    }
}
