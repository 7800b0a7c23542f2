package dev.longnet.engine.cuda;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.invoke.MethodHandle;
import java.util.List;

/**
 * NVRTC (libnvrtc), the run-time CUDA C compiler: the fallback when the driver rejects the PTX shipped with the
 * backend (a driver older than the PTX's ISA version). The kernels' source includes no header, so no include path
 * is needed.
 */
@SuppressWarnings("restricted")   // native access is the point; the JVM runs with --enable-native-access
public final class Nvrtc {
    static final NativeFunction VERSION = NativeFunction.of("nvrtcVersion", JAVA_INT, ADDRESS, ADDRESS);
    static final NativeFunction CREATE_PROGRAM = NativeFunction.of("nvrtcCreateProgram", JAVA_INT,
            ADDRESS, ADDRESS, ADDRESS, JAVA_INT, ADDRESS, ADDRESS);
    static final NativeFunction COMPILE_PROGRAM =
            NativeFunction.of("nvrtcCompileProgram", JAVA_INT, ADDRESS, JAVA_INT, ADDRESS);
    static final NativeFunction GET_PTX_SIZE = NativeFunction.of("nvrtcGetPTXSize", JAVA_INT, ADDRESS, ADDRESS);
    static final NativeFunction GET_PTX = NativeFunction.of("nvrtcGetPTX", JAVA_INT, ADDRESS, ADDRESS);
    static final NativeFunction GET_PROGRAM_LOG_SIZE =
            NativeFunction.of("nvrtcGetProgramLogSize", JAVA_INT, ADDRESS, ADDRESS);
    static final NativeFunction GET_PROGRAM_LOG = NativeFunction.of("nvrtcGetProgramLog", JAVA_INT, ADDRESS, ADDRESS);
    static final NativeFunction DESTROY_PROGRAM = NativeFunction.of("nvrtcDestroyProgram", JAVA_INT, ADDRESS);
    static final NativeFunction GET_ERROR_STRING = NativeFunction.of("nvrtcGetErrorString", ADDRESS, JAVA_INT);

    static final List<NativeFunction> FUNCTIONS = List.of(VERSION, CREATE_PROGRAM, COMPILE_PROGRAM, GET_PTX_SIZE,
            GET_PTX, GET_PROGRAM_LOG_SIZE, GET_PROGRAM_LOG, DESTROY_PROGRAM, GET_ERROR_STRING);

    private final NativeLibraries.Loaded library;
    private final MethodHandle version, createProgram, compileProgram, getPtxSize, getPtx, getLogSize, getLog,
            destroyProgram, getErrorString;

    private Nvrtc(NativeLibraries.Loaded library) {
        this.library = library;
        version = VERSION.bind(library);
        createProgram = CREATE_PROGRAM.bind(library);
        compileProgram = COMPILE_PROGRAM.bind(library);
        getPtxSize = GET_PTX_SIZE.bind(library);
        getPtx = GET_PTX.bind(library);
        getLogSize = GET_PROGRAM_LOG_SIZE.bind(library);
        getLog = GET_PROGRAM_LOG.bind(library);
        destroyProgram = DESTROY_PROGRAM.bind(library);
        getErrorString = GET_ERROR_STRING.bind(library);
    }

    public static Nvrtc load() {
        return new Nvrtc(NativeLibraries.load(NativeLibraries.Library.NVRTC));
    }

    public String path() { return library.path(); }

    /** {major, minor}. */
    public int[] version() {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment major = arena.allocate(JAVA_INT);
            MemorySegment minor = arena.allocate(JAVA_INT);
            check("nvrtcVersion", (int) version.invokeExact(major, minor));
            return new int[]{major.get(JAVA_INT, 0), minor.get(JAVA_INT, 0)};
        } catch (Throwable t) {
            throw CudaRuntime.rethrow(t);
        }
    }

    /** Compiles CUDA C {@code source} to PTX with {@code options} (e.g. "--gpu-architecture=compute_90"). */
    public byte[] compileToPtx(String source, String name, List<String> options) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment program = arena.allocate(ADDRESS);
            check("nvrtcCreateProgram", (int) createProgram.invokeExact(program, arena.allocateFrom(source),
                    arena.allocateFrom(name), 0, MemorySegment.NULL, MemorySegment.NULL));
            MemorySegment prog = program.get(ADDRESS, 0);
            try {
                MemorySegment optionArray = arena.allocate(ADDRESS, Math.max(1, options.size()));
                for (int i = 0; i < options.size(); i++) {
                    optionArray.setAtIndex(ADDRESS, i, arena.allocateFrom(options.get(i)));
                }
                int result = (int) compileProgram.invokeExact(prog, options.size(), optionArray);
                if (result != 0) {
                    throw new CudaException("nvrtcCompileProgram(" + name + ")", result,
                            errorString(result) + "; log: " + log(arena, prog));
                }
                MemorySegment size = arena.allocate(JAVA_LONG);
                check("nvrtcGetPTXSize", (int) getPtxSize.invokeExact(prog, size));
                MemorySegment ptx = arena.allocate(size.get(JAVA_LONG, 0));
                check("nvrtcGetPTX", (int) getPtx.invokeExact(prog, ptx));
                return ptx.getString(0).getBytes(java.nio.charset.StandardCharsets.UTF_8);
            } finally {
                int ignored = (int) destroyProgram.invokeExact(program);
            }
        } catch (Throwable t) {
            throw CudaRuntime.rethrow(t);
        }
    }

    private String log(Arena arena, MemorySegment program) throws Throwable {
        MemorySegment size = arena.allocate(JAVA_LONG);
        if ((int) getLogSize.invokeExact(program, size) != 0) return "(no log)";
        long bytes = size.get(JAVA_LONG, 0);
        if (bytes <= 1) return "(empty)";
        MemorySegment text = arena.allocate(bytes);
        if ((int) getLog.invokeExact(program, text) != 0) return "(no log)";
        return text.getString(0);
    }

    public String errorString(int result) {
        try {
            MemorySegment text = (MemorySegment) getErrorString.invokeExact(result);
            return text.equals(MemorySegment.NULL) ? "" : text.reinterpret(Long.MAX_VALUE).getString(0);
        } catch (Throwable t) {
            throw CudaRuntime.rethrow(t);
        }
    }

    private void check(String call, int result) {
        if (result != 0) throw new CudaException(call, result, errorString(result));
    }
}
