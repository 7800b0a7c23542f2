package dev.longnet.cli;

import java.io.IOException;
import java.io.InputStream;
import java.util.Properties;
import java.util.concurrent.Callable;
import java.util.function.UnaryOperator;
import dev.longnet.engine.DilatedAttention;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.IVersionProvider;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Spec;

/** The longnet command: LongNet dilated attention over .npy files, out of core. */
@Command(name = "longnet", mixinStandardHelpOptions = true, versionProvider = Main.Version.class,
        description = {"LongNet dilated attention over .npy files of shape (N, heads, headDim), out of core.",
                "",
                "Try it: longnet demo"},
        subcommands = {GenCommand.class, AttendCommand.class, StreamCommand.class, MemberCommand.class,
                StatCommand.class, VerifyCommand.class, InfoCommand.class, ConvertCommand.class, DemoCommand.class,
                ModelCommand.class, ScoreCommand.class, GenerateCommand.class, TokensCommand.class, SlideCommand.class,
                EncodeCommand.class, CompletionCommand.class, LauncherCommands.Bench.class,
                LauncherCommands.Test.class, LauncherCommands.JvmFlags.class, HelpCommand.class},
        footer = {"", "'longnet help CMD' (or 'longnet CMD --help') describes a command.",
                "Exit codes: 0 success, 1 the work failed, 2 bad usage.",
                "Counts accept 1048576, 2^20 or 1M (binary suffixes k, M, G, T)."})
public final class Main implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Override
    public Integer call() {
        spec.commandLine().getErr().println("longnet: a command is needed (" + String.join(", ",
                spec.subcommands().keySet()) + "); see 'longnet --help'");
        return Errors.USAGE;
    }

    /** The command line with the project's error handling: one line per error, exit 1 or 2. */
    public static CommandLine commandLine() {
        return commandLine(UnaryOperator.identity());
    }

    /**
     * The command line, with attend's engine options passed through {@code engine} (an embedder's or a test's
     * kernel, budget or listener).
     */
    public static CommandLine commandLine(UnaryOperator<DilatedAttention.Options> engine) {
        Errors errors = new Errors();
        CommandLine.IFactory defaults = CommandLine.defaultFactory();
        CommandLine.IFactory factory = new CommandLine.IFactory() {
            @Override
            public <K> K create(Class<K> type) throws Exception {
                return type == AttendCommand.class ? type.cast(new AttendCommand(engine)) : defaults.create(type);
            }
        };
        return new CommandLine(new Main(), factory)
                .setCaseInsensitiveEnumValuesAllowed(true)
                .setExecutionExceptionHandler(errors)
                .setParameterExceptionHandler(errors);
    }

    public static void main(String[] args) {
        int code = commandLine().execute(args);
        StderrFilter.drain();
        System.exit(code);
    }

    /** The project version (filtered into version.properties at build time) and the JVM it runs on. */
    public static final class Version implements IVersionProvider {
        @Override
        public String[] getVersion() {
            return new String[]{"longnet " + version(),
                    "Java " + Runtime.version() + " (" + System.getProperty("java.vm.name") + "), "
                            + System.getProperty("os.name") + " " + System.getProperty("os.arch")};
        }

        static String version() {
            try (InputStream in = Main.class.getResourceAsStream("version.properties")) {
                if (in == null) return "unknown";
                Properties p = new Properties();
                p.load(in);
                return p.getProperty("version", "unknown");
            } catch (IOException e) {
                return "unknown";
            }
        }
    }
}
