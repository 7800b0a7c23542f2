package dev.longnet.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import picocli.CommandLine;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Model.OptionSpec;
import picocli.CommandLine.Model.PositionalParamSpec;

class MainTest {
    static final String[] COMMANDS = {"gen", "attend", "stream", "member", "stat", "verify", "info", "convert", "demo",
            "model", "score", "generate", "tokens", "slide", "encode", "completion", "bench", "test", "jvm-flags", "help"};

    @Test
    void versionNamesTheProject() {
        Cli.Run run = Cli.run("--version");
        assertEquals(0, run.code());
        assertTrue(run.out().matches("(?s)longnet \\d+\\.\\d+\\.\\d+(-SNAPSHOT)?\\R.*"), run.out());
        Cli.Run sub = Cli.run("attend", "--version");
        assertEquals(run.out(), sub.out());
    }

    @Test
    void everyCommandHasHelp() {
        Cli.Run top = Cli.run("--help");
        assertEquals(0, top.code());
        for (String command : COMMANDS) {
            assertTrue(top.out().contains("  " + command + " "), command + " in\n" + top.out());
            Cli.Run run = Cli.run(command, "--help");
            assertEquals(0, run.code(), command);
            assertTrue(run.out().startsWith("Usage: longnet " + command), run.out());
            assertTrue(run.out().contains("--quiet") && run.out().contains("--verbose"), run.out());
        }
        Cli.Run attend = Cli.run("attend", "--help");
        for (String flag : new String[]{"--q=Q.npy", "--segments=W", "--dilations=R", "--preset=NAME", "--causal",
                "--offsets=RULE", "--semantics=S", "--scale=S", "--threads=T", "--backend=B", "--out-dtype=TYPE", "--force", "--json",
                "--restart", "--check-finite", "--cluster=HOST[:PORT],...", "--cluster-name=NAME"}) {
            assertTrue(attend.out().contains(flag), flag);
        }
        assertTrue(attend.out().contains("bench, paper, pow2"), attend.out());
    }

    /** Every command and subcommand, depth first. */
    static List<CommandLine> allCommands() {
        List<CommandLine> all = new ArrayList<>();
        List<CommandLine> todo = new ArrayList<>(Main.commandLine().getSubcommands().values());
        while (!todo.isEmpty()) {
            CommandLine c = todo.removeFirst();
            all.add(c);
            todo.addAll(c.getSubcommands().values());
        }
        return all;
    }

    @Test
    void topLevelHelpListsEveryCommandWithAWholeSummary() {
        Cli.Run top = Cli.run("--help");
        for (CommandLine command : allCommands()) {
            String[] description = command.getCommandSpec().usageMessage().description();
            String name = command.getCommandSpec().qualifiedName();
            assertTrue(description.length > 0, name + " has a description");
            String summary = description[0];
            // The list of commands shows the first line: a whole sentence, short enough to read at a glance.
            assertTrue(summary.endsWith(".") && summary.length() <= 120 && Character.isUpperCase(summary.charAt(0)),
                    name + ": '" + summary + "'");
            if (command.getParent().getParent() == null) {          // a top-level command: in the list
                String start = summary.substring(0, Math.min(summary.length(), 30));
                assertTrue(top.out().contains(start), name + "'s summary in\n" + top.out());
            }
        }
        // The commands the launcher runs itself are listed too.
        for (String launcher : new String[]{"bench", "test", "jvm-flags"}) {
            assertTrue(top.out().contains("  " + launcher + " "), launcher + " in\n" + top.out());
        }
    }

    @Test
    void helpCommandPrintsACommandsHelp() {
        for (String command : COMMANDS) {
            Cli.Run help = Cli.run("help", command);
            assertEquals(0, help.code(), command + ": " + help.err());
            assertEquals(Cli.run(command, "--help").out(), help.out(), command);
        }
        Cli.Run sub = Cli.run("help", "model", "init");
        assertEquals(0, sub.code(), sub.err());
        assertTrue(sub.out().startsWith("Usage: longnet model init"), sub.out());
        Cli.Run top = Cli.run("help");
        assertEquals(Cli.run("--help").out(), top.out());
        Cli.Run unknown = Cli.run("help", "attnd");
        assertEquals(2, unknown.code());
        assertTrue(unknown.oneErrorLine() && unknown.err().startsWith("longnet help: 'attnd' is not a command"),
                unknown.err());
    }

    @Test
    void launcherCommandsSayWhereTheyRun() {
        for (String[] args : new String[][]{{"bench", "peak"}, {"bench", "kernel", "--shape", "4x8"}, {"jvm-flags"},
                {"test", "-pl", "engine"}}) {
            Cli.Run run = Cli.run(args);
            assertEquals(2, run.code(), run.toString());
            assertTrue(run.oneErrorLine() && run.err().contains("run it as ./longnet " + args[0]), run.err());
        }
    }

    @Test
    void optionLabelsNameTheirValues() {
        for (CommandLine command : allCommands()) {
            CommandSpec spec = command.getCommandSpec();
            for (OptionSpec option : spec.options()) {
                if (option.arity().max() == 0 || option.hidden()) continue;
                String label = option.paramLabel();
                assertTrue(!label.startsWith("<") && !label.isBlank(), spec.qualifiedName() + " " + option.longestName()
                        + " is labelled '" + label + "': name its value (N, FILE, ...)");
            }
            for (PositionalParamSpec p : spec.positionalParameters()) {
                assertTrue(!p.paramLabel().startsWith("<"), spec.qualifiedName() + " parameter " + p.paramLabel());
            }
        }
        Cli.Run generate = Cli.run("generate", "--help");
        assertTrue(generate.out().contains("--max-new=N") && !generate.out().contains("<maxNew>"), generate.out());
    }

    @Test
    void completionIsABashScript() {
        Cli.Run run = Cli.run("completion");
        assertEquals(0, run.code());
        assertTrue(run.out().startsWith("#!/usr/bin/env bash"), run.out().substring(0, 80));
        assertTrue(run.out().contains("complete -F _complete_longnet"), "registers the function");
        assertTrue(run.out().contains("--segments") && run.out().contains("torchscale"), "knows flags and values");
    }

    @Test
    void noOrUnknownCommandIsAUsageError() {
        Cli.Run none = Cli.run();
        assertEquals(2, none.code());
        assertTrue(none.oneErrorLine() && none.err().startsWith("longnet: a command is needed"), none.err());
        assertTrue(none.err().contains("generate") && none.err().contains("jvm-flags"), none.err());
        Cli.Run unknown = Cli.run("attnd");
        assertEquals(2, unknown.code());
        assertTrue(unknown.oneErrorLine() && unknown.err().startsWith("longnet: Unmatched argument"), unknown.err());
    }
}
