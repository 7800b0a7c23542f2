package dev.longnet.storage;

import java.util.ArrayList;
import java.util.List;
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
 * It also checks, before chronicle's first use, that the JDK packages chronicle reaches into by reflection are
 * open to it ({@link #requireAccess}): without them chronicle fails deep inside a mapping with an AssertionError.
 */
final class ChronicleSetup {
    /** Held so that the logger's level is not lost when java.util.logging drops unreferenced loggers. */
    private static final Logger CLEANER_LOG =
            Logger.getLogger("net.openhft.chronicle.core.internal.cleaner.ReflectionBasedByteBufferCleanerService");
    private static volatile boolean done;

    /**
     * The JDK packages chronicle-bytes opens by reflection to map its file (sun.nio.ch's map0) and to reach
     * private members (java.lang.reflect); among the project's JVM flags (the longnet.jvm.flags property of
     * pom.xml), they are the ones without which the run journal cannot work.
     */
    private static final List<String> REQUIRED_OPENS = List.of("java.base/java.lang.reflect", "java.base/sun.nio.ch");

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

    /**
     * Throws, with one line naming the missing flags, unless every package of {@link #REQUIRED_OPENS} is open to
     * chronicle (a JVM started without the project's flags, as a library user's may be).
     */
    static void requireAccess() {
        String missing = String.join(" ", missingFlags(net.openhft.chronicle.core.OS.class.getModule()));
        if (!missing.isEmpty()) {
            throw new IllegalStateException("the run journal (chronicle-bytes) needs the JVM flags " + missing
                    + " (the project's JVM flags: the longnet.jvm.flags property of pom.xml; ./longnet jvm-flags prints them)");
        }
    }

    /** The {@code --add-opens} flags of {@link #REQUIRED_OPENS} whose package is not open to {@code module}. */
    static List<String> missingFlags(Module module) {
        List<String> missing = new ArrayList<>();
        for (String open : REQUIRED_OPENS) {
            int slash = open.indexOf('/');
            Module owner = ModuleLayer.boot().findModule(open.substring(0, slash)).orElseThrow();
            if (!owner.isOpen(open.substring(slash + 1), module)) {
                missing.add("--add-opens=" + open + "=" + (module.isNamed() ? module.getName() : "ALL-UNNAMED"));
            }
        }
        return missing;
    }
}
