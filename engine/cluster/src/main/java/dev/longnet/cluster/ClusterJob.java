package dev.longnet.cluster;

import com.hazelcast.cluster.Member;
import com.hazelcast.core.HazelcastInstance;
import com.hazelcast.core.IExecutorService;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * Submits a job to the members of a cluster, from a client or a member: checks that every member sees the same
 * inputs, prepares the output on the first member, assigns block b to member b mod P (the block count is fixed when
 * the job first starts, so a re-run with fewer members reassigns the lost blocks), waits (telling a listener the
 * work done, as the members report it), and commits.
 */
public final class ClusterJob {
    private ClusterJob() { }

    /**
     * A finished job.
     *
     * @param members  the members that computed it, in block-assignment order
     * @param owners   the member address of each block
     * @param traffic  per block, the slice bytes it received per level and sending block
     * @param seconds  this run's time, from the call to the committed output
     * @param tokensResumed  the work an earlier, interrupted run had finished, in tokens ({@link JobProgress})
     */
    public record Result(String output, BlockPlan plan, List<String> members, String[] owners, Traffic[] traffic,
                         int stagesSkipped, double seconds, long tokensResumed) {
        /** This run's speed: the tokens' worth of work it computed (all N unless it resumed), per second. */
        public double tokensPerSecond() { return (plan.n() - tokensResumed) / seconds; }

        /** Slice bytes that crossed the network into each member, per level: [level][member]. */
        public long[][] received() { return flows(true); }

        /** Slice bytes that crossed the network out of each member, per level: [level][member]. */
        public long[][] sent() { return flows(false); }

        private long[][] flows(boolean in) {
            int levels = traffic[0].bytes().length;
            long[][] out = new long[levels][members.size()];
            for (Traffic t : traffic) {
                String receiver = owners[t.block()];
                for (int l = 0; l < levels; l++) {
                    for (int from = 0; from < owners.length; from++) {
                        if (owners[from].equals(receiver)) continue;             // within one member: no network
                        out[l][members.indexOf(in ? receiver : owners[from])] += t.bytes()[l][from];
                    }
                }
            }
            return out;
        }
    }

    /** A job that failed, with one line that names the member and says what to do. */
    public static final class Failure extends RuntimeException {
        public Failure(String message) { super(message); }
    }

    /**
     * Runs {@code spec} on the listed members of the cluster {@code hz} belongs to (all data members when
     * {@code listed} is empty), in the list's order.
     */
    public static Result run(HazelcastInstance hz, JobSpec spec, List<String> listed) {
        return run(hz, spec, listed, JobProgress.Listener.NONE);
    }

    /**
     * As {@link #run(HazelcastInstance, JobSpec, List)}, telling {@code listener} the work done as the members
     * report it (on a map in the cluster named after the output, read a few times a second while the blocks run).
     */
    public static Result run(HazelcastInstance hz, JobSpec spec, List<String> listed, JobProgress.Listener listener) {
        long start = System.nanoTime();
        List<Member> members = members(hz, listed);
        List<String> addresses = members.stream().map(Members::address).toList();
        IExecutorService executor = hz.getExecutorService(Tasks.JOBS);
        try (ProgressBoard board = ProgressBoard.open(hz, spec, listener)) {
            return run(hz, spec, members, addresses, executor, board, start);
        }
    }

    private static Result run(HazelcastInstance hz, JobSpec spec, List<Member> members, List<String> addresses,
                              IExecutorService executor, ProgressBoard board, long start) {
        Map<String, Reply> inputs = all(hz, executor, members, m -> new Tasks.Inspect(spec), spec);
        String first = inputs.get(addresses.getFirst()).text();
        for (var e : inputs.entrySet()) {
            if (!e.getValue().text().equals(first)) {
                throw new Failure("the inputs differ between members: " + addresses.getFirst() + " sees " + first
                        + " but " + e.getKey() + " sees " + e.getValue().text());
            }
        }
        BlockPlan plan = one(hz, executor, members.getFirst(), new Tasks.Prepare(spec, members.size()), spec).plan();
        board.start(plan);

        String[] owners = new String[plan.blocks()];
        for (int b = 0; b < plan.blocks(); b++) owners[b] = addresses.get(b % addresses.size());
        Map<String, Reply> replies = all(hz, executor, members, m -> {
            int index = members.indexOf(m);
            List<Integer> mine = new ArrayList<>();
            for (int b = index; b < plan.blocks(); b += members.size()) mine.add(b);
            return new Tasks.Block(spec, plan, owners, mine.stream().mapToInt(Integer::intValue).toArray());
        }, spec, board::poll);
        board.finish();
        Traffic[] traffic = new Traffic[plan.blocks()];
        int skipped = 0;
        for (Reply r : replies.values()) {
            for (Traffic t : r.traffic()) traffic[t.block()] = t;
            skipped += r.stagesSkipped();
        }
        String output = one(hz, executor, members.getFirst(), new Tasks.Commit(spec), spec).text();
        return new Result(output, plan, addresses, owners, traffic, skipped, (System.nanoTime() - start) / 1e9,
                board.resumed());
    }

