package dev.longnet.bench;

import java.io.IOException;
import dev.longnet.storage.ChildJvm;
import dev.longnet.storage.Json;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Runs one {@code longnet} command in a child JVM ({@link ChildJvm}: same java, flags and class path as this
 * one), so that each point of a benchmark has its own process: its peak RSS (VmHWM) and I/O counters are its own.
 */
final class ChildRun {
    private ChildRun() { }

    /** Runs {@code longnet args... --json --quiet} and returns the numbers of its JSON summary by key. */
    static Map<String, Double> longnet(List<String> args) throws IOException, InterruptedException {
        List<String> all = new ArrayList<>(args);
        all.add("--json");
        all.add("--quiet");
        Process process = new ProcessBuilder(ChildJvm.command(List.of(), "dev.longnet.cli.Main", all))
                .redirectError(ProcessBuilder.Redirect.INHERIT).start();
        String out = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        int exit = process.waitFor();
        if (exit != 0) throw new IOException("longnet " + String.join(" ", args) + " failed with exit code " + exit);
        Map<String, Double> numbers = new LinkedHashMap<>();
        collectNumbers(Json.parse(out), numbers);
        return numbers;
    }

    /** Every number of a parsed JSON value by its key, nested objects included; the first of a key wins. */
    private static void collectNumbers(Object value, Map<String, Double> numbers) {
        if (!(value instanceof Map<?, ?> map)) return;
        for (Map.Entry<?, ?> e : map.entrySet()) {
            if (e.getValue() instanceof Number n) numbers.putIfAbsent((String) e.getKey(), n.doubleValue());
            else collectNumbers(e.getValue(), numbers);
        }
    }
}
