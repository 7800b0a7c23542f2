package dev.longnet.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** attend leaves nothing behind when its working files cannot even be named (issue 21, defect 15). */
class AttendJobTest {
    @TempDir
    Path tmp;

    @Test
    void aFileNameTooLongForTheWorkingFilesLeavesNothing() throws Exception {
        Cli.Run gen = Cli.run("gen", "--n", "64", "--heads", "2", "--head-dim", "4", "--seed", "1", "--out",
                tmp.toString(), "--quiet");
        assertEquals(0, gen.code(), gen.toString());
        Path out = tmp.resolve("a".repeat(245) + ".npy");              // OUT.run fits in 255 bytes, OUT.partial not
        Cli.Run run = Cli.run("attend", "--q", tmp.resolve("q.npy").toString(), "--k", tmp.resolve("k.npy").toString(),
                "--v", tmp.resolve("v.npy").toString(), "--out", out.toString(), "--segments", "16", "--dilations", "1",
                "--quiet");
        assertEquals(1, run.code(), run.toString());
        assertTrue(run.oneErrorLine(), run.err());
        try (Stream<Path> files = Files.list(tmp)) {
            assertEquals(3, files.count(), "only q, k and v are left");
        }
    }
}
