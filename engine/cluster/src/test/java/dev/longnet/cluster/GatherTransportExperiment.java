package dev.longnet.cluster;

import com.hazelcast.config.MapConfig;
import com.hazelcast.core.HazelcastInstance;
import com.hazelcast.instance.impl.HazelcastInstanceProxy;
import com.hazelcast.map.IMap;
import dev.longnet.engine.AttentionConfig;
import dev.longnet.storage.DType;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;

/**
 * Not a test (no assertions on speed): measures the bytes that cross the members' connections to move one slice
 * from its owner to another member, pulled with submitToMember versus put into and got from an IMap with backup
 * count 0. Run by hand: mvn -pl engine/cluster test -Dtest=GatherTransportExperiment. Figures in DISTRIBUTED.md.
 */
class GatherTransportExperiment {
    @Test
    void measure() throws Exception {
        Path data = Files.createTempDirectory("gather");
        AttentionConfig config = AttentionConfig.builder().levels(new long[]{16, 4096}, new int[]{1, 4}).heads(4)
                .headDim(16).build();
        Path[] qkv = Tensors.inputs(data, new Random(1), 4096, 4, 16, DType.F32);
        JobSpec spec = JobSpec.of(data.relativize(qkv[0]), data.relativize(qkv[1]), data.relativize(qkv[2]),
                Path.of("out.npy"), config, 1, 1 << 20);
        int[] ports = Ports.free(4);
        List<String> addresses = new ArrayList<>();
        for (int p : ports) addresses.add("127.0.0.1:" + p);
        List<HazelcastInstance> members = new ArrayList<>();
        try {
            for (int p : ports) {
                var c = HazelcastSetup.member(new ClusterSettings("gather", "127.0.0.1", p, addresses, false),
                        new MemberContext(data, addresses));
                c.addMapConfig(new MapConfig("slices").setBackupCount(0).setAsyncBackupCount(0));
                members.add(com.hazelcast.core.Hazelcast.newHazelcastInstance(c));
            }
            HazelcastInstance owner = members.get(0);
            HazelcastInstance reader = members.get(1);
            BlockPlan plan = new BlockPlan(4096, 1024, 4);
            int rounds = 64;
            for (int warm = 0; warm < 2; warm++) {
                long before = sent(members);
                long payload = 0;
                for (int i = 0; i < rounds; i++) {
                    Reply r = reader.getExecutorService(Tasks.SLICES)
                            .submitToMember(new Tasks.Slice(spec, plan, 1, 0, 0), owner.getCluster().getLocalMember()).get();
                    payload += r.data().length;
                }
                Thread.sleep(2500);
                long pull = sent(members) - before;
                IMap<String, byte[]> map = owner.getMap("slices");
                IMap<String, byte[]> readerMap = reader.getMap("slices");
                byte[] slice = DilatedSlice.extract(config, config.levels().get(1), 0, 0, 1024,
                        dev.longnet.storage.NpyFile.open(qkv[0]), dev.longnet.storage.NpyFile.open(qkv[1]),
                        dev.longnet.storage.NpyFile.open(qkv[2]));
                before = sent(members);
                for (int i = 0; i < rounds; i++) {
                    map.set("s" + warm + "-" + i, slice);
                    readerMap.get("s" + warm + "-" + i);
                }
                Thread.sleep(2500);
                long viaMap = sent(members) - before;
                System.out.printf("round %d: payload %d B per slice; pull %d B per slice on the wire; IMap %d B per slice%n",
                        warm, payload / rounds, pull / rounds, viaMap / rounds);
            }
        } finally {
            members.forEach(HazelcastInstance::shutdown);
        }
    }

    private static long sent(List<HazelcastInstance> members) {
        long total = 0;
        for (HazelcastInstance m : members) {
            var server = ((HazelcastInstanceProxy) m).getOriginal().node.getServer();
            for (var c : server.getConnectionManager(com.hazelcast.instance.EndpointQualifier.MEMBER).getConnections()) {
                total += ((com.hazelcast.internal.server.tcp.TcpServerConnection) c).getChannel().bytesWritten();
            }
        }
        return total;
    }
}
