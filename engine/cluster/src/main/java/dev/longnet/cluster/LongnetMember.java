package dev.longnet.cluster;

import com.hazelcast.cluster.MembershipEvent;
import com.hazelcast.cluster.MembershipListener;
import com.hazelcast.core.Hazelcast;
import com.hazelcast.core.HazelcastInstance;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;

/** An embedded member: a Hazelcast member and an engine in one JVM, serving jobs on files under its data directory. */
public final class LongnetMember implements AutoCloseable {
    private final HazelcastInstance instance;
    private final ClusterSettings settings;

    private LongnetMember(HazelcastInstance instance, ClusterSettings settings) {
        this.instance = instance;
        this.settings = settings;
    }

    /**
     * Starts a member and joins (or forms) the cluster; returns once joined. A member that joins but is not in the
     * given member list is reported on {@code log}; Community Hazelcast cannot refuse it, so this member refuses all
     * tasks while it is there (keep the network private all the same).
     */
    public static LongnetMember start(ClusterSettings settings, Path dataDir, PrintStream log) {
        if (!Files.isDirectory(dataDir)) throw new IllegalArgumentException(dataDir + ": the data directory does not exist");
        HazelcastInstance instance = Hazelcast.newHazelcastInstance(
                HazelcastSetup.member(settings, new MemberContext(dataDir, settings.members())));
        instance.getCluster().addMembershipListener(new MembershipListener() {
            @Override
            public void memberAdded(MembershipEvent event) {
                String address = Members.address(event.getMember());
                if (log != null && !settings.members().contains(address)) {
                    log.println("longnet member: warning: " + address + " joined but is not in the member list");
                }
            }

            @Override
            public void memberRemoved(MembershipEvent event) { }
        });
        return new LongnetMember(instance, settings);
    }

    public HazelcastInstance instance() { return instance; }

    /** The line scripts wait for. */
    public String readyLine() {
        return "longnet member ready: " + Members.address(instance.getCluster().getLocalMember()) + " in cluster '"
                + settings.clusterName() + "' with " + instance.getCluster().getMembers().size() + " member(s)";
    }

    public int clusterSize() { return instance.getCluster().getMembers().size(); }

    /** Leaves the cluster gracefully. */
    @Override
    public void close() {
        if (instance.getLifecycleService().isRunning()) instance.shutdown();
    }
}
