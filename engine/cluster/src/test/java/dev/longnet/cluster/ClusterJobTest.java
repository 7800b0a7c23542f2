package dev.longnet.cluster;

import dev.longnet.engine.AttentionConfig;
import dev.longnet.engine.HeadOffsetRule;
import dev.longnet.storage.DType;
import java.io.IOException;
import java.io.Serializable;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.Callable;
import java.util.concurrent.ExecutionException;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Three in-process members on loopback, shared by the tests of this class (a member takes seconds to start). */
class ClusterJobTest {
    @TempDir
    static Path data;

    static List<LongnetMember> members = new ArrayList<>();
    /** The three members' addresses. */
    static List<String> addresses;
    /** Their member list: the three and a fourth, listed but started only by the test that needs it. */
    static List<String> listed;

    @BeforeAll
    static void startMembers() {
        int[] ports = Ports.free(4);
        addresses = List.of("127.0.0.1:" + ports[0], "127.0.0.1:" + ports[1], "127.0.0.1:" + ports[2]);
        listed = List.of(addresses.get(0), addresses.get(1), addresses.get(2), "127.0.0.1:" + ports[3]);
        for (int i = 0; i < 3; i++) {
            members.add(LongnetMember.start(new ClusterSettings("longnet-test", "127.0.0.1", ports[i], listed, false),
                    data, null));
        }
        assertEquals(3, members.getFirst().clusterSize());
    }

    @AfterAll
    static void stopMembers() {
        members.forEach(LongnetMember::close);
    }

    private static ClusterJob.Result run(String name, AttentionConfig config, long n, DType dtype) throws Exception {
        Path dir = Files.createDirectories(data.resolve(name));
        Path[] qkv = Tensors.inputs(dir, new Random(name.hashCode()), n, config.heads(), config.headDim(), dtype);
        Path out = dir.resolve("out.npy");
        JobSpec spec = JobSpec.of(data.relativize(qkv[0]), data.relativize(qkv[1]), data.relativize(qkv[2]),
                data.relativize(out), config, 1, 1L << 20);
        ClusterJob.Result result = ClusterJob.run(members.getFirst().instance(), spec, addresses);
        assertEquals(out.toString(), result.output());
        assertArrayEquals(Tensors.engine(config, qkv), Tensors.bits(out), name + ": " + config + ", " + result.plan());
        return result;
    }

    @Test
    void distributedOutputEqualsTheEngineBitForBit() throws Exception {
        int i = 0;
        for (boolean causal : new boolean[]{false, true}) {
            for (HeadOffsetRule rule : HeadOffsetRule.values()) {
                AttentionConfig config = AttentionConfig.builder()
                        .levels(new long[]{16, 32, 64, 128, 1000}, new int[]{1, 2, 4, 6, 12}).heads(6).headDim(8)
                        .causal(causal).offsetRule(rule).build();
                ClusterJob.Result result = run("paper-" + i++, config, 250, i % 2 == 0 ? DType.F16 : DType.F32);
                assertEquals(3, result.plan().blocks());                   // 96, 96, 58 rows: local and spanning levels
            }
        }
    }

    /**
     * torchscale semantics through the members: shifted levels (w % r != 0) fetch their slices with Q rows, H % r != 0,
     * a partial last segment (zero keys), w > N; causal and not.
     */
    @Test
    void torchscaleSemanticsEqualsTheEngineBitForBit() throws Exception {
        for (boolean causal : new boolean[]{false, true}) {
            AttentionConfig config = AttentionConfig.builder()
                    .levels(new long[]{16, 30, 64, 100, 1000}, new int[]{1, 4, 3, 4, 12}).heads(6).headDim(8)
                    .causal(causal).semantics(dev.longnet.engine.Semantics.TORCHSCALE).build();
            ClusterJob.Result result = run("torchscale-" + causal, config, 250, causal ? DType.F16 : DType.F32);
            assertEquals(3, result.plan().blocks());
        }
    }

    @Test
    void sliceBytesPerMemberFollowTheFormula() throws Exception {
        // N = 3 blocks of 64 rows; level (64, 2) is local, level (192, 4) spans all three blocks. Each block holds
        // B/r = 16 view rows per head, so a member receives 2 (K and V) · 4 bytes · H · d · (W - B)/r when not causal,
        // and the earlier blocks' share, t · B/r rows per head, when causal.
        int heads = 4, d = 8;
        for (boolean causal : new boolean[]{false, true}) {
            AttentionConfig config = AttentionConfig.builder().levels(new long[]{64, 192}, new int[]{2, 4})
                    .heads(heads).headDim(d).causal(causal).build();
            ClusterJob.Result result = run("traffic-" + causal, config, 192, DType.F32);
            long perRow = 2L * 4 * heads * d;
            for (int m = 0; m < 3; m++) {
                assertEquals(0, result.received()[0][m], "local level");
                long expected = causal ? perRow * m * 64 / 4 : perRow * (192 - 64) / 4;
                assertEquals(expected, result.received()[1][m], "member " + m + " causal " + causal);
                long sent = causal ? perRow * (2 - m) * 64 / 4 : perRow * 2 * 64 / 4;
                assertEquals(sent, result.sent()[1][m], "member " + m + " causal " + causal);
            }
        }
    }

