package dev.longnet.engine.cuda;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.invoke.MethodHandle;
import java.util.List;

/**
 * The few functions of the CUDA runtime (libcudart) the backend uses, as java.lang.foreign downcalls. Device pointers
 * are plain {@code long} addresses; host pointers are {@link MemorySegment}s. Every call checks its
 * {@code cudaError_t} and throws {@link CudaException} with the runtime's error text.
 *
 * <p>Types on x86-64 Linux: {@code size_t} and {@code long long} are 64-bit ({@code JAVA_LONG}), enums and
 * {@code unsigned int} 32-bit ({@code JAVA_INT}), handles ({@code cudaStream_t}, {@code cudaEvent_t}) pointers.
 */
@SuppressWarnings("restricted")   // native access is the point; the JVM runs with --enable-native-access
public final class CudaRuntime {
    // cudaMemcpyKind (driver_types.h)
    static final int MEMCPY_HOST_TO_DEVICE = 1;
    static final int MEMCPY_DEVICE_TO_HOST = 2;
    static final int MEMCPY_DEVICE_TO_DEVICE = 3;
    // cudaDeviceAttr (driver_types.h)
    static final int ATTR_MULTIPROCESSOR_COUNT = 16;
    static final int ATTR_COMPUTE_CAPABILITY_MAJOR = 75;
    static final int ATTR_COMPUTE_CAPABILITY_MINOR = 76;
    // flags (driver_types.h)
    static final int STREAM_NON_BLOCKING = 0x01;
    static final int EVENT_DEFAULT = 0x00;
    // cudaError_t values worth naming
    static final int ERROR_INSUFFICIENT_DRIVER = 35;
    static final int ERROR_NO_DEVICE = 100;

    static final NativeFunction GET_DEVICE_COUNT = NativeFunction.of("cudaGetDeviceCount", JAVA_INT, ADDRESS);
    static final NativeFunction SET_DEVICE = NativeFunction.of("cudaSetDevice", JAVA_INT, JAVA_INT);
    static final NativeFunction DEVICE_GET_ATTRIBUTE =
            NativeFunction.of("cudaDeviceGetAttribute", JAVA_INT, ADDRESS, JAVA_INT, JAVA_INT);
    static final NativeFunction RUNTIME_GET_VERSION = NativeFunction.of("cudaRuntimeGetVersion", JAVA_INT, ADDRESS);
    static final NativeFunction DRIVER_GET_VERSION = NativeFunction.of("cudaDriverGetVersion", JAVA_INT, ADDRESS);
    static final NativeFunction MEM_GET_INFO = NativeFunction.of("cudaMemGetInfo", JAVA_INT, ADDRESS, ADDRESS);
    static final NativeFunction MALLOC = NativeFunction.of("cudaMalloc", JAVA_INT, ADDRESS, JAVA_LONG);
    static final NativeFunction FREE = NativeFunction.of("cudaFree", JAVA_INT, ADDRESS);
    static final NativeFunction MALLOC_HOST = NativeFunction.of("cudaMallocHost", JAVA_INT, ADDRESS, JAVA_LONG);
    static final NativeFunction FREE_HOST = NativeFunction.of("cudaFreeHost", JAVA_INT, ADDRESS);
    static final NativeFunction MEMCPY_ASYNC =
            NativeFunction.of("cudaMemcpyAsync", JAVA_INT, ADDRESS, ADDRESS, JAVA_LONG, JAVA_INT, ADDRESS);
    static final NativeFunction MEMSET_ASYNC =
            NativeFunction.of("cudaMemsetAsync", JAVA_INT, ADDRESS, JAVA_INT, JAVA_LONG, ADDRESS);
    static final NativeFunction STREAM_CREATE = NativeFunction.of("cudaStreamCreate", JAVA_INT, ADDRESS);
    static final NativeFunction STREAM_CREATE_WITH_FLAGS =
            NativeFunction.of("cudaStreamCreateWithFlags", JAVA_INT, ADDRESS, JAVA_INT);
    static final NativeFunction STREAM_DESTROY = NativeFunction.of("cudaStreamDestroy", JAVA_INT, ADDRESS);
    static final NativeFunction STREAM_SYNCHRONIZE = NativeFunction.of("cudaStreamSynchronize", JAVA_INT, ADDRESS);
    static final NativeFunction EVENT_CREATE = NativeFunction.of("cudaEventCreate", JAVA_INT, ADDRESS);
    static final NativeFunction EVENT_RECORD = NativeFunction.of("cudaEventRecord", JAVA_INT, ADDRESS, ADDRESS);
    static final NativeFunction EVENT_SYNCHRONIZE = NativeFunction.of("cudaEventSynchronize", JAVA_INT, ADDRESS);
    static final NativeFunction EVENT_DESTROY = NativeFunction.of("cudaEventDestroy", JAVA_INT, ADDRESS);
    static final NativeFunction GET_ERROR_STRING = NativeFunction.of("cudaGetErrorString", ADDRESS, JAVA_INT);

