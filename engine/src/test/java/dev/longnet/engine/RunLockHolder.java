package dev.longnet.engine;

import java.nio.file.Path;

/** A second process for {@link HostileUseTest}: takes the run lock of args[0], says "locked", holds it until stdin ends. */
public final class RunLockHolder {
    private RunLockHolder() { }

    public static void main(String[] args) throws Exception {
        try (dev.longnet.engine.job.JobLock lock = RunFiles.lock(Path.of(args[0]))) {
            System.out.println("locked");
            System.out.flush();
            while (System.in.read() >= 0) {
                // hold the lock until the parent closes our stdin
            }
        }
    }
}
