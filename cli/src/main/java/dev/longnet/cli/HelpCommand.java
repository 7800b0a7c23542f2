package dev.longnet.cli;

import java.util.List;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Parameters;

/** longnet help [CMD [SUBCMD]]: a command's usage, as 'longnet CMD [SUBCMD] --help' prints it. */
@Command(name = "help", helpCommand = true, description = {
        "Describes a command: 'longnet help CMD' prints what 'longnet CMD --help' does.",
        "With no command, the list of commands; 'longnet help model init' describes a subcommand."})
final class HelpCommand extends BaseCommand {
    @Parameters(paramLabel = "CMD", arity = "0..*", description = "The command, and its subcommand if it has them.")
    List<String> names;

    @Override
    protected int execute() {
        CommandLine target = spec.root().commandLine();
        for (String name : names == null ? List.<String>of() : names) {
            CommandLine sub = target.getSubcommands().get(name);
            if (sub == null) {
                String known = String.join(", ", target.getSubcommands().keySet());
                throw usage("'" + name + "' is not a command" + (target == spec.root().commandLine() ? "" : " of '"
                        + target.getCommandSpec().qualifiedName() + "'") + (known.isEmpty() ? "" : " (commands: "
                        + known + ")"));
            }
            target = sub;
        }
        target.usage(out());
        out().flush();
        return 0;
    }
}
