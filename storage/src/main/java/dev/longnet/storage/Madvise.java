package dev.longnet.storage;

import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.SymbolLookup;
import java.lang.invoke.MethodHandle;
import java.util.Locale;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

/**
 * madvise(2) through a foreign-function downcall to libc. Advice is only a hint, so this is best effort throughout:
 * where libc, the symbol or native access is unavailable, or the call fails, nothing happens and nothing is thrown —
 * the mapping works the same, only the kernel's read-ahead and eviction are less well informed.
 */
public final class Madvise {
    private static final long DEFAULT_PAGE_SIZE = 4096;
    /** sysconf's _SC_PAGESIZE on Linux (glibc and musl). */
    private static final int SC_PAGESIZE_LINUX = 30;

    private Madvise() { }

    /**
     * Advises the kernel on how seg will be used. The start is aligned down to a page boundary, as madvise requires,
     * so the neighbouring bytes of the first page get the same advice. Heap and empty segments are ignored.
     * Never use DONT_NEED on anonymous memory that must keep its contents: the kernel may zero it.
     */
    public static void advise(MemorySegment seg, Advice advice) {
        tryAdvise(seg, advice);
    }

    /** Like {@link #advise}, but says whether madvise ran and returned 0 (for tests and diagnostics). */
    static boolean tryAdvise(MemorySegment seg, Advice advice) {
        if (!seg.isNative() || seg.byteSize() == 0 || Native.MADVISE == null) return false;
        long address = seg.address();
        long aligned = address & -Native.PAGE_SIZE;
        long length = seg.byteSize() + (address - aligned);
        try {
            return (int) Native.MADVISE.invokeExact(MemorySegment.ofAddress(aligned), length, advice.linuxValue) == 0;
        } catch (Throwable t) {
            return false;   // best effort: a failed hint is no failure
        }
    }

    /** The page size used to align addresses: sysconf(_SC_PAGESIZE) on Linux, else 4096. */
    static long pageSize() {
        return Native.PAGE_SIZE;
    }

    /** The downcall handles, looked up on first use (lazy holder); null where unavailable. */
    private static final class Native {
        static final MethodHandle MADVISE = lookup("madvise", FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_LONG, JAVA_INT));
        static final long PAGE_SIZE = queryPageSize();

        @SuppressWarnings("restricted")   // the downcall is the point; the launcher enables native access
        private static MethodHandle lookup(String name, FunctionDescriptor descriptor) {
            try {
                // size_t is passed as a Java long: only valid where size_t is 64 bits wide.
                if (Linker.nativeLinker().canonicalLayouts().get("size_t").byteSize() != Long.BYTES) return null;
                SymbolLookup libc = Linker.nativeLinker().defaultLookup();
                return libc.find(name).map(symbol -> Linker.nativeLinker().downcallHandle(symbol, descriptor))
                        .orElse(null);
            } catch (RuntimeException | LinkageError e) {
                return null;   // e.g. native access denied (--illegal-native-access=deny): advice is optional
            }
        }

        private static long queryPageSize() {
            if (!System.getProperty("os.name", "").toLowerCase(Locale.ROOT).contains("linux")) return DEFAULT_PAGE_SIZE;
            MethodHandle sysconf = lookup("sysconf", FunctionDescriptor.of(JAVA_LONG, JAVA_INT));
            if (sysconf == null) return DEFAULT_PAGE_SIZE;
            try {
                long size = (long) sysconf.invokeExact(SC_PAGESIZE_LINUX);
                return size > 0 && Long.bitCount(size) == 1 ? size : DEFAULT_PAGE_SIZE;
            } catch (Throwable t) {
                return DEFAULT_PAGE_SIZE;
            }
        }
    }
}
