package dev.longnet.engine.cuda;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;

/**
 * The downcall descriptors against C. Two checks: (1) always, against a table of the prototypes as NVIDIA
 * documents them (the CUDA Runtime API, Driver API, cuBLAS and NVRTC references), parsed by {@link CPrototypes};
 * (2) where the real headers are on this machine (/usr/local/cuda/include, $CUDA_HOME/include, or the folders of
 * {@code LONGNET_CUDA_INCLUDE_PATH}), against the headers' own declarations, with a check that no function we bind
 * by name is a macro for a versioned symbol and that the enum values we use are the headers'. A library whose
 * header is absent skips that part, with the reason.
 */
class CudaBindingsTest {

    static final List<String> RUNTIME_PROTOTYPES = List.of(
            "cudaError_t cudaGetDeviceCount(int *count)",
            "cudaError_t cudaSetDevice(int device)",
            "cudaError_t cudaDeviceGetAttribute(int *value, enum cudaDeviceAttr attr, int device)",
            "cudaError_t cudaRuntimeGetVersion(int *runtimeVersion)",
            "cudaError_t cudaDriverGetVersion(int *driverVersion)",
            "cudaError_t cudaMemGetInfo(size_t *free, size_t *total)",
            "cudaError_t cudaMalloc(void **devPtr, size_t size)",
            "cudaError_t cudaFree(void *devPtr)",
            "cudaError_t cudaMallocHost(void **ptr, size_t size)",
            "cudaError_t cudaFreeHost(void *ptr)",
            "cudaError_t cudaMemcpyAsync(void *dst, const void *src, size_t count, enum cudaMemcpyKind kind, "
                    + "cudaStream_t stream)",
            "cudaError_t cudaMemsetAsync(void *devPtr, int value, size_t count, cudaStream_t stream)",
            "cudaError_t cudaStreamCreate(cudaStream_t *pStream)",
            "cudaError_t cudaStreamCreateWithFlags(cudaStream_t *pStream, unsigned int flags)",
            "cudaError_t cudaStreamDestroy(cudaStream_t stream)",
            "cudaError_t cudaStreamSynchronize(cudaStream_t stream)",
            "cudaError_t cudaEventCreate(cudaEvent_t *event)",
            "cudaError_t cudaEventRecord(cudaEvent_t event, cudaStream_t stream)",
            "cudaError_t cudaEventSynchronize(cudaEvent_t event)",
            "cudaError_t cudaEventDestroy(cudaEvent_t event)",
            "const char* cudaGetErrorString(cudaError_t error)");

    static final List<String> DRIVER_PROTOTYPES = List.of(
            "CUresult cuInit(unsigned int Flags)",
            "CUresult cuDriverGetVersion(int *driverVersion)",
            "CUresult cuDeviceGet(CUdevice *device, int ordinal)",
            "CUresult cuDeviceGetName(char *name, int len, CUdevice dev)",
            "CUresult cuModuleLoadData(CUmodule *module, const void *image)",
            "CUresult cuModuleUnload(CUmodule hmod)",
            "CUresult cuModuleGetFunction(CUfunction *hfunc, CUmodule hmod, const char *name)",
            "CUresult cuLaunchKernel(CUfunction f, unsigned int gridDimX, unsigned int gridDimY, unsigned int gridDimZ, "
                    + "unsigned int blockDimX, unsigned int blockDimY, unsigned int blockDimZ, "
                    + "unsigned int sharedMemBytes, CUstream hStream, void **kernelParams, void **extra)",
            "CUresult cuGetErrorString(CUresult error, const char **pStr)");

    static final List<String> CUBLAS_PROTOTYPES = List.of(
            "cublasStatus_t cublasCreate_v2(cublasHandle_t *handle)",
            "cublasStatus_t cublasDestroy_v2(cublasHandle_t handle)",
            "cublasStatus_t cublasSetStream_v2(cublasHandle_t handle, cudaStream_t streamId)",
            "cublasStatus_t cublasSetMathMode(cublasHandle_t handle, cublasMath_t mode)",
            "cublasStatus_t cublasGetVersion_v2(cublasHandle_t handle, int *version)",
            "const char* cublasGetStatusString(cublasStatus_t status)",
            "cublasStatus_t cublasGemmStridedBatchedEx(cublasHandle_t handle, cublasOperation_t transa, "
                    + "cublasOperation_t transb, int m, int n, int k, const void *alpha, "
                    + "const void *A, cudaDataType Atype, int lda, long long int strideA, "
                    + "const void *B, cudaDataType Btype, int ldb, long long int strideB, const void *beta, "
                    + "void *C, cudaDataType Ctype, int ldc, long long int strideC, int batchCount, "
                    + "cublasComputeType_t computeType, cublasGemmAlgo_t algo)");

