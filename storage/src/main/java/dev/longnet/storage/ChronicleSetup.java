package dev.longnet.storage;

import java.util.logging.Level;
import java.util.logging.Logger;

/**
 * Quiets chronicle-bytes before its first use, so that the CLI's stderr holds only the CLI's own lines:
 * <ul>
 *   <li>chronicle logs through SLF4J; without a provider SLF4J warns once on stderr (its internal verbosity is
 *       lowered unless the embedder set it);</li>
 *   <li>chronicle's reflection-based buffer cleaner logs a warning through java.util.logging when
 *       jdk.internal.ref is not exported (the other cleaner is used; the warning is noise);</li>
 *   <li>chronicle's POSIX binding (JNR) costs about a second of class generation at start-up; the journal syncs
 *       through its FileChannel instead, so the no-op binding is selected.</li>
 * </ul>
 */
final class ChronicleSetup {
    /** Held so that the logger's level is not lost when java.util.logging drops unreferenced loggers. */
    private static final Logger CLEANER_LOG =
            Logger.getLogger("net.openhft.chronicle.core.internal.cleaner.ReflectionBasedByteBufferCleanerService");
    private static volatile boolean done;

    private ChronicleSetup() { }

    static synchronized void init() {
        if (done) return;
        if (System.getProperty("slf4j.internal.verbosity") == null) System.setProperty("slf4j.internal.verbosity", "ERROR");
        if (System.getProperty("chronicle.analytics.disable") == null) System.setProperty("chronicle.analytics.disable", "true");
        if (System.getProperty("disable.resource.warning") == null) System.setProperty("disable.resource.warning", "true");
        CLEANER_LOG.setLevel(Level.SEVERE);
        net.openhft.posix.PosixAPI.useNoOpPosixApi();
        done = true;
    }
}
