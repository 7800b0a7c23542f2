package dev.longnet.cli;

import dev.longnet.storage.ProcSelf;

/**
 * The process's resident memory from /proc/self/status and its storage I/O from /proc/self/io (Linux); -1 where
 * those files do not exist. (The readers live in storage's {@link ProcSelf}, which the live counters use too.)
 */
public final class ProcStatus {
    private ProcStatus() { }

    /** Resident memory now (VmRSS), in bytes. */
    public static long rssBytes() { return ProcSelf.rssBytes(); }

    /** The peak resident memory of the process so far (VmHWM), in bytes. */
    public static long peakRssBytes() { return ProcSelf.peakRssBytes(); }

    /** Bytes this process caused to be read from storage (page-cache hits, mapped or not, are not counted). */
    public static long storageReadBytes() { return ProcSelf.storageReadBytes(); }

    /** Bytes this process caused to be written to storage, mapped writes included. */
    public static long storageWriteBytes() { return ProcSelf.storageWriteBytes(); }
}
