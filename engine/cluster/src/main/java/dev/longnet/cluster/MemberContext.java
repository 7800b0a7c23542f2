package dev.longnet.cluster;

import com.hazelcast.core.HazelcastInstance;
import dev.longnet.engine.AttentionKernel;
import com.hazelcast.cluster.Member;
import java.nio.file.Path;
import java.util.Collection;
import java.util.Set;
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
    private final Set<String> listed;
    private final AttentionKernel kernel = dev.longnet.engine.AttentionKernels.cpu();
    private final Map<String, ReentrantLock> locks = new ConcurrentHashMap<>();

    /** @param listed the member addresses this member was told to join ("host:port") */
    public MemberContext(Path dataDir, Collection<String> listed) {
        this.dataDir = dataDir.toAbsolutePath().normalize();
        this.listed = Set.copyOf(listed);
    }

    static MemberContext of(HazelcastInstance instance) {
        Object context = instance.getUserContext().get(KEY);
        if (!(context instanceof MemberContext m)) throw new IllegalStateException("not a longnet member");
        return m;
    }

    public Path dataDir() { return dataDir; }

    /**
     * Refuses to work while the cluster holds a member outside this member's list: Community Hazelcast admits any
     * member that knows the cluster name, so an unlisted one gets no service (no task runs, no file is read).
     */
    void requireListedMembers(HazelcastInstance instance) {
        for (Member m : instance.getCluster().getMembers()) {
            String address = Members.address(m);
            if (!listed.contains(address)) {
                throw new IllegalStateException("member " + address + " is in the cluster but not in the member list "
                        + "of " + Members.address(instance.getCluster().getLocalMember()) + ": refusing jobs until it leaves");
            }
        }
    }

    AttentionKernel kernel() { return kernel; }

    /**
     * A job's path under the data directory; a path that leads outside it is refused, by its name or through a
     * link (the real path of what exists of it must lie inside the data directory's real path).
     */
    Path resolve(String path) {
        Path p = dataDir.resolve(path).toAbsolutePath().normalize();
        if (!p.startsWith(dataDir)) {
            throw new IllegalArgumentException(path + " is outside this member's data directory " + dataDir);
        }
        try {
            if (!dev.longnet.engine.job.Job.real(p).startsWith(dev.longnet.engine.job.Job.real(dataDir))) {
                throw new IllegalArgumentException(path + " is outside this member's data directory " + dataDir
                        + " (through a link)");
            }
        } catch (java.io.IOException e) {
            throw new IllegalArgumentException(path + ": cannot resolve it under " + dataDir + " (" + e.getMessage() + ")");
        }
        return p;
    }

    ReentrantLock lock(Path out, int block) {
        return locks.computeIfAbsent(out + "#" + block, k -> new ReentrantLock());
    }
}
