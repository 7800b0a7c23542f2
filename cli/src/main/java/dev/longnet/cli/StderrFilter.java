package dev.longnet.cli;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;
import java.util.concurrent.TimeUnit;

/**
 * The launcher's stderr filter (the process that drops the JVM's incubator warning under --help, --version and
 * --quiet; its pid in {@code LONGNET_STDERR_FILTER}). The JVM replaces the launcher, so a caller waits for the JVM
 * alone: before exiting, the JVM hands its stderr to /dev/null, which ends the filter's input, and waits for the
 * filter to write its last lines, so that a caller reading stderr from a file right after the command finds them.
 */
final class StderrFilter {
    static final String PID = "LONGNET_STDERR_FILTER";
    private static final int O_WRONLY = 1;
    private static final int STDERR = 2;

    private StderrFilter() { }

    /** Lets the filter drain, if there is one (at most a few seconds); nothing is written to stderr afterwards. */
    static void drain() {
        String pid = System.getenv(PID);
        if (pid == null) return;
        try {
            ProcessHandle filter = ProcessHandle.of(Long.parseLong(pid.strip())).orElse(null);
            if (filter == null || filter.parent().map(p -> p.pid() != ProcessHandle.current().pid()).orElse(true)) return;
            System.err.flush();
            if (!detachStderr()) return;
            filter.onExit().get(5, TimeUnit.SECONDS);
        } catch (Throwable e) {
            // best effort: at worst the caller reads the filter's last line a moment late
        }
    }

    /** Points file descriptor 2 at /dev/null (dup2), closing this process's end of the pipe to the filter. */
    private static boolean detachStderr() throws Throwable {
        Linker linker = Linker.nativeLinker();
        MethodHandle open = linker.downcallHandle(linker.defaultLookup().find("open").orElseThrow(),
                FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.ADDRESS, ValueLayout.JAVA_INT),
                Linker.Option.firstVariadicArg(2));
        MethodHandle dup2 = linker.downcallHandle(linker.defaultLookup().find("dup2").orElseThrow(),
                FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.JAVA_INT, ValueLayout.JAVA_INT));
        MethodHandle close = linker.downcallHandle(linker.defaultLookup().find("close").orElseThrow(),
                FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.JAVA_INT));
        try (Arena arena = Arena.ofConfined()) {
            int devNull = (int) open.invokeExact(arena.allocateFrom("/dev/null"), O_WRONLY);
            if (devNull < 0) return false;
            int r = (int) dup2.invokeExact(devNull, STDERR);
            int ignored = (int) close.invokeExact(devNull);
            return r == STDERR;
        }
    }
}
