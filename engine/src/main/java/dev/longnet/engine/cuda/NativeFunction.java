package dev.longnet.engine.cuda;

import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemoryLayout;
import java.lang.foreign.SymbolLookup;
import java.lang.invoke.MethodHandle;

/**
 * One C function of a CUDA library: its exported symbol and the descriptor its downcall is made with. The binding
 * classes list theirs in a {@code FUNCTIONS} table, which the tests check against the C prototypes of the CUDA
 * headers.
 */
@SuppressWarnings("restricted")   // native access is the point; the JVM runs with --enable-native-access
record NativeFunction(String name, FunctionDescriptor descriptor) {
    static NativeFunction of(String name, MemoryLayout result, MemoryLayout... arguments) {
        return new NativeFunction(name, FunctionDescriptor.of(result, arguments));
    }

    /** The downcall handle for this function in {@code library}, or a {@link CudaUnavailableException}. */
    MethodHandle bind(NativeLibraries.Loaded library) {
        return Linker.nativeLinker().downcallHandle(find(library.lookup(), library.describe()), descriptor);
    }

    private java.lang.foreign.MemorySegment find(SymbolLookup lookup, String where) {
        return lookup.find(name).orElseThrow(() -> new CudaUnavailableException(
                "symbol " + name + " not found in " + where + ": the library is older or newer than this binding expects"));
    }
}
