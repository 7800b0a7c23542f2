package dev.longnet.engine.job;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.longnet.storage.AtomicFile;
import dev.longnet.storage.Disk;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The job layer's checks, locks, identity, failures and atomic writes. */
class JobTest {
    @TempDir
    Path tmp;

    @Test
    void inputsCollidingWithWhatTheJobWritesAreRefusedEvenWithForce() throws Exception {
        Path out = tmp.resolve("out.npy");
        for (Path in : new Path[]{out, AtomicFile.partial(out), tmp.resolve("out.npy.cluster/lse.npy.partial"),
                tmp.resolve("out.npy.run/acc.npy.partial"), tmp.resolve("state/x")}) {
            Files.createDirectories(in.getParent());
            Files.writeString(in, "input");
            for (boolean force : new boolean[]{false, true}) {
                IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Job.builder("t")
                        .input(in).output(out).state(tmp.resolve("state")).force(force).start().close(), in.toString());
                assertTrue(e.getMessage().contains(in.toString()), e.getMessage());
            }
            assertEquals("input", Files.readString(in));
            Files.delete(in);
        }
    }

    @Test
    void aSymbolicLinkToTheOutputIsTheOutput() throws Exception {
        Path out = tmp.resolve("out.bin");
        Files.writeString(out, "data");
        Path link = Files.createSymbolicLink(tmp.resolve("link"), out);
        assertThrows(IllegalArgumentException.class, () -> Job.builder("t").input(link).output(out).force(true).start());
        assertEquals("data", Files.readString(out));
    }

    @Test
    void oneRunPerOutputAndTheLockIsGoneAfter() throws Exception {
        Path out = tmp.resolve("o");
        try (Job first = Job.builder("t").output(out).start()) {
            assertThrows(JobConflictException.class, () -> Job.builder("t").output(out).start());
        }
        assertFalse(Files.exists(Job.runDirectory(out)), "lock and its directory removed");
        try (Job again = Job.builder("t").output(out).start()) {
            assertTrue(Files.exists(Job.runDirectory(out).resolve(Job.LOCK)));
        }
    }

    @Test
    void commitMakesTheOutputAppearWhole() throws Exception {
        Path out = tmp.resolve("o");
        try (Job job = Job.builder("t").output(out).start()) {
            Files.writeString(Job.partial(out), "rows");
            assertFalse(Files.exists(out));
            job.commit(out);
        }
        assertEquals("rows", Files.readString(out));
        assertFalse(Files.exists(Job.partial(out)));
    }

    @Test
    void aFullDiskNamesTheFileAndTheWayOn() throws Exception {
        Path out = tmp.resolve("o");
        try (Job job = Job.builder("t").output(out).state(tmp.resolve("s")).resumable(true).start()) {
            IOException e = job.failure(new IOException("No space left on device"), Job.partial(out));
            assertTrue(e.getMessage().contains("disk full while writing " + Job.partial(out))
                    && e.getMessage().contains("run the same command to resume"), e.getMessage());
        }
    }

    @Test
    void identityNamesWhatChanged() throws Exception {
        Path model = tmp.resolve("m");
        Files.writeString(model, "weights one");
        Identity before = Identity.of("x 1").put("dtype", "F32").file("model", model);
        Files.writeString(model, "weights two");
        Identity after = Identity.of("x 1").put("dtype", "F32").file("model", model);
        JobConflictException e = assertThrows(JobConflictException.class,
                () -> after.requireSame(tmp, before.fields("job."), "job."));
        assertTrue(e.getMessage().contains("model (" + model.toAbsolutePath() + ") changed"), e.getMessage());
        before.requireSame(tmp, before.fields("job."), "job.");
        Identity f16 = Identity.of("x 1").put("dtype", "F16").file("model", model);
        e = assertThrows(JobConflictException.class, () -> f16.requireSame(tmp, after.fields("job."), "job."));
        assertTrue(e.getMessage().contains("dtype changed since the run started (was F32, now F16)"), e.getMessage());
    }

    @Test
    void deleteTreeRemovesLinksNotWhatTheyLeadTo() throws Exception {
        Path keep = Files.writeString(tmp.resolve("keep"), "precious");
        Path dir = Files.createDirectories(tmp.resolve("d/e"));
        Files.createSymbolicLink(dir.resolve("link"), keep);
        Files.createSymbolicLink(tmp.resolve("d/dirlink"), tmp);
        Disk.deleteTree(tmp.resolve("d"));
        assertFalse(Files.exists(tmp.resolve("d")));
        assertEquals("precious", Files.readString(keep));
    }

    @Test
    void theMemoryBudgetRefusesWhatDoesNotFit() {
        System.setProperty(MemoryBudget.AVAILABLE_PROPERTY, "1000");
        try {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> MemoryBudget.requireNative(2000, "the state", "map it with --state DIR"));
            assertTrue(e.getMessage().contains("--state DIR"), e.getMessage());
            MemoryBudget.requireNative(999, "the state", null);
        } finally {
            System.clearProperty(MemoryBudget.AVAILABLE_PROPERTY);
        }
    }
}
