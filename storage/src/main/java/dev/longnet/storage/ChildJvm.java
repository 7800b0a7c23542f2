package dev.longnet.storage;

import java.lang.management.ManagementFactory;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * The command line of a child JVM like this one: the same java, the same module and access flags (the
 * {@code --} options this JVM was started with, e.g. the project's JVM flags), its AOT cache, the same class
 * path, then {@code extraJvmOptions}, the main class and its arguments. Benchmarks and kill tests run each point
 * or victim in such a process.
 */
public final class ChildJvm {
    private ChildJvm() { }

    public static List<String> command(List<String> extraJvmOptions, String mainClass, List<String> args) {
        List<String> command = new ArrayList<>();
        command.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        command.addAll(flags());
        command.addAll(startupCache());
        command.addAll(extraJvmOptions);
        command.add("-cp");
        command.add(System.getProperty("java.class.path"));
        command.add(mainClass);
        command.addAll(args);
        return command;
    }

    /** The module and access flags this JVM was started with (the {@code --} options: the project's JVM flags). */
    public static List<String> flags() {
        return ManagementFactory.getRuntimeMXBean().getInputArguments().stream().filter(a -> a.startsWith("--")).toList();
    }

    /** This JVM's AOT cache and its silenced logging: a child on the same class path starts as fast as this JVM. */
    private static List<String> startupCache() {
        return ManagementFactory.getRuntimeMXBean().getInputArguments().stream()
                .filter(a -> a.startsWith("-XX:AOTCache=") || a.startsWith("-Xlog:aot") || a.startsWith("-Xlog:cds"))
                .toList();
    }
}
