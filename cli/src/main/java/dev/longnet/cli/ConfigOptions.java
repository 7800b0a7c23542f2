package dev.longnet.cli;

import dev.longnet.engine.AttentionConfig;
import dev.longnet.engine.HeadOffsetRule;
import dev.longnet.engine.Level;
import java.util.ArrayList;
import java.util.List;
import picocli.CommandLine.ITypeConverter;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;
import picocli.CommandLine.TypeConversionException;

/**
 * The dilated-attention configuration flags shared by attend and verify: the levels (as lists or a preset),
 * causality, the head-offset rule and the softmax scale. Heads and head dimension come from q's shape.
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

    @Option(names = "--scale", paramLabel = "S", description = "Softmax scale (default: 1/sqrt(headDim)).")
    Float scale;

    /** Checks the flags before any file is touched, so that a bad configuration is a usage error (exit 2). */
    void validate() {
        build(1, 1);
    }

    /** The configuration for q's head layout; an invalid one is a usage error. */
    AttentionConfig build(int heads, int headDim) {
        try {
            AttentionConfig.Builder builder = preset != null ? presetBuilder() : AttentionConfig.builder().levels(levels());
            builder.heads(heads).headDim(headDim).causal(causal).offsetRule(offsets);
            if (scale != null) builder.scale(scale);
            return builder.build();
        } catch (IllegalArgumentException e) {
            throw new ParameterException(mixee.commandLine(), e.getMessage());
        }
    }

    private AttentionConfig.Builder presetBuilder() {
        if (segments != null || dilations != null) throw usage("use either --preset or --segments/--dilations, not both");
        return AttentionConfig.preset(preset);
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

    public static final class OffsetNames extends ArrayList<String> {
        public OffsetNames() { super(List.of("torchscale", "paper")); }
    }

    public static final class PresetNames extends ArrayList<String> {
        public PresetNames() { super(AttentionConfig.PRESETS.keySet().stream().sorted().toList()); }
    }
}
