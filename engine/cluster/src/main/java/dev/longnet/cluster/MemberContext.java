package dev.longnet.cluster;

import com.hazelcast.core.HazelcastInstance;
import dev.longnet.engine.AttentionKernel;
import dev.longnet.engine.VectorAttentionKernel;
import java.nio.file.Path;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.locks.ReentrantLock;

/**
 * What a member's tasks share: its data directory (every path a job names resolves under it), its kernel, and
 * one lock per block being computed, so that a re-run waits for a cut run's block still finishing on this member.
 * Held in the Hazelcast instance's user context.
 */
public final class MemberContext {
    static final String KEY = "longnet";

    private final Path dataDir;
    private final AttentionKernel kernel = new VectorAttentionKernel();
    private final Map<String, ReentrantLock> locks = new ConcurrentHashMap<>();

    public MemberContext(Path dataDir) { this.dataDir = dataDir.toAbsolutePath().normalize(); }

    static MemberContext of(HazelcastInstance instance) {
        Object context = instance.getUserContext().get(KEY);
        if (!(context instanceof MemberContext m)) throw new IllegalStateException("not a longnet member");
        return m;
    }

    public Path dataDir() { return dataDir; }

    AttentionKernel kernel() { return kernel; }

    /** A job's path under the data directory; a path that leads outside it is refused. */
    Path resolve(String path) {
        Path p = dataDir.resolve(path).toAbsolutePath().normalize();
        if (!p.startsWith(dataDir)) {
            throw new IllegalArgumentException(path + " is outside this member's data directory " + dataDir);
        }
        return p;
    }

    ReentrantLock lock(Path out, int block) {
        return locks.computeIfAbsent(out + "#" + block, k -> new ReentrantLock());
    }
}
