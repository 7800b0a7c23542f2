package dev.longnet.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

class SizesTest {
    @Test
    void plainPowersAndSuffixesAreTheSameCount() {
        assertEquals(1048576, Sizes.parse("1048576"));
        assertEquals(1048576, Sizes.parse("2^20"));
        assertEquals(1048576, Sizes.parse("1M"));
        assertEquals(1048576, Sizes.parse("1Mi"));
        assertEquals(1048576, Sizes.parse("1m"));
        assertEquals(2048, Sizes.parse("2k"));
        assertEquals(1L << 30, Sizes.parse("1G"));
        assertEquals(1L << 40, Sizes.parse("1T"));
        assertEquals(1_000_000, Sizes.parse("1_000_000"));
        assertEquals(1, Sizes.parse("2^0"));
        assertEquals(0, Sizes.parse("0"));
    }

    @Test
    void nonsenseNegativeAndOverflowAreRefusedWithTheText() {
        for (String bad : new String[]{"", "abc", "1X", "-5", "2^-1", "2^", "M", "2^64", "9999999999T"}) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Sizes.parse(bad), bad);
            assertTrue(e.getMessage().contains("'" + bad + "'"), e.getMessage());
        }
        assertThrows(IllegalArgumentException.class, () -> Sizes.parseInt("4G"));
    }

    @Test
    void bytesAreShownInBinaryUnits() {
        assertEquals("512 B", dev.longnet.storage.Disk.human(512));
        assertEquals("1.5 KiB", dev.longnet.storage.Disk.human(1536));
        assertEquals("2.0 GiB", dev.longnet.storage.Disk.human(2L << 30));
        assertEquals("n/a", dev.longnet.storage.Disk.human(-1));
    }
}
