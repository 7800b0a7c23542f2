package dev.longnet.engine.cuda;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

import dev.longnet.storage.DType;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.invoke.MethodHandle;
import java.util.List;

/**
 * The cuBLAS functions the backend uses (libcublas, the v2 API). cuBLAS is column-major: a row-major m×n matrix with
 * leading dimension ld is, to cuBLAS, its n×m transpose with the same ld, which is how the kernel passes its
 * row-major tiles.
 */
@SuppressWarnings("restricted")   // native access is the point; the JVM runs with --enable-native-access
public final class Cublas {
    // cublasOperation_t
    static final int OP_N = 0;
    static final int OP_T = 1;
    // cudaDataType_t (library_types.h)
    static final int R_32F = 0;
    static final int R_16F = 2;
    static final int R_16BF = 14;
    // cublasComputeType_t
    static final int COMPUTE_32F = 68;
    static final int COMPUTE_32F_FAST_TF32 = 77;
    // cublasGemmAlgo_t
    static final int GEMM_DEFAULT = -1;
    // cublasMath_t
    static final int DEFAULT_MATH = 0;

    static final NativeFunction CREATE = NativeFunction.of("cublasCreate_v2", JAVA_INT, ADDRESS);
    static final NativeFunction DESTROY = NativeFunction.of("cublasDestroy_v2", JAVA_INT, ADDRESS);
    static final NativeFunction SET_STREAM = NativeFunction.of("cublasSetStream_v2", JAVA_INT, ADDRESS, ADDRESS);
    static final NativeFunction SET_MATH_MODE = NativeFunction.of("cublasSetMathMode", JAVA_INT, ADDRESS, JAVA_INT);
    static final NativeFunction GET_VERSION = NativeFunction.of("cublasGetVersion_v2", JAVA_INT, ADDRESS, ADDRESS);
    static final NativeFunction GET_STATUS_STRING = NativeFunction.of("cublasGetStatusString", ADDRESS, JAVA_INT);
    static final NativeFunction GEMM_STRIDED_BATCHED_EX = NativeFunction.of("cublasGemmStridedBatchedEx", JAVA_INT,
            ADDRESS, JAVA_INT, JAVA_INT,                       // handle, transa, transb
            JAVA_INT, JAVA_INT, JAVA_INT,                      // m, n, k
            ADDRESS,                                           // alpha
            ADDRESS, JAVA_INT, JAVA_INT, JAVA_LONG,            // A, Atype, lda, strideA
            ADDRESS, JAVA_INT, JAVA_INT, JAVA_LONG,            // B, Btype, ldb, strideB
            ADDRESS,                                           // beta
            ADDRESS, JAVA_INT, JAVA_INT, JAVA_LONG,            // C, Ctype, ldc, strideC
            JAVA_INT, JAVA_INT, JAVA_INT);                     // batchCount, computeType, algo

    static final List<NativeFunction> FUNCTIONS = List.of(CREATE, DESTROY, SET_STREAM, SET_MATH_MODE, GET_VERSION,
            GET_STATUS_STRING, GEMM_STRIDED_BATCHED_EX);

    private final NativeLibraries.Loaded library;
    private final MethodHandle create, destroy, setStream, setMathMode, getVersion, getStatusString, gemm;

    private Cublas(NativeLibraries.Loaded library) {
        this.library = library;
        create = CREATE.bind(library);
        destroy = DESTROY.bind(library);
        setStream = SET_STREAM.bind(library);
        setMathMode = SET_MATH_MODE.bind(library);
        getVersion = GET_VERSION.bind(library);
        getStatusString = GET_STATUS_STRING.bind(library);
        gemm = GEMM_STRIDED_BATCHED_EX.bind(library);
    }

    /** Opens libcublas (first use only); {@link CudaUnavailableException} if absent. */
    public static Cublas load() {
        return new Cublas(NativeLibraries.load(NativeLibraries.Library.CUBLAS));
    }

    public String path() { return library.path(); }

    /** The cudaDataType_t of a storage type. */
    static int dataType(DType dtype) {
        return switch (dtype) {
            case F32 -> R_32F;
            case F16 -> R_16F;
            case BF16 -> R_16BF;
        };
    }

    /** A handle on the current device, in the default (non-TF32) math mode. */
    public MemorySegment create() {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment handle = arena.allocate(ADDRESS);
            check("cublasCreate_v2", (int) create.invokeExact(handle));
            MemorySegment h = handle.get(ADDRESS, 0);
            check("cublasSetMathMode", (int) setMathMode.invokeExact(h, DEFAULT_MATH));
            return h;
        } catch (Throwable t) {
            throw CudaRuntime.rethrow(t);
        }
    }

    public void destroy(MemorySegment handle) {
        try {
            check("cublasDestroy_v2", (int) destroy.invokeExact(handle));
        } catch (Throwable t) {
            throw CudaRuntime.rethrow(t);
        }
    }

    public void setStream(MemorySegment handle, MemorySegment stream) {
        try {
            check("cublasSetStream_v2", (int) setStream.invokeExact(handle, stream));
        } catch (Throwable t) {
            throw CudaRuntime.rethrow(t);
        }
    }

    /** cuBLAS's version as major·10000 + minor·100 + patch. */
    public int version(MemorySegment handle) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment value = arena.allocate(JAVA_INT);
            check("cublasGetVersion_v2", (int) getVersion.invokeExact(handle, value));
            return value.get(JAVA_INT, 0);
        } catch (Throwable t) {
            throw CudaRuntime.rethrow(t);
        }
    }

    /**
     * C = alpha·op(A)·op(B) + beta·C for {@code batch} matrices at the given strides (elements), column-major.
     * alpha and beta point to host floats (compute type 32F).
     */
    public void gemmStridedBatched(MemorySegment handle, int transA, int transB, int m, int n, int k,
                                   MemorySegment alpha, long a, int aType, int lda, long strideA,
                                   long b, int bType, int ldb, long strideB, MemorySegment beta,
                                   long c, int cType, int ldc, long strideC, int batch, int computeType) {
        try {
            int status = (int) gemm.invokeExact(handle, transA, transB, m, n, k, alpha,
                    MemorySegment.ofAddress(a), aType, lda, strideA, MemorySegment.ofAddress(b), bType, ldb, strideB,
                    beta, MemorySegment.ofAddress(c), cType, ldc, strideC, batch, computeType, GEMM_DEFAULT);
            if (status != 0) {
                throw new CudaException("cublasGemmStridedBatchedEx(m=" + m + ", n=" + n + ", k=" + k + ", lda=" + lda
                        + ", ldb=" + ldb + ", ldc=" + ldc + ", types " + aType + "/" + bType + "/" + cType
                        + ", compute " + computeType + ")", status, statusString(status));
            }
        } catch (Throwable t) {
            throw CudaRuntime.rethrow(t);
        }
    }

    public String statusString(int status) {
        try {
            MemorySegment text = (MemorySegment) getStatusString.invokeExact(status);
            return text.equals(MemorySegment.NULL) ? "" : text.reinterpret(Long.MAX_VALUE).getString(0);
        } catch (Throwable t) {
            throw CudaRuntime.rethrow(t);
        }
    }

    private void check(String call, int status) {
        if (status != 0) throw new CudaException(call, status, statusString(status));
    }
}