    /**
     * The submitter hears the job's progress as the members report it: from the work resumed (none), growing, last
     * at N. Each member pauses after each of its block's four stages, so the job lasts long enough to be watched.
     */
    @Test
    void theListenerSeesProgressGrowToTheTotal() throws Exception {
        ProgressJob job = progressJob("progress", 7);
        AttentionConfig config = job.config();
        Path[] qkv = job.qkv();
        JobSpec spec = job.spec();
        List<JobProgress> seen = new ArrayList<>();
        System.setProperty("longnet.cluster.stagePauseMillis", "300");
        ClusterJob.Result result;
        try {
            result = ClusterJob.run(members.getFirst().instance(), spec, addresses, seen::add);
        } finally {
            System.clearProperty("longnet.cluster.stagePauseMillis");
        }
        assertArrayEquals(Tensors.engine(config, qkv), Tensors.bits(job.out()));
        assertEquals(new JobProgress(0, 0, 250), seen.getFirst(), seen.toString());
        assertEquals(new JobProgress(250, 0, 250), seen.getLast(), seen.toString());
        for (int i = 1; i < seen.size(); i++) {
            assertTrue(seen.get(i).tokensDone() > seen.get(i - 1).tokensDone(), seen.toString());
            assertEquals(0, seen.get(i).tokensResumed());
            assertEquals(250, seen.get(i).tokensTotal());
        }
        assertTrue(seen.stream().anyMatch(p -> p.tokensDone() > 0 && p.tokensDone() < 250), "no progress between: " + seen);
        assertEquals(0, result.tokensResumed());
    }

    /** A block an earlier run finished counts as done from the start, and the result says what was resumed. */
    @Test
    void workAnEarlierRunFinishedCountsAsDoneFromTheStart() throws Exception {
        ProgressJob job = progressJob("progress-resumed", 8);
        AttentionConfig config = job.config();
        Path[] qkv = job.qkv();
        Path out = job.out();
        JobSpec spec = job.spec();
        BlockPlan plan = JobFiles.prepare(qkv[0], qkv[1], qkv[2], out, spec, 3);
        try (JobFiles files = JobFiles.open(qkv[0], qkv[1], qkv[2], out, spec)) {        // an earlier run: block 0
            new BlockRunner(files, plan, new FileSlices(files, plan), spec, new dev.longnet.engine.VectorAttentionKernel())
                    .run(0);
        }
        List<JobProgress> seen = new ArrayList<>();
        ClusterJob.Result result = ClusterJob.run(members.getFirst().instance(), spec, addresses, seen::add);
        assertArrayEquals(Tensors.engine(config, qkv), Tensors.bits(out));
        long block0 = plan.end(0) - plan.first(0);
        assertEquals(new JobProgress(block0, block0, 250), seen.getFirst(), seen.toString());
        assertEquals(250, seen.getLast().tokensDone());
        assertEquals(block0, result.tokensResumed());
        assertEquals(4, result.stagesSkipped());
        assertEquals((250 - block0) / result.seconds(), result.tokensPerSecond(), 1e-9);
    }

    /** A job of 250 rows over five levels for the progress tests: its configuration, inputs, output and spec. */
    private record ProgressJob(AttentionConfig config, Path[] qkv, Path out, JobSpec spec) { }

    private ProgressJob progressJob(String name, long seed) throws IOException {
        AttentionConfig config = AttentionConfig.builder()
                .levels(new long[]{16, 32, 64, 128, 1000}, new int[]{1, 2, 4, 6, 12}).heads(2).headDim(4).build();
        Path dir = Files.createDirectories(data.resolve(name));
        Path[] qkv = Tensors.inputs(dir, new Random(seed), 250, 2, 4, DType.F32);
        Path out = dir.resolve("out.npy");
        JobSpec spec = JobSpec.of(data.relativize(qkv[0]), data.relativize(qkv[1]), data.relativize(qkv[2]),
                data.relativize(out), config, 1, 1L << 20);
        return new ProgressJob(config, qkv, out, spec);
    }

    /** A task outside the allowlist. */
    static final class Outsider implements Callable<String>, Serializable {
        @Override
        public String call() { return "ran"; }
    }

    @Test
    void aTaskOfAClassOutsideTheAllowlistIsRejected() {
        var executor = members.getFirst().instance().getExecutorService(Tasks.JOBS);
        var target = members.get(1).instance().getCluster().getLocalMember();
        ExecutionException e = assertThrows(ExecutionException.class,
                () -> executor.submitToMember(new Outsider(), target).get());
        String chain = causes(e);
        assertTrue(chain.contains(Outsider.class.getName()) && chain.contains("not allowed"), chain);
    }

