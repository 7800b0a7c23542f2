package dev.longnet.cluster;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** A block's journal is CRC'd: damage never reads as progress (issue 21, defect 18). */
class BlockJournalTest {
    @TempDir
    Path tmp;

    @Test
    void aDamagedJournalNeverClaimsMoreThanWasDone() throws Exception {
        Path rows = Files.write(tmp.resolve("rows"), new byte[]{1, 2, 3, 4, 5, 6, 7, 8});
        BlockJournal.Region[] regions = {new BlockJournal.Region(rows, 0, 8)};
        BlockJournal journal = BlockJournal.open(tmp, 0);
        journal.start();
        journal.done(0);
        journal = BlockJournal.open(tmp, 0);
        journal.save(regions);
        journal.begin(1);
        journal = BlockJournal.open(tmp, 0);
        assertEquals(0, journal.lastDone());
        assertTrue(journal.mustRestore());
        Path file = tmp.resolve("block-0.journal");
        byte[] good = Files.readAllBytes(file);
        for (int i = 0; i < good.length; i++) {
            if (good[i] == 0) continue;
            byte[] bad = good.clone();
            bad[i] ^= 0x04;
            Files.write(file, bad);
            try {
                BlockJournal j = BlockJournal.open(tmp, 0);
                assertTrue(j.lastDone() <= 0, "byte " + i + ": claims stage " + j.lastDone() + " done");
            } catch (IllegalStateException | java.io.IOException refused) {
                // refused, naming the journal: fine
            }
        }
        Files.write(file, good);
    }

    @Test
    void aDamagedBeforeImageIsRefusedNotRestored() throws Exception {
        Path rows = Files.write(tmp.resolve("rows"), new byte[]{1, 2, 3, 4, 5, 6, 7, 8});
        BlockJournal.Region[] regions = {new BlockJournal.Region(rows, 0, 8)};
        BlockJournal journal = BlockJournal.open(tmp, 0);
        journal.start();
        journal.done(0);
        journal.save(regions);
        journal.begin(1);
        Files.write(rows, new byte[]{9, 9, 9, 9, 9, 9, 9, 9});          // stage 1 wrote, then the member died
        byte[] undo = Files.readAllBytes(tmp.resolve("block-0.undo"));
        undo[3] ^= 1;
        Files.write(tmp.resolve("block-0.undo"), undo);
        BlockJournal reopened = BlockJournal.open(tmp, 0);
        assertThrows(IllegalStateException.class, () -> reopened.restore(regions));
        undo[3] ^= 1;
        Files.write(tmp.resolve("block-0.undo"), undo);
        reopened.restore(regions);
        assertArrayEquals(new byte[]{1, 2, 3, 4, 5, 6, 7, 8}, Files.readAllBytes(rows));
    }
}
