package dev.longnet.cli;

import dev.longnet.storage.Json;
import dev.longnet.storage.Disk;
import dev.longnet.engine.RunCounter;
import dev.longnet.engine.RunFiles;
import dev.longnet.engine.job.Job;
import dev.longnet.engine.job.JobLock;
import dev.longnet.engine.model.ScoreRun;
import dev.longnet.storage.CountersFile;
import dev.longnet.storage.SnapshotFile;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.Locale;
import java.util.OptionalLong;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/**
 * longnet stat: where a run stands, read by another process: attend's live counters from its run directory, or a
 * stream's or score's state directory (the process holding it, the tokens done at its last snapshot).
 */
@Command(name = "stat", description = {
        "Prints where a run stands (attend, stream or score), from another process.",
        "For attend, the live counters: tokens and tiles done, units, current level, bytes read and written, resident "
                + "memory, errors and resumes. For stream and score, their --state directory: whether a process runs "
                + "it, and the tokens done at the last snapshot.",
        "RUN is attend's run directory (OUT.run) or output OUT, or a stream's or score's state directory (score's "
                + "default, NLL-OUT.state, is found from NLL-OUT too). With --watch the reading refreshes every second "
                + "until the run ends."})
final class StatCommand extends BaseCommand {
    /** A writer silent this long is reported as not responding. */
    private static final long STALE_MILLIS = 10_000;

