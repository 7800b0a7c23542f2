package dev.longnet.storage;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;

/**
 * This process's resident memory (/proc/self/status, /proc/self/smaps) and storage I/O (/proc/self/io), on Linux; -1
 * (or nothing) where those files do not exist.
 */
public final class ProcSelf {
    private static final Path STATUS = Path.of("/proc/self/status");
    private static final Path IO = Path.of("/proc/self/io");
    private static final Path SMAPS = Path.of("/proc/self/smaps");

    private ProcSelf() { }

    /** Resident memory now (VmRSS), in bytes. */
    public static long rssBytes() { return kib(field(STATUS, "VmRSS:")); }

    /** The peak resident memory of the process so far (VmHWM), in bytes. */
    public static long peakRssBytes() { return kib(field(STATUS, "VmHWM:")); }

    /**
     * Resident bytes of the process's file mappings, by file: the Rss of every mapping of a file, summed (file
     * pages count in the process's resident memory while they are mapped). Empty where /proc/self/smaps does not
     * exist.
     */
    public static Map<Path, Long> residentBytesByFile() {
        Map<Path, Long> resident = new HashMap<>();
        try {
            Path file = null;
            for (String line : Files.readAllLines(SMAPS)) {
                if (line.startsWith("Rss:")) {
                    if (file != null) resident.merge(file, kib(Long.parseLong(line.replaceAll("[^0-9]", ""))), Long::sum);
                    continue;
                }
                // A mapping's first line: "start-end perms offset dev inode [path]"; field lines start "Name:".
                String[] fields = line.trim().split("\\s+", 6);
                if (fields.length < 5 || !fields[0].contains("-") || fields[0].endsWith(":")) continue;
                String name = fields.length == 6 ? fields[5].trim() : "";
                file = name.startsWith("/") ? Path.of(name.replaceFirst(" \\(deleted\\)$", "")) : null;
            }
        } catch (IOException | RuntimeException e) {
            // not Linux, or no procfs: nothing known
        }
        return resident;
    }

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