    private static List<Member> members(HazelcastInstance hz, List<String> listed) {
        List<Member> all = new ArrayList<>();
        for (Member m : hz.getCluster().getMembers()) if (!m.isLiteMember()) all.add(m);
        if (listed == null || listed.isEmpty()) {
            all.sort(java.util.Comparator.comparing(Members::address));
            if (all.isEmpty()) throw new Failure("the cluster has no data member");
            return all;
        }
        List<Member> chosen = new ArrayList<>();
        List<String> missing = new ArrayList<>();
        for (String address : listed) {
            Member m = Members.find(all, address);
            if (m != null) chosen.add(m);
            else missing.add(address);
        }
        if (chosen.isEmpty()) throw new Failure("none of the members " + listed + " is in the cluster");
        if (!missing.isEmpty()) {
            // Running on fewer members than listed without a word would hide a member that failed to join (or
            // formed a cluster of its own): say so, and let the person list only the members to use.
            throw new Failure("member(s) " + String.join(", ", missing) + " listed for the job are not in the cluster"
                    + " reached (it holds " + chosen.stream().map(Members::address).toList() + "): start them, wait"
                    + " until they have joined, or list only the members to use");
        }
        return chosen;
    }

    private static Reply one(HazelcastInstance hz, IExecutorService executor, Member member, Tasks.Task task, JobSpec spec) {
        return all(hz, executor, List.of(member), m -> task, spec).get(Members.address(member));
    }

    private static Map<String, Reply> all(HazelcastInstance hz, IExecutorService executor, List<Member> members,
                                          java.util.function.Function<Member, Tasks.Task> tasks, JobSpec spec) {
        return all(hz, executor, members, tasks, spec, () -> { });
    }

    /**
     * Sends each member its task and waits for every reply. A member that leaves fails the job at once with a line
     * naming it (even while other members are still working); an error a member reports is named the same way.
     * {@code waiting} runs between the waits for replies.
     */
    private static Map<String, Reply> all(HazelcastInstance hz, IExecutorService executor, List<Member> members,
                                          java.util.function.Function<Member, Tasks.Task> tasks, JobSpec spec,
                                          Runnable waiting) {
        Map<String, Future<Reply>> pending = new LinkedHashMap<>();
        for (Member m : members) pending.put(Members.address(m), executor.submitToMember(tasks.apply(m), m));
        Map<String, Reply> replies = new LinkedHashMap<>();
        while (replies.size() < pending.size()) {
            for (var e : pending.entrySet()) {
                if (replies.containsKey(e.getKey())) continue;
                Reply reply;
                try {
                    reply = e.getValue().get(100, TimeUnit.MILLISECONDS);
                } catch (TimeoutException timeout) {
                    requirePresent(hz, members, spec);
                    waiting.run();
                    continue;
                } catch (ExecutionException ex) {
                    requirePresent(hz, members, spec);
                    throw new Failure("member " + e.getKey() + " " + Members.whatHappened(ex.getCause())
                            + resumeHint(spec));
                } catch (InterruptedException ex) {
                    Thread.currentThread().interrupt();
                    throw new Failure("interrupted while waiting for member " + e.getKey());
                }
                if (reply.error() != null) {
                    requirePresent(hz, members, spec);
                    throw new Failure("member " + e.getKey() + ": " + reply.error());
                }
                replies.put(e.getKey(), reply);
            }
        }
        return replies;
    }

    private static void requirePresent(HazelcastInstance hz, List<Member> members, JobSpec spec) {
        for (Member m : members) {
            if (!hz.getCluster().getMembers().contains(m)) {
                throw new Failure("member " + Members.address(m) + " left the cluster during the job" + resumeHint(spec));
            }
        }
    }

    private static String resumeHint(JobSpec spec) {
        return "; finished blocks and stages are journaled in " + spec.out() + ".cluster under the members' data"
                + " directory: run the same command again to resume (lost blocks go to the members left)";
    }
}
