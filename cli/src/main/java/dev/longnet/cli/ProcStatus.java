package dev.longnet.cli;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/** The process's resident memory from /proc/self/status (Linux); -1 where that file does not exist. */
public final class ProcStatus {
    private static final Path STATUS = Path.of("/proc/self/status");

    private ProcStatus() { }

    /** Resident memory now (VmRSS), in bytes. */
    public static long rssBytes() { return field("VmRSS:"); }

    /** The peak resident memory of the process so far (VmHWM), in bytes. */
    public static long peakRssBytes() { return field("VmHWM:"); }

    private static long field(String name) {
        try {
            for (String line : Files.readAllLines(STATUS)) {
                if (line.startsWith(name)) {
                    String[] parts = line.substring(name.length()).trim().split("\\s+");
                    return Long.parseLong(parts[0]) * 1024;        // the kernel reports kB
                }
            }
        } catch (IOException | RuntimeException e) {
            // not Linux, or no procfs: memory is reported as unknown
        }
        return -1;
    }
}
