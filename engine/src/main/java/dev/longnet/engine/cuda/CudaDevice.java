package dev.longnet.engine.cuda;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_FLOAT;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

import dev.longnet.engine.Align;
import dev.longnet.storage.DType;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * One CUDA device with the libraries and kernels open: the real {@link DeviceOps}. Opened once per process and
 * device by {@link CudaBackend}; the runtime's primary context holds the kernels' module, so every thread that calls
 * {@link #bindThread} can launch them.
 */
final class CudaDevice implements DeviceOps {
    private static final int MAX_PARAMETERS = 16;

    final CudaRuntime runtime;
    final CudaDriver driver;
    final Cublas cublas;
    final CudaKernels kernels;
    final int index;
    final String deviceName;
    final int ccMajor, ccMinor, multiprocessors;
    final long totalMemory;
    final int runtimeVersion, driverVersion, cublasVersion;
    /** Fallback host buffers (when page-locked memory is refused), by address. */
    private final Map<Long, Arena> pageable = new ConcurrentHashMap<>();

    private CudaDevice(CudaRuntime runtime, CudaDriver driver, Cublas cublas, int index) {
        this.runtime = runtime;
        this.driver = driver;
        this.cublas = cublas;
        this.index = index;
        driver.init();
        runtime.setDevice(index);                       // creates the primary context and makes it current
        runtime.free(0L);                               // cudaFree(NULL): forces context creation on older runtimes
        deviceName = driver.deviceName(index);
        ccMajor = runtime.deviceAttribute(CudaRuntime.ATTR_COMPUTE_CAPABILITY_MAJOR, index);
        ccMinor = runtime.deviceAttribute(CudaRuntime.ATTR_COMPUTE_CAPABILITY_MINOR, index);
        multiprocessors = runtime.deviceAttribute(CudaRuntime.ATTR_MULTIPROCESSOR_COUNT, index);
        totalMemory = runtime.memoryInfo()[1];
        runtimeVersion = runtime.runtimeVersion();
        driverVersion = driver.version();
        MemorySegment handle = cublas.create();
        try {
            cublasVersion = cublas.version(handle);
        } finally {
            cublas.destroy(handle);
        }
        kernels = CudaKernels.load(driver, ccMajor, ccMinor);
    }

    /** Opens device {@code index}: libraries, context, kernels. */
    static CudaDevice open(CudaRuntime runtime, CudaDriver driver, Cublas cublas, int index) {
        return new CudaDevice(runtime, driver, cublas, index);
    }

    @Override
    public String name() { return deviceName + " (sm_" + ccMajor + ccMinor + ")"; }

    /** A line for logs and summaries. */
    String describe() {
        return deviceName + ", sm_" + ccMajor + ccMinor + ", " + multiprocessors + " SMs, "
                + (totalMemory >> 20) + " MiB; CUDA runtime " + version(runtimeVersion) + " (" + runtime.path()
                + "), driver " + version(driverVersion) + " (" + driver.path() + "), cuBLAS " + cublasVersion / 10000
                + "." + cublasVersion / 100 % 100 + "." + cublasVersion % 100 + " (" + cublas.path() + "), kernels from "
                + kernels.origin;
    }

    static String version(int v) { return v / 1000 + "." + v % 1000 / 10; }

    @Override
    public void bindThread() { runtime.setDevice(index); }

    @Override
    public long malloc(long bytes) { return runtime.malloc(bytes); }

    @Override
    public void free(long pointer) { runtime.free(pointer); }

    @Override
    public MemorySegment allocHost(long bytes) {
        try {
            return runtime.mallocHost(bytes);
        } catch (CudaException e) {
            // Some sandboxes refuse page-locked memory; copies from ordinary memory still work (synchronously).
            Arena arena = Arena.ofShared();
            MemorySegment segment = arena.allocate(bytes, 256);
            pageable.put(segment.address(), arena);
            return segment;
        }
    }

    @Override
    public void freeHost(MemorySegment host) {
        Arena arena = pageable.remove(host.address());
        if (arena != null) arena.close();
        else runtime.freeHost(host);
    }

    @Override
    public Queue newQueue() { return new CudaQueue(); }

    /** A stream, a cuBLAS handle bound to it, and the argument buffers of kernel launches. */
    private final class CudaQueue implements Queue {
        private final MemorySegment stream;
        private final MemorySegment handle;
        private final Arena arena = Arena.ofShared();
        private final MemorySegment alpha, beta;
        private final MemorySegment values, pointers;

        CudaQueue() {
            stream = runtime.streamCreate();
            MemorySegment h;
            try {
                h = cublas.create();
                cublas.setStream(h, stream);
            } catch (RuntimeException e) {
                runtime.streamDestroy(stream);
                arena.close();
                throw e;
            }
            handle = h;
            alpha = arena.allocate(JAVA_FLOAT);
            beta = arena.allocate(JAVA_FLOAT);
            values = arena.allocate(8L * MAX_PARAMETERS, 8);
            pointers = arena.allocate(ADDRESS, MAX_PARAMETERS);
            for (int i = 0; i < MAX_PARAMETERS; i++) pointers.setAtIndex(ADDRESS, i, values.asSlice(8L * i, 8));
        }

        @Override
        public void upload(long dst, MemorySegment src, long bytes) {
            runtime.memcpyAsync(dst, src.address(), bytes, CudaRuntime.MEMCPY_HOST_TO_DEVICE, stream);
        }

        @Override
        public void download(MemorySegment dst, long src, long bytes) {
            runtime.memcpyAsync(dst.address(), src, bytes, CudaRuntime.MEMCPY_DEVICE_TO_HOST, stream);
        }

        @Override
        public void gemm(int transA, int transB, int m, int n, int k, float a, long pa, int aType, int lda, long pb,
                         int bType, int ldb, float b, long pc, int ldc, int computeType) {
            alpha.set(JAVA_FLOAT, 0, a);                 // host pointer mode: read before the call returns
            beta.set(JAVA_FLOAT, 0, b);
            cublas.gemmStridedBatched(handle, transA, transB, m, n, k, alpha, pa, aType, lda, 0L, pb, bType, ldb, 0L,
                    beta, pc, Cublas.R_32F, ldc, 0L, 1, computeType);
        }

        @Override
        public void softmaxRows(long s, int ld, int n, int rows, long firstQuery, long firstKey, boolean causal,
                                long lse) {
            values.set(JAVA_LONG, 0, s);
            values.set(JAVA_INT, 8, ld);
            values.set(JAVA_INT, 16, n);
            values.set(JAVA_LONG, 24, firstQuery);
            values.set(JAVA_LONG, 32, firstKey);
            values.set(JAVA_INT, 40, causal ? 1 : 0);
            values.set(JAVA_LONG, 48, lse);
            int block = Math.min(256, Math.max(32, Align.roundUp(n, 32)));
            driver.launch(CudaKernels.SOFTMAX, kernels.softmax, rows, block, 0, stream, pointers);
        }

        @Override
        public void mergeRows(long accO, long accL, long o, long l, int rows, int d) {
            values.set(JAVA_LONG, 0, accO);
            values.set(JAVA_LONG, 8, accL);
            values.set(JAVA_LONG, 16, o);
            values.set(JAVA_LONG, 24, l);
            values.set(JAVA_INT, 32, d);
            int block = Math.min(256, Math.max(32, Align.roundUp(d, 32)));
            driver.launch(CudaKernels.MERGE, kernels.merge, rows, block, 0, stream, pointers);
        }

        @Override
        public void widen(long src, DType type, long dst, long count) {
            values.set(JAVA_LONG, 0, src);
            values.set(JAVA_LONG, 8, dst);
            values.set(JAVA_LONG, 16, count);
            int grid = (int) Math.max(1, Math.min(4096, (count + 255) / 256));
            MemorySegment function = switch (type) {
                case F16 -> kernels.widenF16;
                case BF16 -> kernels.widenBf16;
                case F32 -> throw new IllegalArgumentException("f32 needs no widening");
            };
            driver.launch(type == DType.F16 ? CudaKernels.WIDEN_F16 : CudaKernels.WIDEN_BF16, function, grid, 256, 0,
                    stream, pointers);
        }

        @Override
        public void synchronize() { runtime.streamSynchronize(stream); }

        @Override
        public void close() {
            try {
                cublas.destroy(handle);
                runtime.streamDestroy(stream);
            } finally {
                arena.close();
            }
        }
    }

}