    /** Every function bound, for the prototype tests. */
    static final List<NativeFunction> FUNCTIONS = List.of(GET_DEVICE_COUNT, SET_DEVICE, DEVICE_GET_ATTRIBUTE,
            RUNTIME_GET_VERSION, DRIVER_GET_VERSION, MEM_GET_INFO, MALLOC, FREE, MALLOC_HOST, FREE_HOST, MEMCPY_ASYNC,
            MEMSET_ASYNC, STREAM_CREATE, STREAM_CREATE_WITH_FLAGS, STREAM_DESTROY, STREAM_SYNCHRONIZE, EVENT_CREATE,
            EVENT_RECORD, EVENT_SYNCHRONIZE, EVENT_DESTROY, GET_ERROR_STRING);

    private final NativeLibraries.Loaded library;
    private final MethodHandle getDeviceCount, setDevice, deviceGetAttribute, runtimeGetVersion, driverGetVersion,
            memGetInfo, malloc, free, mallocHost, freeHost, memcpyAsync, memsetAsync, streamCreate,
            streamCreateWithFlags, streamDestroy, streamSynchronize, eventCreate, eventRecord, eventSynchronize,
            eventDestroy, getErrorString;

    private CudaRuntime(NativeLibraries.Loaded library) {
        this.library = library;
        getDeviceCount = GET_DEVICE_COUNT.bind(library);
        setDevice = SET_DEVICE.bind(library);
        deviceGetAttribute = DEVICE_GET_ATTRIBUTE.bind(library);
        runtimeGetVersion = RUNTIME_GET_VERSION.bind(library);
        driverGetVersion = DRIVER_GET_VERSION.bind(library);
        memGetInfo = MEM_GET_INFO.bind(library);
        malloc = MALLOC.bind(library);
        free = FREE.bind(library);
        mallocHost = MALLOC_HOST.bind(library);
        freeHost = FREE_HOST.bind(library);
        memcpyAsync = MEMCPY_ASYNC.bind(library);
        memsetAsync = MEMSET_ASYNC.bind(library);
        streamCreate = STREAM_CREATE.bind(library);
        streamCreateWithFlags = STREAM_CREATE_WITH_FLAGS.bind(library);
        streamDestroy = STREAM_DESTROY.bind(library);
        streamSynchronize = STREAM_SYNCHRONIZE.bind(library);
        eventCreate = EVENT_CREATE.bind(library);
        eventRecord = EVENT_RECORD.bind(library);
        eventSynchronize = EVENT_SYNCHRONIZE.bind(library);
        eventDestroy = EVENT_DESTROY.bind(library);
        getErrorString = GET_ERROR_STRING.bind(library);
    }

    /** Opens libcudart (first use only) and binds its functions; {@link CudaUnavailableException} if absent. */
    public static CudaRuntime load() {
        return new CudaRuntime(NativeLibraries.load(NativeLibraries.Library.RUNTIME));
    }

    /** Where the library was loaded from. */
    public String path() { return library.path(); }

