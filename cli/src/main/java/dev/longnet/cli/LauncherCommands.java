package dev.longnet.cli;

import java.util.List;
import picocli.CommandLine.Command;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Unmatched;

/**
 * The commands that the {@code ./longnet} launcher script runs itself (the benchmarks jar, the test suite, the
 * project's JVM flags): listed here so that {@code longnet --help} and {@code longnet help CMD} name every command.
 * Started on the CLI jar directly, they say where they run.
 */
final class LauncherCommands {
    private LauncherCommands() { }

    /** What a launcher command does when the CLI jar is run without the launcher. */
    abstract static class Stub extends BaseCommand {
        @Parameters(paramLabel = "ARGS", arity = "0..*", description = "Passed on as they are.")
        List<String> args;

        /** Options of the real command (bench's --shape, say): taken as they are, like ARGS. */
        @Unmatched
        List<String> unmatched;

        @Override
        protected int execute() {
            throw usage("'longnet " + spec.name() + "' is run by the ./longnet launcher script of the repository, not by"
                    + " the CLI jar: run it as ./longnet " + spec.name());
        }
    }

    @Command(name = "bench", description = {
            "Runs the benchmarks whose numbers docs/BENCHMARKS.md reports: peak, kernel, linear, stream, scale, chart.",
            "Builds and starts bench/target/benchmarks.jar; 'longnet bench' alone lists its commands, and"
                    + " 'longnet bench CMD --help' describes one."})
    static final class Bench extends Stub { }

    @Command(name = "test", description = {
            "Runs the whole test suite exactly as CI does: Maven's (mvn verify), then the Python package's.",
            "ARGS go to Maven (for example -pl engine -Dtest=ScheduleTest)."})
    static final class Test extends Stub { }

    @Command(name = "jvm-flags", description = {
            "Prints the JVM flags the project needs, to run its jars with java directly.",
            "They are the longnet.jvm.flags property of pom.xml, their one home.",
            "The engine as a library needs them too: put them on the java command line of the program that uses it."})
    static final class JvmFlags extends Stub { }
}
