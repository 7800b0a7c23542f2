package dev.longnet.storage;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * This process's resident memory (/proc/self/status) and storage I/O (/proc/self/io), on Linux; -1 where those
 * files do not exist.
 */
public final class ProcSelf {
    private static final Path STATUS = Path.of("/proc/self/status");
    private static final Path IO = Path.of("/proc/self/io");

    private ProcSelf() { }

    /** Resident memory now (VmRSS), in bytes. */
    public static long rssBytes() { return kib(field(STATUS, "VmRSS:")); }

    /** The peak resident memory of the process so far (VmHWM), in bytes. */
    public static long peakRssBytes() { return kib(field(STATUS, "VmHWM:")); }

    /** Bytes this process caused to be read from storage (page-cache hits, mapped or not, are not counted). */
    public static long storageReadBytes() { return field(IO, "read_bytes:"); }

    /** Bytes this process caused to be written to storage, mapped writes included. */
    public static long storageWriteBytes() { return field(IO, "write_bytes:"); }

    /** /proc/self/status reports kB. */
    private static long kib(long value) { return value < 0 ? -1 : value * 1024; }

    private static long field(Path file, String name) {
        try {
            for (String line : Files.readAllLines(file)) {
                if (line.startsWith(name)) {
                    String[] parts = line.substring(name.length()).trim().split("\\s+");
                    return Long.parseLong(parts[0]);
                }
            }
        } catch (IOException | RuntimeException e) {
            // not Linux, or no procfs: reported as unknown
        }
        return -1;
    }
}
