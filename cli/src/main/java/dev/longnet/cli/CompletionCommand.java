package dev.longnet.cli;

import picocli.AutoComplete;
import picocli.CommandLine.Command;

/** longnet completion: bash completion generated from the command model, so it never drifts from the flags. */
@Command(name = "completion", description = {"Prints a bash completion script for longnet.",
        "Use it with: source <(longnet completion)"})
final class CompletionCommand extends BaseCommand {
    @Override
    protected int execute() {
        out().print(AutoComplete.bash("longnet", spec.root().commandLine()));
        out().flush();
        return 0;
    }
}
