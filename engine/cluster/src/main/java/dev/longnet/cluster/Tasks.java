package dev.longnet.cluster;

import com.hazelcast.cluster.Member;
import com.hazelcast.core.HazelcastInstance;
import com.hazelcast.core.HazelcastInstanceAware;
import dev.longnet.engine.AttentionConfig;
import dev.longnet.engine.Tiling;
import dev.longnet.storage.NpyFile;
import java.io.IOException;
import java.io.Serial;
import java.io.Serializable;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.locks.ReentrantLock;

/**
 * The tasks a submitter and the members send to members (the only classes, with {@link JobSpec}, {@link BlockPlan},
 * {@link Traffic} and {@link Reply}, that the deserialization allowlist admits). Each runs on the member it was sent
 * to, resolves the job's paths under that member's data directory, and answers a {@link Reply}, never an exception.
 */
public final class Tasks {
    /** Executor for whole-block tasks: a few long tasks per member. */
    public static final String JOBS = "longnet-jobs";
    /** Executor for slice requests: short, and never queued behind the block tasks that wait for them. */
    public static final String SLICES = "longnet-slices";

    private Tasks() { }

    /** The classes a member or submitter deserializes: the allowlist. */
    static final Class<?>[] ALLOWED = {Inspect.class, Prepare.class, Block.class, Slice.class, Commit.class,
            Task.class, JobSpec.class, BlockPlan.class, Traffic.class, Traffic[].class, Reply.class};
    /**
     * Primitive arrays the classes above hold, and what an error response from Hazelcast carries: its own exception
     * classes (prefix com.hazelcast.) wrapping a JDK exception with its stack trace. Without these a rejected task's
     * error could not be read back and the caller would wait for a timeout.
     */
    static final String[] ALLOWED_OTHERS = {"[B", "[I", "[J", "[[J", "[Ljava.lang.String;",
            "java.lang.Throwable", "java.lang.Exception", "java.lang.RuntimeException", "java.lang.SecurityException",
            "java.lang.IllegalStateException", "java.lang.IllegalArgumentException", "java.lang.StackTraceElement",
            "[Ljava.lang.StackTraceElement;", "java.util.Collections$EmptyList", "java.util.ArrayList",
            "java.util.Collections$UnmodifiableRandomAccessList", "java.util.Collections$UnmodifiableList",
            "java.util.Collections$UnmodifiableCollection"};
    static final String ALLOWED_PREFIX = "com.hazelcast.";

    /** The common part: the member's instance and context, and failures turned into a reply. */
    abstract static class Task implements Callable<Reply>, Serializable, HazelcastInstanceAware {
        @Serial
        private static final long serialVersionUID = 1L;
        private transient HazelcastInstance instance;

        final JobSpec spec;

        Task(JobSpec spec) { this.spec = spec; }

        @Override
        public void setHazelcastInstance(HazelcastInstance instance) { this.instance = instance; }

        @Override
        public Reply call() {
            try {
                MemberContext context = MemberContext.of(instance);
                context.requireListedMembers(instance);
                return run(instance, context);
            } catch (Exception | InternalError | OutOfMemoryError e) {
                return Reply.failed(e);
            }
        }

        abstract Reply run(HazelcastInstance instance, MemberContext context) throws Exception;

        Path q(MemberContext c) { return c.resolve(spec.q()); }
        Path k(MemberContext c) { return c.resolve(spec.k()); }
        Path v(MemberContext c) { return c.resolve(spec.v()); }
        Path out(MemberContext c) { return c.resolve(spec.out()); }
    }

    /** The inputs' dtypes, shapes and fingerprints as this member sees them. */
    static final class Inspect extends Task {
        @Serial
        private static final long serialVersionUID = 1L;

        Inspect(JobSpec spec) { super(spec); }

        @Override
        Reply run(HazelcastInstance instance, MemberContext c) throws IOException {
            JobFiles.shape(q(c), k(c), v(c));
            return Reply.text(JobFiles.inputs(q(c), k(c), v(c)));
        }
    }

    /**
     * Creates (or finds, for a re-run) the partial output, the lse scratch and the plan, and puts each block's
     * journaled work on the job's {@link ProgressBoard}; run on one member.
     */
    static final class Prepare extends Task {
        @Serial
        private static final long serialVersionUID = 1L;
        private final int members;

        Prepare(JobSpec spec, int members) {
            super(spec);
            this.members = members;
        }

