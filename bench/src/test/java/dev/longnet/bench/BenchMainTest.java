package dev.longnet.bench;

import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;
import picocli.CommandLine;
import picocli.CommandLine.Model.OptionSpec;

/** The benchmark commands name their options' values as the CLI's commands do (N, FILE), not by field names. */
class BenchMainTest {
    @Test
    void optionLabelsNameTheirValues() {
        CommandLine main = new CommandLine(new BenchMain());
        for (CommandLine command : main.getSubcommands().values()) {
            for (OptionSpec option : command.getCommandSpec().options()) {
                if (option.arity().max() == 0 || option.hidden()) continue;
                String label = option.paramLabel();
                assertTrue(!label.startsWith("<") && !label.isBlank(), command.getCommandName() + " "
                        + option.longestName() + " is labelled '" + label + "': name its value (N, FILE, ...)");
            }
        }
    }
}