    static final List<String> NVRTC_PROTOTYPES = List.of(
            "nvrtcResult nvrtcVersion(int *major, int *minor)",
            "nvrtcResult nvrtcCreateProgram(nvrtcProgram *prog, const char *src, const char *name, int numHeaders, "
                    + "const char * const *headers, const char * const *includeNames)",
            "nvrtcResult nvrtcCompileProgram(nvrtcProgram prog, int numOptions, const char * const *options)",
            "nvrtcResult nvrtcGetPTXSize(nvrtcProgram prog, size_t *ptxSizeRet)",
            "nvrtcResult nvrtcGetPTX(nvrtcProgram prog, char *ptx)",
            "nvrtcResult nvrtcGetProgramLogSize(nvrtcProgram prog, size_t *logSizeRet)",
            "nvrtcResult nvrtcGetProgramLog(nvrtcProgram prog, char *log)",
            "nvrtcResult nvrtcDestroyProgram(nvrtcProgram *prog)",
            "const char *nvrtcGetErrorString(nvrtcResult result)");

    /** Library, its bound functions, the documented prototypes, the header that declares them. */
    record Binding(String library, List<NativeFunction> functions, List<String> prototypes, String header) { }

    static final List<Binding> BINDINGS = List.of(
            new Binding("CUDA runtime", CudaRuntime.FUNCTIONS, RUNTIME_PROTOTYPES, "cuda_runtime_api.h"),
            new Binding("CUDA driver", CudaDriver.FUNCTIONS, DRIVER_PROTOTYPES, "cuda.h"),
            new Binding("cuBLAS", Cublas.FUNCTIONS, CUBLAS_PROTOTYPES, "cublas_api.h"),
            new Binding("NVRTC", Nvrtc.FUNCTIONS, NVRTC_PROTOTYPES, "nvrtc.h"));

    @Test
    void descriptorsMatchTheDocumentedPrototypes() {
        for (Binding b : BINDINGS) {
            Map<String, CPrototypes.Prototype> expected = CPrototypes.table(b.prototypes());
            Set<String> bound = b.functions().stream().map(NativeFunction::name).collect(Collectors.toSet());
            assertEquals(expected.keySet(), bound, b.library() + ": every bound function has a documented prototype");
            for (NativeFunction f : b.functions()) {
                assertEquals(expected.get(f.name()).descriptor(), f.descriptor(),
                        b.library() + " " + f.name() + " vs " + expected.get(f.name()).text());
            }
        }
    }

    @Test
    void parserReadsTheTrickyCases() {
        var p = CPrototypes.parse("extern __host__ __cudart_builtin__ cudaError_t CUDARTAPI cudaMemcpyAsync(void *dst, "
                + "const void *src, size_t count, enum cudaMemcpyKind kind, cudaStream_t stream __dv(0));");
        assertEquals("cudaMemcpyAsync", p.name());
        assertEquals(CudaRuntime.MEMCPY_ASYNC.descriptor(), p.descriptor());
        var q = CPrototypes.parse("const char * const *f(unsigned int, long long int x, const char * const *names)");
        assertEquals("f", q.name());
        assertEquals(3, q.descriptor().argumentLayouts().size());
    }

    @Test
    void runtimeMatchesHeader() { checkAgainstHeader(BINDINGS.get(0)); }

    @Test
    void driverMatchesHeader() { checkAgainstHeader(BINDINGS.get(1)); }

    @Test
    void cublasMatchesHeader() { checkAgainstHeader(BINDINGS.get(2)); }

    @Test
    void nvrtcMatchesHeader() { checkAgainstHeader(BINDINGS.get(3)); }

    @Test
    void constantsMatchHeaders() throws IOException {
        Optional<Path> library = findHeader("library_types.h");
        Optional<Path> driverTypes = findHeader("driver_types.h");
        Assumptions.assumeTrue(library.isPresent() && driverTypes.isPresent(),
                "skipped: library_types.h / driver_types.h not found in " + includeDirectories());
        String lib = Files.readString(library.get());
        String drv = Files.readString(driverTypes.get());
        expectConstant(lib, "CUDA_R_32F", Cublas.R_32F);
        expectConstant(lib, "CUDA_R_16F", Cublas.R_16F);
        expectConstant(lib, "CUDA_R_16BF", Cublas.R_16BF);
        expectConstant(drv, "cudaMemcpyHostToDevice", CudaRuntime.MEMCPY_HOST_TO_DEVICE);
        expectConstant(drv, "cudaMemcpyDeviceToHost", CudaRuntime.MEMCPY_DEVICE_TO_HOST);
        expectConstant(drv, "cudaMemcpyDeviceToDevice", CudaRuntime.MEMCPY_DEVICE_TO_DEVICE);
        expectConstant(drv, "cudaDevAttrMultiProcessorCount", CudaRuntime.ATTR_MULTIPROCESSOR_COUNT);
        expectConstant(drv, "cudaDevAttrComputeCapabilityMajor", CudaRuntime.ATTR_COMPUTE_CAPABILITY_MAJOR);
        expectConstant(drv, "cudaDevAttrComputeCapabilityMinor", CudaRuntime.ATTR_COMPUTE_CAPABILITY_MINOR);
        expectConstant(drv, "cudaStreamNonBlocking", CudaRuntime.STREAM_NON_BLOCKING);
        expectConstant(drv, "cudaErrorInsufficientDriver", CudaRuntime.ERROR_INSUFFICIENT_DRIVER);
        expectConstant(drv, "cudaErrorNoDevice", CudaRuntime.ERROR_NO_DEVICE);
    }

