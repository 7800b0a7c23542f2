package dev.longnet.engine.cuda;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static java.lang.foreign.ValueLayout.JAVA_INT;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.invoke.MethodHandle;
import java.util.List;

/**
 * The CUDA driver API functions (libcuda) that load the backend's own kernels and launch them. The runtime's
 * primary context is used: {@code cudaSetDevice} makes it current on a thread, and modules loaded in it are visible
 * to every thread. Every call checks its {@code CUresult}.
 */
@SuppressWarnings("restricted")   // native access is the point; the JVM runs with --enable-native-access
public final class CudaDriver {
    static final NativeFunction INIT = NativeFunction.of("cuInit", JAVA_INT, JAVA_INT);
    static final NativeFunction DRIVER_GET_VERSION = NativeFunction.of("cuDriverGetVersion", JAVA_INT, ADDRESS);
    static final NativeFunction DEVICE_GET = NativeFunction.of("cuDeviceGet", JAVA_INT, ADDRESS, JAVA_INT);
    static final NativeFunction DEVICE_GET_NAME =
            NativeFunction.of("cuDeviceGetName", JAVA_INT, ADDRESS, JAVA_INT, JAVA_INT);
    static final NativeFunction MODULE_LOAD_DATA = NativeFunction.of("cuModuleLoadData", JAVA_INT, ADDRESS, ADDRESS);
    static final NativeFunction MODULE_UNLOAD = NativeFunction.of("cuModuleUnload", JAVA_INT, ADDRESS);
    static final NativeFunction MODULE_GET_FUNCTION =
            NativeFunction.of("cuModuleGetFunction", JAVA_INT, ADDRESS, ADDRESS, ADDRESS);
    static final NativeFunction LAUNCH_KERNEL = NativeFunction.of("cuLaunchKernel", JAVA_INT, ADDRESS,
            JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT, ADDRESS, ADDRESS, ADDRESS);
    static final NativeFunction GET_ERROR_STRING = NativeFunction.of("cuGetErrorString", JAVA_INT, JAVA_INT, ADDRESS);

    static final List<NativeFunction> FUNCTIONS = List.of(INIT, DRIVER_GET_VERSION, DEVICE_GET, DEVICE_GET_NAME,
            MODULE_LOAD_DATA, MODULE_UNLOAD, MODULE_GET_FUNCTION, LAUNCH_KERNEL, GET_ERROR_STRING);

    private final NativeLibraries.Loaded library;
    private final MethodHandle init, driverGetVersion, deviceGet, deviceGetName, moduleLoadData, moduleUnload,
            moduleGetFunction, launchKernel, getErrorString;

    private CudaDriver(NativeLibraries.Loaded library) {
        this.library = library;
        init = INIT.bind(library);
        driverGetVersion = DRIVER_GET_VERSION.bind(library);
        deviceGet = DEVICE_GET.bind(library);
        deviceGetName = DEVICE_GET_NAME.bind(library);
        moduleLoadData = MODULE_LOAD_DATA.bind(library);
        moduleUnload = MODULE_UNLOAD.bind(library);
        moduleGetFunction = MODULE_GET_FUNCTION.bind(library);
        launchKernel = LAUNCH_KERNEL.bind(library);
        getErrorString = GET_ERROR_STRING.bind(library);
    }

    /** Opens libcuda (first use only); {@link CudaUnavailableException} when no NVIDIA driver is installed. */
    public static CudaDriver load() {
        return new CudaDriver(NativeLibraries.load(NativeLibraries.Library.DRIVER));
    }

    public String path() { return library.path(); }

    public void init() {
        try {
            check("cuInit", (int) init.invokeExact(0));
        } catch (Throwable t) {
            throw CudaRuntime.rethrow(t);
        }
    }

    /** 1000·major + 10·minor of the CUDA version the driver supports. */
    public int version() {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment value = arena.allocate(JAVA_INT);
            check("cuDriverGetVersion", (int) driverGetVersion.invokeExact(value));
            return value.get(JAVA_INT, 0);
        } catch (Throwable t) {
            throw CudaRuntime.rethrow(t);
        }
    }

    public String deviceName(int ordinal) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment device = arena.allocate(JAVA_INT);
            check("cuDeviceGet", (int) deviceGet.invokeExact(device, ordinal));
            MemorySegment name = arena.allocate(256);
            check("cuDeviceGetName", (int) deviceGetName.invokeExact(name, 256, device.get(JAVA_INT, 0)));
            return name.getString(0);
        } catch (Throwable t) {
            throw CudaRuntime.rethrow(t);
        }
    }

    /** Loads a module from a NUL-terminated PTX image (or a cubin/fatbin) into the current context. */
    public MemorySegment moduleLoadData(MemorySegment image) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment module = arena.allocate(ADDRESS);
            check("cuModuleLoadData", (int) moduleLoadData.invokeExact(module, image));
            return module.get(ADDRESS, 0);
        } catch (Throwable t) {
            throw CudaRuntime.rethrow(t);
        }
    }

    public void moduleUnload(MemorySegment module) {
        try {
            check("cuModuleUnload", (int) moduleUnload.invokeExact(module));
        } catch (Throwable t) {
            throw CudaRuntime.rethrow(t);
        }
    }

    public MemorySegment moduleGetFunction(MemorySegment module, String name) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment function = arena.allocate(ADDRESS);
            check("cuModuleGetFunction(" + name + ")",
                    (int) moduleGetFunction.invokeExact(function, module, arena.allocateFrom(name)));
            return function.get(ADDRESS, 0);
        } catch (Throwable t) {
            throw CudaRuntime.rethrow(t);
        }
    }

    /**
     * Launches {@code function} on a 1-D grid. {@code parameters} is the {@code void*[]} of pointers to each
     * argument's value; the driver copies the values before returning.
     */
    public void launch(String name, MemorySegment function, int gridX, int blockX, int sharedBytes,
                       MemorySegment stream, MemorySegment parameters) {
        try {
            check("cuLaunchKernel(" + name + ")", (int) launchKernel.invokeExact(function, gridX, 1, 1, blockX, 1, 1,
                    sharedBytes, stream, parameters, MemorySegment.NULL));
        } catch (Throwable t) {
            throw CudaRuntime.rethrow(t);
        }
    }

    public String errorString(int error) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment text = arena.allocate(ADDRESS);
            int status = (int) getErrorString.invokeExact(error, text);
            MemorySegment pointer = text.get(ADDRESS, 0);
            if (status != 0 || pointer.equals(MemorySegment.NULL)) return "";
            return pointer.reinterpret(Long.MAX_VALUE).getString(0);
        } catch (Throwable t) {
            throw CudaRuntime.rethrow(t);
        }
    }

    private void check(String call, int result) {
        if (result != 0) throw new CudaException(call, result, errorString(result));
    }

    /** Bytes of a NUL-terminated copy of {@code text}, as cuModuleLoadData wants PTX. */
    static MemorySegment cString(Arena arena, byte[] text) {
        MemorySegment out = arena.allocate(text.length + 1L);
        MemorySegment.copy(text, 0, out, JAVA_BYTE, 0, text.length);
        out.set(JAVA_BYTE, text.length, (byte) 0);
        return out;
    }
}