    @Parameters(index = "0", paramLabel = "RUN", description = "attend's OUT.run or OUT, or a stream's or score's"
            + " state directory.")
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
        RunFiles.BatchState batch = Files.isDirectory(dir) ? RunFiles.BatchState.read(dir) : null;
        if (batch != null) {
            String line = dir + ": a batch, " + batch.done() + " of " + batch.sequences() + " sequences done";
            if (batch.current() == null) {
                result(json ? Json.object().put("dir", dir.toString()).put("sequences", batch.sequences())
                        .put("sequencesDone", batch.done()).toString() : line + "; none in progress");
                return 0;
            }
            if (!json) result(line + "; the sequence in progress:");
            dir = batch.current();
            counters = RunFiles.countersFile(dir);
        }
        if (!Files.isRegularFile(counters)) {
            Path state = stateDirectory(run);
            if (state != null) return watchState(state);
            throw new Failure(dir + ": no run here (no counters file " + counters + ", and no stream or score state;"
                    + " is the run finished, or not started yet?)");
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

    /**
     * A stream's or score's state directory named by RUN (or, for score's default, NLL-OUT.state by NLL-OUT): one
     * holding a stream snapshot, a score snapshot or a run's lock; null when RUN is none of these.
     */
    static Path stateDirectory(Path run) throws java.io.IOException {
        for (Path dir : new Path[]{run, run.resolveSibling(run.getFileName() + ".state")}) {
            if (!Files.isDirectory(dir) || dir.getFileName().toString().endsWith(RunFiles.SUFFIX)) continue;
            if (Files.isRegularFile(dir.resolve(StreamCommand.SNAPSHOT)) || ScoreRun.saved(dir) != null
                    || Files.isRegularFile(dir.resolve(Job.LOCK))) {
                return dir;
            }
        }
        return null;
    }

    /** One reading of a state directory. */
    private record StateReading(String kind, String status, long pid, long tokensDone, long tokensTotal,
                                long snapshotMillis) { }

    private int watchState(Path dir) throws Exception {
        while (true) {
            StateReading r = readState(dir);
            result(json ? jsonState(dir, r) : humanState(dir, r));
            if (!watch || !r.status().equals("running")) {
                return !watch || r.status().equals("finished") ? 0 : Errors.FAILURE;
            }
            Thread.sleep(Math.max(1, Math.round(interval * 1000)));
        }
    }

    private static StateReading readState(Path dir) throws java.io.IOException {
        OptionalLong holder = JobLock.holder(dir.resolve(Job.LOCK));
        Path stream = dir.resolve(StreamCommand.SNAPSHOT);
        String kind = "stream";
        long done = -1;
        long total = -1;
        long millis = -1;
        if (Files.isRegularFile(stream)) {
            try (SnapshotFile.Reader reader = SnapshotFile.open(stream)) {
                done = Long.parseLong(reader.header().getOrDefault("position", "0"));
            } catch (NumberFormatException e) {
                throw new Failure(stream + ": a damaged snapshot (its position is not a number)");
            }
            millis = Files.getLastModifiedTime(stream).toMillis();
        } else {
            ScoreRun.Saved saved = ScoreRun.saved(dir);
            if (saved != null) {
                kind = "score";
                done = saved.position();
                total = saved.tokens();
                millis = Files.getLastModifiedTime(saved.snapshot()).toMillis();
            } else {
                kind = "stream or score";
            }
        }
        String status = holder.isPresent() ? "running" : done >= 0 ? "stopped" : "finished";
        return new StateReading(kind, status, holder.orElse(-1), done, total, millis);
    }

    private static String humanState(Path dir, StateReading r) {
        StringBuilder text = new StringBuilder();
        text.append(dir).append(": ").append(r.kind()).append(" state, ").append(r.status());
        switch (r.status()) {
            case "running" -> text.append(r.pid() > 0 ? " (process " + r.pid() + ")" : "");
            case "stopped" -> text.append(" (no process holds it; run the same ").append(r.kind())
                    .append(" command to resume from its snapshot, or --restart to start over)");
            default -> text.append(" (no process holds it and it holds no snapshot: the run ended, or has not"
                    + " snapshotted yet)");
        }
        if (r.tokensDone() >= 0) {
            String ago = duration((System.currentTimeMillis() - r.snapshotMillis()) / 1000.0);
            text.append(r.tokensTotal() > 0
                    ? String.format(Locale.ROOT, "%n  tokens done      %,d / %,d (%.1f%%) at the last snapshot, %s ago",
                            r.tokensDone(), r.tokensTotal(), 100.0 * r.tokensDone() / r.tokensTotal(), ago)
                    : String.format(Locale.ROOT, "%n  tokens done      %,d at the last snapshot, %s ago", r.tokensDone(), ago));
        } else {
            text.append(String.format(Locale.ROOT, "%n  tokens done      no snapshot yet"));
        }
        return text.toString();
    }

    private static String jsonState(Path dir, StateReading r) {
        Json.Obj o = Json.object().put("dir", dir.toString()).put("kind", r.kind()).put("state", r.status());
        if (r.pid() > 0) o.put("pid", r.pid());
        if (r.tokensDone() >= 0) o.put("tokensDone", r.tokensDone()).put("snapshotMillis", r.snapshotMillis());
        if (r.tokensTotal() > 0) o.put("tokensTotal", r.tokensTotal());
        return o.toString();
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
        for (CountersFile.Counter c : s.counters()) counters.put(camelCase(c.label()), c.value());
        return Json.object().put("dir", dir.toString()).put("state", status).put("pid", s.pid())
                .put("startMillis", s.startMillis()).put("heartbeatMillis", s.heartbeatMillis())
                .put("counters", counters).toString();
    }

    /** A counter's label as a JSON name, camelCase like every other field: "tokens done" is "tokensDone". */
    static String camelCase(String label) {
        String[] words = label.strip().split("[^A-Za-z0-9]+");
        StringBuilder name = new StringBuilder(words[0].toLowerCase(Locale.ROOT));
        for (int i = 1; i < words.length; i++) {
            if (words[i].isEmpty()) continue;
            name.append(Character.toUpperCase(words[i].charAt(0))).append(words[i].substring(1).toLowerCase(Locale.ROOT));
        }
        return name.toString();
    }

    private static String bytes(long value) { return value < 0 ? "unknown" : Disk.human(value); }

    private static String duration(double seconds) {
        if (seconds < 120) return String.format(Locale.ROOT, "%.0f s", seconds);
        long s = Math.round(seconds);
        return s >= 3600 ? String.format(Locale.ROOT, "%dh%02dm", s / 3600, s / 60 % 60)
                : String.format(Locale.ROOT, "%dm%02ds", s / 60, s % 60);
    }
}
