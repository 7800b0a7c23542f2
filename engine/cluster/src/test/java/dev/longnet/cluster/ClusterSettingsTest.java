package dev.longnet.cluster;

import java.util.List;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class ClusterSettingsTest {
    @Test
    void everyInterfaceIsRefusedUnlessAskedFor() {
        for (String any : new String[]{"0.0.0.0", "::", "*"}) {
            var e = assertThrows(IllegalArgumentException.class,
                    () -> new ClusterSettings("c", any, 5701, List.of(), false));
            assertTrue(e.getMessage().contains("refusing to bind"), e.getMessage());
        }
        assertEquals("0.0.0.0:5701", new ClusterSettings("c", "0.0.0.0", 5701, List.of(), true).self());
        assertEquals("127.0.0.1:5701", new ClusterSettings("c", null, 5701, List.of(), false).self());
    }

    @Test
    void addressesTakeTheDefaultPortAndRefuseRanges() {
        assertEquals(List.of("h1:5701", "10.0.0.2:5702"), ClusterSettings.addresses("h1, 10.0.0.2:5702,"));
        var e = assertThrows(IllegalArgumentException.class, () -> ClusterSettings.addresses("h:5701-5720"));
        assertTrue(e.getMessage().contains("not a port range"), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> ClusterSettings.addresses("h:x"));
        assertThrows(IllegalArgumentException.class, () -> ClusterSettings.addresses(" , "));
    }

    @Test
    void blockPlansRoundToTheSmallestSegment() {
        var config = dev.longnet.engine.AttentionConfig.preset("paper").heads(1).headDim(1).build();
        assertEquals(new BlockPlan(100_000, 34_816, 3), BlockPlan.of(config, 100_000, 3));
        assertEquals(new BlockPlan(1000, 1000, 1), BlockPlan.of(config, 1000, 4));     // w clamps to N: one block
        BlockPlan plan = BlockPlan.of(config, 3 * 32768, 6);          // blocks of 16384: w = 32768 spans two
        assertEquals("[false, true]", Stage.of(config, plan).stream().map(Stage::spanning).toList().toString());
    }
}
