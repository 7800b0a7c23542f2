package dev.longnet.cluster;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.longnet.storage.DType;
import dev.longnet.storage.NpyFile;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** A member never overwrites an input, and never leaves its data directory (issue 21: defects 1 and 7). */
class JobFilesTest {
    @TempDir
    Path tmp;

    /** One level of 8 rows, dilation 1, not causal, torchscale's offsets. */
    static final String CONFIG = dev.longnet.engine.AttentionConfig.builder().levels(new long[]{8}, new int[]{1}).heads(1).headDim(64).build()
            .toText();
    static final JobSpec SPEC = new JobSpec("q.npy", "k.npy", "v.npy", "out.npy", CONFIG, true, 1, 1 << 20);

    private static void tensor(Path target, boolean commit) throws Exception {
        NpyFile f = NpyFile.create(target, DType.F32, 16, 2, 4);
        if (commit) f.commit();
        else f.close();
    }

    @Test
    void anInputThatIsTheOutputsPartialOrInItsRunDirectoryIsRefused() throws Exception {
        tensor(tmp.resolve("k.npy"), true);
        tensor(tmp.resolve("v.npy"), true);
        Path out = tmp.resolve("col.npy");
        tensor(out, false);                                          // col.npy.partial: q
        Path q = tmp.resolve("col.npy.partial");
        long before = Files.getLastModifiedTime(q).toMillis();
        Files.setLastModifiedTime(q, java.nio.file.attribute.FileTime.fromMillis(before - 10_000));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> JobFiles.prepare(q, tmp.resolve("k.npy"), tmp.resolve("v.npy"), out, SPEC, 1));
        assertTrue(e.getMessage().contains("overwrite"), e.getMessage());
        assertEquals(before - 10_000, Files.getLastModifiedTime(q).toMillis(), "q untouched");

        Path x = tmp.resolve("x.npy");
        Files.createDirectories(tmp.resolve("x.npy.cluster"));
        Path inside = tmp.resolve("x.npy.cluster/lse.npy");
        tensor(inside, true);
        assertThrows(IllegalArgumentException.class,
                () -> JobFiles.prepare(inside, tmp.resolve("k.npy"), tmp.resolve("v.npy"), x, SPEC, 1));
    }

    @Test
    void aLinkInsideTheDataDirectoryLeadingOutsideIsRefused() throws Exception {
        Path data = Files.createDirectories(tmp.resolve("data"));
        Path outside = Files.createDirectories(tmp.resolve("outside"));
        Files.createSymbolicLink(data.resolve("link"), outside);
        MemberContext context = new MemberContext(data, List.of());
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> context.resolve("link/q.npy"));
        assertTrue(e.getMessage().contains("outside this member's data directory"), e.getMessage());
        assertEquals("q.npy", context.resolve("q.npy").getFileName().toString());   // inside: accepted
    }
}