    private static String causes(Throwable e) {
        StringBuilder text = new StringBuilder();
        for (Throwable t = e; t != null; t = t.getCause()) text.append(t).append(" <- ");
        return text.toString();
    }

    @Test
    void aMemberWithAnotherClusterNameIsNotAdmitted() {
        int port = Ports.free(1)[0];
        try (LongnetMember intruder = LongnetMember.start(new ClusterSettings("intruder", "127.0.0.1", port, addresses,
                false), data, null)) {
            assertEquals(1, intruder.clusterSize());
            assertEquals(3, members.getFirst().clusterSize());
        }
    }

    @Test
    void inputsThatDifferBetweenMembersAreRefused(@TempDir Path other) throws Exception {
        AttentionConfig config = AttentionConfig.builder().levels(new long[]{8, 64}, new int[]{1, 2}).heads(2).headDim(4).build();
        Path dir = Files.createDirectories(data.resolve("differ"));
        Path[] qkv = Tensors.inputs(dir, new Random(1), 64, 2, 4, DType.F32);
        Tensors.inputs(Files.createDirectories(other.resolve("differ")), new Random(2), 64, 2, 4, DType.F32);
        JobSpec spec = JobSpec.of(data.relativize(qkv[0]), data.relativize(qkv[1]), data.relativize(qkv[2]),
                Path.of("differ/out.npy"), config, 1, 1 << 20);
        String fourth = listed.getLast();
        int port = Integer.parseInt(fourth.substring(fourth.indexOf(':') + 1));
        try (LongnetMember odd = LongnetMember.start(new ClusterSettings("longnet-test", "127.0.0.1", port, listed, false),
                other, null)) {
            ClusterJob.Failure f = assertThrows(ClusterJob.Failure.class,
                    () -> ClusterJob.run(members.getFirst().instance(), spec, listed));
            assertTrue(f.getMessage().startsWith("the inputs differ between members: " + addresses.getFirst())
                    && f.getMessage().contains(fourth), f.getMessage());
        }
        awaitThreeMembers();
        assertFalse(Files.exists(dir.resolve("out.npy.partial")));
    }

    @Test
    void whileAnUnlistedMemberIsInTheClusterNoTaskRuns() throws Exception {
        int port = Ports.free(1)[0];
        List<String> list = new ArrayList<>(listed);
        list.add("127.0.0.1:" + port);
        JobSpec spec = new JobSpec("q.npy", "k.npy", "v.npy", "out.npy", JobFilesTest.CONFIG, true, 1, 1 << 20);
        try (LongnetMember rogue = LongnetMember.start(new ClusterSettings("longnet-test", "127.0.0.1", port, list, false),
                data, null)) {
            assertEquals(4, rogue.clusterSize());
            ClusterJob.Failure f = assertThrows(ClusterJob.Failure.class,
                    () -> ClusterJob.run(members.getFirst().instance(), spec, addresses));
            assertTrue(f.getMessage().contains("member 127.0.0.1:" + port + " is in the cluster but not in the member list"),
                    f.getMessage());
        }
        awaitThreeMembers();
    }

    /** Waits until every member has seen a fourth member leave (a graceful leave reaches the others a moment later). */
    private static void awaitThreeMembers() throws InterruptedException {
        for (int i = 0; i < 200 && members.stream().anyMatch(m -> m.clusterSize() != 3); i++) Thread.sleep(50);
        for (LongnetMember m : members) assertEquals(3, m.clusterSize());
    }

    /** Issue 21, defect 17: a listed member missing from the cluster reached is said, not silently skipped. */
    @Test
    void aListedMemberMissingFromTheClusterIsRefused() throws Exception {
        AttentionConfig config = AttentionConfig.builder().levels(new long[]{16}, new int[]{1}).heads(2).headDim(4).build();
        Path dir = Files.createDirectories(data.resolve("missing"));
        Path[] qkv = Tensors.inputs(dir, new Random(3), 64, 2, 4, DType.F32);
        JobSpec spec = JobSpec.of(data.relativize(qkv[0]), data.relativize(qkv[1]), data.relativize(qkv[2]),
                Path.of("missing/out.npy"), config, 1, 1 << 20);
        ClusterJob.Failure f = assertThrows(ClusterJob.Failure.class,
                () -> ClusterJob.run(members.getFirst().instance(), spec, listed));
        assertTrue(f.getMessage().contains(listed.getLast()) && f.getMessage().contains("not in the cluster"),
                f.getMessage());
        assertFalse(Files.exists(dir.resolve("out.npy")));
    }

    @Test
    void pathsOutsideTheDataDirectoryAreRefused() throws Exception {
        JobSpec escape = new JobSpec("../q.npy", "k.npy", "v.npy", "out.npy", JobFilesTest.CONFIG, true, 1, 1 << 20);
        ClusterJob.Failure f = assertThrows(ClusterJob.Failure.class,
                () -> ClusterJob.run(members.getFirst().instance(), escape, addresses));
        assertTrue(f.getMessage().contains("outside this member's data directory"), f.getMessage());
        assertFalse(f.getMessage().contains("\n"));
    }
}