        @Override
        Reply run(HazelcastInstance instance, MemberContext c) throws IOException {
            BlockPlan plan = JobFiles.prepare(q(c), k(c), v(c), out(c), spec, members);
            long[] shape = JobFiles.shape(q(c), k(c), v(c));
            BlockWork work = new BlockWork(spec.config((int) shape[1], (int) shape[2]), plan);
            ProgressBoard.Publisher board = new ProgressBoard.Publisher(instance, spec, work);
            Path dir = JobFiles.runDirectory(out(c));
            for (int b = 0; b < plan.blocks(); b++) {
                int stagesDone;
                try {
                    stagesDone = BlockJournal.open(dir, b).lastDone() + 1;
                } catch (IOException | RuntimeException e) {
                    continue;                          // a damaged journal is said by the block's own task
                }
                board.onProgress(b, work.done(b, stagesDone, 0));
            }
            return Reply.plan(plan);
        }
    }

    /** Computes this member's blocks, fetching other blocks' slices from their owners. */
    static final class Block extends Task {
        @Serial
        private static final long serialVersionUID = 1L;
        private final BlockPlan plan;
        private final String[] owners;
        private final int[] blocks;

        Block(JobSpec spec, BlockPlan plan, String[] owners, int[] blocks) {
            super(spec);
            this.plan = plan;
            this.owners = owners.clone();
            this.blocks = blocks.clone();
        }

        @Override
        Reply run(HazelcastInstance instance, MemberContext c) throws Exception {
            String self = Members.address(instance.getCluster().getLocalMember());
            Traffic[] traffic = new Traffic[blocks.length];
            int skipped = 0;
            try (JobFiles files = JobFiles.open(q(c), k(c), v(c), out(c), spec)) {
                FileSlices own = new FileSlices(files, plan);
                SliceSource peers = (level, s, b) -> owners[b].equals(self) ? own.fetch(level, s, b)
                        : fetch(instance, owners[b], new Slice(spec, plan, level, s, b));
                BlockRunner runner = new BlockRunner(files, plan, peers, spec, c.kernel(), Tiling.KEY_BLOCK_ROWS,
                        new ProgressBoard.Publisher(instance, spec, new BlockWork(files.config, plan)));
                for (int i = 0; i < blocks.length; i++) {
                    ReentrantLock lock = c.lock(out(c), blocks[i]);
                    lock.lockInterruptibly();
                    try {
                        BlockRunner.Outcome outcome = runner.run(blocks[i]);
                        traffic[i] = outcome.traffic();
                        skipped += outcome.stagesSkipped();
                    } finally {
                        lock.unlock();
                    }
                }
            }
            return Reply.traffic(traffic, skipped);
        }

        private static byte[] fetch(HazelcastInstance instance, String owner, Slice task) throws IOException {
            Member member = Members.find(instance.getCluster().getMembers(), owner);
            if (member == null) throw new IOException("member " + owner + " left the cluster");
            Reply reply;
            try {
                reply = instance.getExecutorService(SLICES).submitToMember(task, member).get();
            } catch (ExecutionException e) {
                throw new IOException("fetching a slice from member " + owner + " failed: " + Members.describe(e.getCause()), e);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IOException("interrupted while fetching a slice from member " + owner, e);
            }
            if (reply.error() != null) throw new IOException("member " + owner + ": " + reply.error());
            return reply.data();
        }

    }

    /** One block's slice of one segment of a spanning level, read from this member's k and v (and q, if it carries queries). */
    static final class Slice extends Task {
        @Serial
        private static final long serialVersionUID = 1L;
        private final BlockPlan plan;
        private final int level;
        private final long segment;
        private final int block;

        Slice(JobSpec spec, BlockPlan plan, int level, long segment, int block) {
            super(spec);
            this.plan = plan;
            this.level = level;
            this.segment = segment;
            this.block = block;
        }

        @Override
        Reply run(HazelcastInstance instance, MemberContext c) throws IOException {
            try (NpyFile q = NpyFile.open(q(c)); NpyFile k = NpyFile.open(k(c)); NpyFile v = NpyFile.open(v(c))) {
                long[] shape = k.shape();
                if (shape.length != 3 || shape[0] != plan.n()) {
                    throw new IllegalArgumentException(spec.k() + " has shape " + java.util.Arrays.toString(shape)
                            + " on this member, not " + plan.n() + " rows");
                }
                AttentionConfig config = spec.config((int) shape[1], (int) shape[2]);
                return Reply.data(DilatedSlice.extract(config, config.levels().get(level), segment,
                        plan.first(block), plan.end(block), q, k, v));
            }
        }
    }

    /** Renames the complete output to its name and removes the run directory; run on one member. */
    static final class Commit extends Task {
        @Serial
        private static final long serialVersionUID = 1L;

        Commit(JobSpec spec) { super(spec); }

        @Override
        Reply run(HazelcastInstance instance, MemberContext c) throws IOException {
            return Reply.text(JobFiles.commit(out(c)).toString());
        }
    }
}