    /** The runtime's text for an error code (callable without a device). */
    public String errorString(int error) {
        try {
            MemorySegment text = (MemorySegment) getErrorString.invokeExact(error);
            return text.equals(MemorySegment.NULL) ? "" : text.reinterpret(Long.MAX_VALUE).getString(0);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    /** The raw result of cudaGetDeviceCount: {count, error}. Never throws for a CUDA error. */
    public int[] deviceCountOrError() {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment count = arena.allocate(JAVA_INT);
            int error = (int) getDeviceCount.invokeExact(count);
            return new int[]{error == 0 ? count.get(JAVA_INT, 0) : 0, error};
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    /** Makes {@code device} current on the calling thread (and its primary context current for the driver API). */
    public void setDevice(int device) {
        try {
            check("cudaSetDevice", (int) setDevice.invokeExact(device));
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    public int deviceAttribute(int attribute, int device) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment value = arena.allocate(JAVA_INT);
            check("cudaDeviceGetAttribute", (int) deviceGetAttribute.invokeExact(value, attribute, device));
            return value.get(JAVA_INT, 0);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    /** CUDA version of the runtime as 1000·major + 10·minor (13000 for 13.0). Works without a device. */
    public int runtimeVersion() { return intOut("cudaRuntimeGetVersion", runtimeGetVersion); }

    /** The newest CUDA version the installed driver supports, 0 when no driver is installed. */
    public int driverVersion() { return intOut("cudaDriverGetVersion", driverGetVersion); }

    /** {free, total} bytes of the current device. */
    public long[] memoryInfo() {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment free = arena.allocate(JAVA_LONG);
            MemorySegment total = arena.allocate(JAVA_LONG);
            check("cudaMemGetInfo", (int) memGetInfo.invokeExact(free, total));
            return new long[]{free.get(JAVA_LONG, 0), total.get(JAVA_LONG, 0)};
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    /** Device memory of {@code bytes}; the address of its first byte. */
    public long malloc(long bytes) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment pointer = arena.allocate(ADDRESS);
            check("cudaMalloc(" + bytes + ")", (int) malloc.invokeExact(pointer, bytes));
            return pointer.get(ADDRESS, 0).address();
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    public void free(long devicePointer) {
        try {
            check("cudaFree", (int) free.invokeExact(MemorySegment.ofAddress(devicePointer)));
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    /** Page-locked host memory of {@code bytes}, as a segment of that size (free with {@link #freeHost}). */
    public MemorySegment mallocHost(long bytes) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment pointer = arena.allocate(ADDRESS);
            check("cudaMallocHost(" + bytes + ")", (int) mallocHost.invokeExact(pointer, bytes));
            return pointer.get(ADDRESS, 0).reinterpret(bytes);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    public void freeHost(MemorySegment host) {
        try {
            check("cudaFreeHost", (int) freeHost.invokeExact(host));
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    /** cudaMemcpyAsync(dst, src, bytes, kind, stream) with raw addresses. */
    public void memcpyAsync(long dst, long src, long bytes, int kind, MemorySegment stream) {
        try {
            check("cudaMemcpyAsync", (int) memcpyAsync.invokeExact(MemorySegment.ofAddress(dst),
                    MemorySegment.ofAddress(src), bytes, kind, stream));
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    public void memsetAsync(long devicePointer, int value, long bytes, MemorySegment stream) {
        try {
            check("cudaMemsetAsync", (int) memsetAsync.invokeExact(MemorySegment.ofAddress(devicePointer), value,
                    bytes, stream));
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    /** A stream that does not synchronise with the legacy default stream. */
    public MemorySegment streamCreate() {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment pointer = arena.allocate(ADDRESS);
            check("cudaStreamCreateWithFlags",
                    (int) streamCreateWithFlags.invokeExact(pointer, STREAM_NON_BLOCKING));
            return pointer.get(ADDRESS, 0);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    public void streamDestroy(MemorySegment stream) {
        try {
            check("cudaStreamDestroy", (int) streamDestroy.invokeExact(stream));
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    /** Waits for the stream's work; asynchronous errors of earlier launches surface here. */
    public void streamSynchronize(MemorySegment stream) {
        try {
            check("cudaStreamSynchronize", (int) streamSynchronize.invokeExact(stream));
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    public MemorySegment eventCreate() {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment pointer = arena.allocate(ADDRESS);
            check("cudaEventCreate", (int) eventCreate.invokeExact(pointer));
            return pointer.get(ADDRESS, 0);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    public void eventRecord(MemorySegment event, MemorySegment stream) {
        try {
            check("cudaEventRecord", (int) eventRecord.invokeExact(event, stream));
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    public void eventSynchronize(MemorySegment event) {
        try {
            check("cudaEventSynchronize", (int) eventSynchronize.invokeExact(event));
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    public void eventDestroy(MemorySegment event) {
        try {
            check("cudaEventDestroy", (int) eventDestroy.invokeExact(event));
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    void check(String call, int error) {
        if (error != 0) throw new CudaException(call, error, errorString(error));
    }

    private int intOut(String call, MethodHandle handle) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment value = arena.allocate(JAVA_INT);
            check(call, (int) handle.invokeExact(value));
            return value.get(JAVA_INT, 0);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    /** Unchecked exceptions and errors pass through; anything else (impossible for downcalls) is wrapped. */
    static RuntimeException rethrow(Throwable t) {
        if (t instanceof RuntimeException e) return e;
        if (t instanceof Error e) throw e;
        return new IllegalStateException(t);
    }
}