    @Test
    void cublasConstantsMatchHeader() throws IOException {
        Optional<Path> header = findHeader("cublas_api.h");
        Assumptions.assumeTrue(header.isPresent(), "skipped: cublas_api.h not found in " + includeDirectories()
                + " (set LONGNET_CUDA_INCLUDE_PATH to check it)");
        String text = Files.readString(header.get());
        expectConstant(text, "CUBLAS_OP_N", Cublas.OP_N);
        expectConstant(text, "CUBLAS_OP_T", Cublas.OP_T);
        expectConstant(text, "CUBLAS_COMPUTE_32F", Cublas.COMPUTE_32F);
        expectConstant(text, "CUBLAS_COMPUTE_32F_FAST_TF32", Cublas.COMPUTE_32F_FAST_TF32);
        expectConstant(text, "CUBLAS_GEMM_DEFAULT", Cublas.GEMM_DEFAULT);
        expectConstant(text, "CUBLAS_DEFAULT_MATH", Cublas.DEFAULT_MATH);
    }

    private static void expectConstant(String header, String name, long value) {
        Optional<Long> actual = CPrototypes.constant(header, name);
        assertTrue(actual.isPresent(), name + " not found in the header");
        assertEquals(value, actual.get(), name);
    }

    private static void checkAgainstHeader(Binding b) {
        Optional<Path> header = findHeader(b.header());
        Assumptions.assumeTrue(header.isPresent(), "skipped: " + b.header() + " not found in " + includeDirectories()
                + " (set LONGNET_CUDA_INCLUDE_PATH to check " + b.library() + " against it)");
        String text;
        try {
            text = Files.readString(header.get());
        } catch (IOException e) {
            throw new AssertionError("cannot read " + header.get(), e);
        }
        List<String> problems = new ArrayList<>();
        for (NativeFunction f : b.functions()) {
            CPrototypes.renamingMacro(text, f.name()).ifPresent(target -> problems.add(f.name()
                    + " is a macro for " + target + " in " + header.get() + ": bind that symbol instead"));
            List<CPrototypes.Prototype> declared = CPrototypes.declarations(text, f.name());
            if (declared.isEmpty()) {
                problems.add(f.name() + " is not declared in " + header.get());
            } else if (declared.stream().noneMatch(p -> p.descriptor().equals(f.descriptor()))) {
                problems.add(f.name() + ": bound as " + f.descriptor() + " but declared "
                        + declared.stream().map(CPrototypes.Prototype::text).toList());
            }
        }
        if (!problems.isEmpty()) fail(b.library() + " vs " + header.get() + ":\n  " + String.join("\n  ", problems));
    }

    /** The include folders looked at: LONGNET_CUDA_INCLUDE_PATH, $CUDA_HOME/include, /usr/local/cuda/include. */
    static List<Path> includeDirectories() {
        Set<Path> dirs = new LinkedHashSet<>(NativeLibraries.parsePath(System.getenv("LONGNET_CUDA_INCLUDE_PATH")));
        String home = System.getenv("CUDA_HOME");
        if (home != null && !home.isBlank()) dirs.add(Path.of(home, "include"));
        dirs.add(Path.of("/usr/local/cuda/include"));
        return List.copyOf(dirs);
    }

    static Optional<Path> findHeader(String name) {
        for (Path dir : includeDirectories()) {
            Path file = dir.resolve(name);
            if (Files.isRegularFile(file)) return Optional.of(file);
        }
        return Optional.empty();
    }

    @Test
    void headerParserFindsDeclarationsAndMacros() {
        String header = """
                /* a comment mentioning cudaFoo(int) */
                #if defined(__CUDART_API_PER_THREAD_DEFAULT_STREAM)
                    #define cudaFoo __CUDART_API_PTSZ(cudaFoo)
                #endif
                #define cudaBar cudaBar_v2
                extern __host__ cudaError_t CUDARTAPI cudaFoo(int *x,
                                                             size_t n, cudaStream_t s __dv(0));
                typedef enum { cudaThing = 0x02, cudaOther = -1 } E;
                """;
        assertEquals(1, CPrototypes.declarations(header, "cudaFoo").size());
        assertFalse(CPrototypes.renamingMacro(header, "cudaFoo").isPresent());
        assertEquals(Optional.of("cudaBar_v2"), CPrototypes.renamingMacro(header, "cudaBar"));
        assertEquals(Optional.of(2L), CPrototypes.constant(header, "cudaThing"));
        assertEquals(Optional.of(-1L), CPrototypes.constant(header, "cudaOther"));
    }

    /** Not a test: lists what a header run would see, for debugging on a new machine. */
    static String describeHeaders() {
        return Stream.of("cuda_runtime_api.h", "cuda.h", "cublas_api.h", "nvrtc.h")
                .map(h -> h + "=" + findHeader(h).map(Path::toString).orElse("absent")).collect(Collectors.joining(", "));
    }
}
