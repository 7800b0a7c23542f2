package dev.longnet.cluster;

import com.hazelcast.core.HazelcastInstance;
import com.hazelcast.map.IMap;
import java.util.HashMap;
import java.util.HashSet;
import java.util.Map;
import java.util.Set;

/**
 * A job's progress as the cluster holds it: a map named after the job's output, block to the tokens' worth of work
 * the block has done ({@link BlockWork}), counting stages an earlier run finished. The member that prepares the job
 * sets every block's journaled work, the members set their blocks' work as they compute, and the submitter clears
 * the map before the job, reads it while it waits and removes it after. The values are for display: a write that
 * fails is dropped, and the submitter never shows less than it showed before.
 */
final class ProgressBoard implements AutoCloseable {
    /** Members write a block's value at most this often; the submitter reads the board at most this often. */
    private static final long INTERVAL_NANOS = 250_000_000L;

    private final IMap<Integer, Long> map;
    private final JobProgress.Listener listener;
    private BlockPlan plan;
    private long[] seen;
    private long resumed;
    private long told = -1;
    private long lastRead;

    private ProgressBoard(IMap<Integer, Long> map, JobProgress.Listener listener) {
        this.map = map;
        this.listener = listener;
    }

    private static IMap<Integer, Long> map(HazelcastInstance hz, JobSpec spec) {
        return hz.getMap("longnet-progress:" + spec.out());
    }

    /** The submitter's view of the job's board, cleared of what an earlier run of the job left on it. */
    static ProgressBoard open(HazelcastInstance hz, JobSpec spec, JobProgress.Listener listener) {
        IMap<Integer, Long> map = null;
        try {
            map = map(hz, spec);
            map.clear();
        } catch (RuntimeException e) {
            map = null;                                            // no board: the job runs without progress
        }
        return new ProgressBoard(map, listener);
    }

    /** The plan is known and the journaled work is on the board: reads it as the work resumed, and says so. */
    void start(BlockPlan plan) {
        this.plan = plan;
        seen = new long[plan.blocks()];
        read();
        for (long s : seen) resumed += s;
        tell();
    }

    /** Reads the board (at most every 250 ms) and tells the listener when the work done grew. */
    void poll() {
        if (plan == null || listener == JobProgress.Listener.NONE || System.nanoTime() - lastRead < INTERVAL_NANOS) return;
        read();
        tell();
    }

    /** Every block replied: all the work is done. */
    void finish() {
        for (int b = 0; b < plan.blocks(); b++) seen[b] = plan.end(b) - plan.first(b);
        tell();
    }

    /** The work an earlier run had done, in tokens, as read when the job's blocks were about to start. */
    long resumed() { return resumed; }

    private void read() {
        lastRead = System.nanoTime();
        if (map == null) return;
        Set<Integer> blocks = new HashSet<>();
        for (int b = 0; b < plan.blocks(); b++) blocks.add(b);
        Map<Integer, Long> values;
        try {
            values = map.getAll(blocks);
        } catch (RuntimeException e) {
            return;                                                // shown at the next read
        }
        for (var e : values.entrySet()) {
            int b = e.getKey();
            if (b < 0 || b >= seen.length || e.getValue() == null) continue;
            seen[b] = Math.max(seen[b], Math.min(e.getValue(), plan.end(b) - plan.first(b)));
        }
    }

    private void tell() {
        long done = 0;
        for (long s : seen) done += s;
        if (done <= told) return;
        told = done;
        listener.onProgress(new JobProgress(done, resumed, plan.n()));
    }

    /** Removes the board from the cluster. */
    @Override
    public void close() {
        if (map == null) return;
        try {
            map.destroy();
        } catch (RuntimeException e) {
            // the cluster is gone or going: nothing to remove
        }
    }

    /**
     * A member's writer to the job's board: sets a block's work at most every 250 ms, and always its first value
     * and its last (the block complete). Safe to call from any thread.
     */
    static final class Publisher implements BlockRunner.Listener {
        private final IMap<Integer, Long> map;
        private final BlockWork work;
        private final Map<Integer, Long> written = new HashMap<>();

        Publisher(HazelcastInstance hz, JobSpec spec, BlockWork work) {
            IMap<Integer, Long> m;
            try {
                m = map(hz, spec);
            } catch (RuntimeException e) {
                m = null;
            }
            this.map = m;
            this.work = work;
        }

        @Override
        public synchronized void onProgress(int block, long tokensDone) {
            long now = System.nanoTime();
            Long last = written.get(block);
            if (map == null || last != null && now - last < INTERVAL_NANOS && tokensDone < work.total(block)) return;
            written.put(block, now);
            try {
                map.set(block, tokensDone);
            } catch (RuntimeException e) {
                // a lost write only delays what the submitter shows
            }
        }
    }
}
