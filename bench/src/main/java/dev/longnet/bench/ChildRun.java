package dev.longnet.bench;

import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Runs one {@code longnet} command in a child JVM (same java, flags and class path as this one), so that each
 * point of a benchmark has its own process: its peak RSS (VmHWM) and I/O counters are its own.
 */
final class ChildRun {
    private static final Pattern NUMBER = Pattern.compile("\"([A-Za-z]+)\":(-?[0-9.eE+-]+)");

    private ChildRun() { }

    /** Runs {@code longnet args... --json --quiet} and returns the numbers of its JSON summary by key. */
    static java.util.Map<String, Double> longnet(List<String> args) throws IOException, InterruptedException {
        List<String> command = new ArrayList<>();
        command.add(ProcessHandle.current().info().command().orElse(System.getProperty("java.home") + "/bin/java"));
        command.addAll(ManagementFactory.getRuntimeMXBean().getInputArguments());
        command.add("-cp");
        command.add(System.getProperty("java.class.path"));
        command.add("dev.longnet.cli.Main");
        command.addAll(args);
        command.add("--json");
        command.add("--quiet");
        Process process = new ProcessBuilder(command).redirectError(ProcessBuilder.Redirect.INHERIT).start();
        String out = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        int exit = process.waitFor();
        if (exit != 0) throw new IOException("longnet " + String.join(" ", args) + " failed with exit code " + exit);
        java.util.Map<String, Double> numbers = new java.util.LinkedHashMap<>();
        Matcher m = NUMBER.matcher(out);
        while (m.find()) numbers.putIfAbsent(m.group(1), Double.parseDouble(m.group(2)));
        return numbers;
    }
}
