package dev.longnet.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import dev.longnet.engine.AttentionConfig;
import dev.longnet.engine.HeadOffsetRule;
import java.util.List;
import org.junit.jupiter.api.Test;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;

/** The shared configuration flags: a default preset, and flags that give a configuration back in a child JVM. */
class ConfigOptionsTest {
    @Command(name = "probe")
    static final class Probe {
        @Mixin
        ConfigOptions levels;
    }

    private static ConfigOptions parse(List<String> args) {
        Probe probe = new Probe();
        new CommandLine(probe).parseArgs(args.toArray(String[]::new));
        return probe.levels;
    }

    @Test
    void argsGiveTheSameConfigurationBack() {
        List<AttentionConfig> configs = List.of(
                AttentionConfig.preset("paper").heads(3).headDim(16).build(),
                AttentionConfig.preset("bench").heads(8).headDim(64).causal(true).build(),
                AttentionConfig.builder().levels(new long[]{5, 12}, new int[]{2, 3}).heads(5).headDim(7)
                        .offsetRule(HeadOffsetRule.PAPER).causal(true).scale(0.3f).build(),
                AttentionConfig.builder().levels(new long[]{6, 24}, new int[]{1, 4}).heads(2).headDim(3)
                        .semantics(dev.longnet.engine.Semantics.TORCHSCALE).scale(Float.MIN_VALUE).build());
        for (AttentionConfig config : configs) {
            List<String> args = ConfigOptions.args(config);
            assertEquals(config, parse(args).build(config.heads(), config.headDim()), String.join(" ", args));
        }
    }

    @Test
    void theDefaultPresetAppliesOnlyWithoutLevels() {
        assertEquals(AttentionConfig.preset("bench").heads(1).headDim(16).build(),
                parse(List.of()).build(1, 16, "bench"));
        assertEquals(AttentionConfig.preset("paper").heads(1).headDim(16).causal(true).build(),
                parse(List.of("--preset", "paper", "--causal")).build(1, 16, "bench"));
        assertEquals(AttentionConfig.builder().levels(new long[]{64}, new int[]{2}).heads(1).headDim(16).build(),
                parse(List.of("--segments", "64", "--dilations", "2")).build(1, 16, "bench"));
        assertThrows(CommandLine.ParameterException.class, () -> parse(List.of("--segments", "64")).build(1, 16, "bench"));
        assertThrows(CommandLine.ParameterException.class, () -> parse(List.of()).build(1, 16));
    }
}
