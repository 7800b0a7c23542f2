package dev.longnet.engine.job;

import dev.longnet.storage.Disk;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * The check before a large allocation: memory a job would hold (off the heap, or on it) is compared with what the
 * machine (or the heap) can give, and a job that would not fit is refused at once with one line saying how much it
 * needs, how much there is, and what to do instead, rather than swapping or being killed later.
 */
public final class MemoryBudget {
    /** Overrides the memory available, in bytes (for tests: a machine of a given size). */
    public static final String AVAILABLE_PROPERTY = "longnet.memory.available";

    private MemoryBudget() { }

    /**
     * Refuses {@code bytes} of native memory for {@code what} when the machine has less available (MemAvailable,
     * else the physical memory); {@code instead} says what to do (e.g. "map it on disk with --state DIR").
     */
    public static void requireNative(long bytes, String what, String instead) {
        long available = availableNative();
        if (bytes > available) {
            throw new IllegalArgumentException(what + " needs " + Disk.human(bytes) + " of memory, but only "
                    + Disk.human(available) + " is available" + (instead == null ? "" : ": " + instead));
        }
    }

    /** Refuses {@code bytes} of Java heap for {@code what} when the heap cannot hold them. */
    public static void requireHeap(long bytes, String what, String instead) {
        Runtime r = Runtime.getRuntime();
        long available = r.maxMemory() - (r.totalMemory() - r.freeMemory());
        if (bytes > available) {
            throw new IllegalArgumentException(what + " needs " + Disk.human(bytes) + " of Java heap, but only "
                    + Disk.human(Math.max(0, available)) + " is free (raise it with LONGNET_JAVA_OPTS=-Xmx...)"
                    + (instead == null ? "" : "; " + instead));
        }
    }

    /** Bytes of memory the machine can give now: MemAvailable from /proc/meminfo, else the physical memory. */
    public static long availableNative() {
        String forced = System.getProperty(AVAILABLE_PROPERTY);
        if (forced != null) return Long.parseLong(forced);
        try {
            for (String line : Files.readAllLines(Path.of("/proc/meminfo"))) {
                if (line.startsWith("MemAvailable:")) {
                    return Long.parseLong(line.replaceAll("[^0-9]", "")) * 1024;
                }
            }
        } catch (IOException | RuntimeException e) {
            // not Linux: the physical memory below
        }
        java.lang.management.OperatingSystemMXBean os = java.lang.management.ManagementFactory.getOperatingSystemMXBean();
        if (os instanceof com.sun.management.OperatingSystemMXBean sun) return sun.getTotalMemorySize();
        return Long.MAX_VALUE;
    }
}
