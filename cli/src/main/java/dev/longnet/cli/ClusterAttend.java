package dev.longnet.cli;

import dev.longnet.storage.Json;
import com.hazelcast.client.HazelcastClient;
import com.hazelcast.core.HazelcastInstance;
import dev.longnet.cluster.ClusterJob;
import dev.longnet.cluster.ClusterSettings;
import dev.longnet.cluster.HazelcastSetup;
import dev.longnet.cluster.JobProgress;
import dev.longnet.cluster.JobSpec;
import dev.longnet.engine.AttentionConfig;
import dev.longnet.engine.Level;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.function.Consumer;

/** attend --cluster: the job submitted through a Hazelcast client; the communication per member and level reported. */
final class ClusterAttend {
    private ClusterAttend() { }

    record Outcome(ClusterJob.Result result, AttentionConfig levels) {
        String line() {
            return String.format(Locale.ROOT, "wrote %s on %d member(s), %d blocks of %d rows, in %.1f s: %,.0f"
                            + " tokens/s%s", result.output(), result.members().size(), result.plan().blocks(),
                    result.plan().blockRows(), result.seconds(), result.tokensPerSecond(), result.stagesSkipped() > 0
                            ? String.format(Locale.ROOT, " (resumed: %d block stages were done by an earlier run; the"
                            + " speed counts this run's work, %,d of the %,d tokens' worth)", result.stagesSkipped(),
                            result.plan().n() - result.tokensResumed(), result.plan().n()) : "");
        }

        Json.Obj json() {
            List<Json.Obj> levelList = new ArrayList<>();
            long[][] sent = result.sent();
            long[][] received = result.received();
            for (int l = 0; l < sent.length; l++) {
                Level level = levels.levels().get(l);
                levelList.add(Json.object().put("segment", level.segmentLength()).put("dilation", level.dilation())
                        .put("sentBytes", sent[l]).put("receivedBytes", received[l]));
            }
            return Json.object().put("output", result.output()).put("members", result.members())
                    .put("blocks", result.plan().blocks()).put("blockRows", result.plan().blockRows())
                    .put("tokens", result.plan().n()).put("seconds", result.seconds())
                    .put("tokensPerSecond", result.tokensPerSecond()).put("stagesResumed", result.stagesSkipped())
                    .put("levels", levelList);
        }
    }

    /** The job; a progress bar shows on a terminal when {@code progress} (not --quiet, not --json). */
    static Outcome run(Consumer<String> note, String clusterName, String cluster, Path q, Path k, Path v, Path out,
                       ConfigOptions options, int threads, long windowBudget, boolean progress) {
        List<String> addresses;
        try {
            addresses = ClusterSettings.addresses(cluster);
        } catch (IllegalArgumentException e) {
            throw new Failure("--cluster: " + e.getMessage());
        }
        AttentionConfig levels = options.build(1, 1);                       // levels and options; heads come from q
        JobSpec spec = JobSpec.of(q, k, v, out, levels, options.scale == null, threads, windowBudget);
        HazelcastInstance client;
        try {
            client = HazelcastClient.newHazelcastClient(HazelcastSetup.client(clusterName, addresses));
        } catch (RuntimeException e) {
            throw new Failure("cannot reach cluster '" + clusterName + "' at " + cluster + ": " + e.getMessage());
        }
        try {
            note.accept("attend: submitting to cluster '" + clusterName + "' (" + client.getCluster().getMembers().size()
                    + " members)");
            ClusterJob.Result result;
            try (Bar bar = new Bar(progress)) {
                result = ClusterJob.run(client, spec, addresses, bar);
            } catch (ClusterJob.Failure e) {
                throw new Failure(e.getMessage());
            }
            report(note, result, levels);
            return new Outcome(result, levels);
        } finally {
            client.shutdown();
        }
    }

    /** The job's progress drawn as attend's bar, started at the first report, where the work resumed is known. */
    private static final class Bar implements JobProgress.Listener, AutoCloseable {
        private final boolean enabled;
        private ProgressDisplay display;

        Bar(boolean enabled) { this.enabled = enabled; }

        @Override
        public void onProgress(JobProgress p) {
            if (display == null) display = ProgressDisplay.start("attend", p.tokensTotal(), p.tokensResumed(), enabled);
            display.update(p.tokensDone());
        }

        @Override
        public void close() {
            if (display != null) display.close();
        }
    }

    /** Slice bytes each member sent and received, per level (local levels move nothing). */
    private static void report(Consumer<String> note, ClusterJob.Result result, AttentionConfig levels) {
        long[][] sent = result.sent();
        long[][] received = result.received();
        for (int l = 0; l < sent.length; l++) {
            StringBuilder line = new StringBuilder("attend: level " + l + " " + levels.levels().get(l) + ":");
            for (int m = 0; m < result.members().size(); m++) {
                line.append(m > 0 ? ";" : "").append(' ').append(result.members().get(m)).append(" sent ")
                        .append(sent[l][m]).append(" B, received ").append(received[l][m]).append(" B");
            }
            note.accept(line.toString());
        }
    }
}
