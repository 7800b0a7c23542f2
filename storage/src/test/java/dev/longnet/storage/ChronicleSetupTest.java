package dev.longnet.storage;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.List;
import org.junit.jupiter.api.Test;

/** The check of the JDK packages chronicle-bytes needs open, before its first use. */
class ChronicleSetupTest {
    @Test
    void theTestJvmOpensWhatChronicleNeeds() {
        assertEquals(List.of(), ChronicleSetup.missingFlags(net.openhft.chronicle.core.OS.class.getModule()));
        ChronicleSetup.requireAccess();
    }

    @Test
    void aModuleTheFlagsDoNotOpenToIsToldTheFlagsItsNameNeeds() {
        Module sql = ModuleLayer.boot().findModule("java.sql").orElseThrow();
        assertEquals(List.of("--add-opens=java.base/java.lang.reflect=java.sql", "--add-opens=java.base/sun.nio.ch=java.sql"),
                ChronicleSetup.missingFlags(sql));
    }
}
