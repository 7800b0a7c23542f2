package dev.longnet.cli;

import dev.longnet.storage.Json;
import dev.longnet.storage.Disk;
import dev.longnet.engine.RunCounter;
import dev.longnet.engine.RunFiles;
import dev.longnet.storage.CountersFile;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.Locale;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/** longnet stat: the live counters of a run, read from its run directory by another process. */
@Command(name = "stat", description = {
        "Prints the live counters of an attend run, from another process.",
        "Tokens and tiles done, units, current level, bytes read and written, resident memory, errors and resumes.",
        "RUN is the run directory (OUT.run) or the output path OUT. With --watch the counters refresh every second "
                + "until the run ends."})
final class StatCommand extends BaseCommand {
    /** A writer silent this long is reported as not responding. */
    private static final long STALE_MILLIS = 10_000;

    @Parameters(index = "0", paramLabel = "RUN", description = "The run directory OUT.run, or the output OUT.")
    Path run;

    @Option(names = "--watch", description = "Refresh until the run ends (done, failed or stopped).")
    boolean watch;

    @Option(names = "--interval", paramLabel = "SECONDS", defaultValue = "1",
            description = "Seconds between refreshes with --watch (default: ${DEFAULT-VALUE}).")
    double interval;

    @Option(names = "--json", description = "One JSON object per reading (one line each with --watch).")
    boolean json;

    @Override
    boolean json() { return json; }

    @Override
    protected int execute() throws Exception {
        if (!(interval > 0) || interval > 3600) throw usage("--interval must be between 0 and 3600 seconds, got " + interval);
        Path dir = runDirectory(run);
        Path counters = RunFiles.countersFile(dir);
        if (!Files.isRegularFile(counters)) {
            throw new Failure(dir + ": no run here (no counters file " + counters + "; is the run finished, or not"
                    + " started yet?)");
        }
        boolean clear = watch && !json && ProgressDisplay.interactive();
        while (true) {
            CountersFile.Snapshot snapshot;
            try {
                snapshot = CountersFile.read(counters);
            } catch (NoSuchFileException e) {
                // The run removed its directory: it finished and committed its output.
                result(json ? Json.object().put("dir", dir.toString()).put("state", "finished").toString()
                        : dir + ": finished (the run directory is gone; the output is committed)");
                return 0;
            }
            String status = status(snapshot);
            if (clear) out().print("\033[H\033[2J");
            result(json ? json(dir, snapshot, status) : human(dir, snapshot, status));
            boolean ended = !status.equals("running") && !status.equals("starting") && !status.equals("not responding");
            if (!watch || ended) return !watch || snapshot.state() == CountersFile.State.DONE ? 0 : Errors.FAILURE;
            Thread.sleep(Math.max(1, Math.round(interval * 1000)));
        }
    }

    /** RUN as given: a run directory, or an output whose run directory is OUT.run. */
    static Path runDirectory(Path run) {
        if (Files.isDirectory(run) || run.getFileName().toString().endsWith(RunFiles.SUFFIX)) return run;
        return RunFiles.directory(run);
    }

    private static String status(CountersFile.Snapshot s) {
        return switch (s.state()) {
            case DONE -> "done";
            case FAILED -> "failed";
            case STARTING, RUNNING -> {
                if (!s.writerAlive()) yield "stopped";
                if (System.currentTimeMillis() - s.heartbeatMillis() > STALE_MILLIS) yield "not responding";
                yield s.state() == CountersFile.State.STARTING ? "starting" : "running";
            }
        };
    }

    private static String human(Path dir, CountersFile.Snapshot s, String status) {
        long now = System.currentTimeMillis();
        StringBuilder text = new StringBuilder();
        text.append(dir).append(": ").append(status);
        switch (status) {
            case "stopped" -> text.append(" (process ").append(s.pid())
                    .append(" is gone; run the same attend command to resume)");
            case "failed" -> text.append(" (run the same attend command to resume)");
            default -> text.append(String.format(Locale.ROOT, " (process %d, %s, updated %.1f s ago)", s.pid(),
                    duration((s.heartbeatMillis() - s.startMillis()) / 1000.0), (now - s.heartbeatMillis()) / 1000.0));
        }
        long tokens = RunCounter.TOKENS_DONE.in(s, 0);
        long tokensTotal = RunCounter.TOKENS_TOTAL.in(s, 0);
        long units = RunCounter.UNITS_DONE.in(s, 0);
        long unitsTotal = RunCounter.UNITS_TOTAL.in(s, 0);
        text.append(String.format(Locale.ROOT, "%n  tokens done      %,d / %,d (%.1f%%)", tokens, tokensTotal,
                tokensTotal > 0 ? 100.0 * tokens / tokensTotal : 0.0));
        text.append(String.format(Locale.ROOT, "%n  tiles done       %,d", RunCounter.TILES_DONE.in(s, 0)));
        text.append(String.format(Locale.ROOT, "%n  units done       %,d / %,d", units, unitsTotal));
        text.append(String.format(Locale.ROOT, "%n  current level    %d (pass %d)", RunCounter.LEVEL.in(s, 0),
                RunCounter.PASS.in(s, 0)));
        text.append(String.format(Locale.ROOT, "%n  bytes read       %s", bytes(RunCounter.BYTES_READ.in(s, -1))));
        text.append(String.format(Locale.ROOT, "%n  bytes written    %s", bytes(RunCounter.BYTES_WRITTEN.in(s, -1))));
        text.append(String.format(Locale.ROOT, "%n  resident memory  %s", bytes(RunCounter.RESIDENT_MEMORY.in(s, -1))));
        text.append(String.format(Locale.ROOT, "%n  errors           %d", RunCounter.ERRORS.in(s, 0)));
        text.append(String.format(Locale.ROOT, "%n  resumes          %d", RunCounter.RESUMES.in(s, 0)));
        return text.toString();
    }

    private static String json(Path dir, CountersFile.Snapshot s, String status) {
        Json.Obj counters = Json.object();
        for (CountersFile.Counter c : s.counters()) counters.put(c.label(), c.value());
        return Json.object().put("dir", dir.toString()).put("state", status).put("pid", s.pid())
                .put("startMillis", s.startMillis()).put("heartbeatMillis", s.heartbeatMillis())
                .put("counters", counters).toString();
    }

    private static String bytes(long value) { return value < 0 ? "unknown" : Disk.human(value); }

    private static String duration(double seconds) {
        if (seconds < 120) return String.format(Locale.ROOT, "%.0f s", seconds);
        long s = Math.round(seconds);
        return s >= 3600 ? String.format(Locale.ROOT, "%dh%02dm", s / 3600, s / 60 % 60)
                : String.format(Locale.ROOT, "%dm%02ds", s / 60, s % 60);
    }
}
