package dev.longnet.engine.cuda;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.List;

/**
 * The backend's own kernels (longnet_kernels.cu), loaded once into the current context with the driver API. The
 * PTX shipped as a resource (built here with nvcc by bench/gpu/build-ptx.sh; no compiler at run time) is tried
 * first; if the driver rejects it (a driver older than its PTX ISA) and NVRTC is installed, the CUDA C source is
 * compiled for the device at hand and loaded instead.
 */
final class CudaKernels {
    static final String SOURCE_RESOURCE = "longnet_kernels.cu";
    static final String PTX_RESOURCE = "longnet_kernels.ptx";
    static final String SOFTMAX = "longnet_softmax_rows";
    static final String MERGE = "longnet_merge_rows";
    static final String WIDEN_F16 = "longnet_widen_f16";
    static final String WIDEN_BF16 = "longnet_widen_bf16";
    static final List<String> ENTRIES = List.of(SOFTMAX, MERGE, WIDEN_F16, WIDEN_BF16);

    final MemorySegment module;
    final MemorySegment softmax, merge, widenF16, widenBf16;
    /** How the module was made: "shipped PTX" or "NVRTC 13.0 (compute_90)". */
    final String origin;

    private CudaKernels(CudaDriver driver, MemorySegment module, String origin) {
        this.module = module;
        this.origin = origin;
        softmax = driver.moduleGetFunction(module, SOFTMAX);
        merge = driver.moduleGetFunction(module, MERGE);
        widenF16 = driver.moduleGetFunction(module, WIDEN_F16);
        widenBf16 = driver.moduleGetFunction(module, WIDEN_BF16);
    }

    /** Loads the kernels into the current context; the device's compute capability picks NVRTC's target. */
    static CudaKernels load(CudaDriver driver, int ccMajor, int ccMinor) {
        CudaException ptxFailure;
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment module = driver.moduleLoadData(CudaDriver.cString(arena, resource(PTX_RESOURCE)));
            return new CudaKernels(driver, module, "shipped PTX");
        } catch (CudaException e) {
            ptxFailure = e;
        }
        Nvrtc nvrtc;
        try {
            nvrtc = Nvrtc.load();
        } catch (CudaUnavailableException e) {
            throw new CudaUnavailableException("the driver rejected the shipped PTX (" + ptxFailure.getMessage()
                    + ") and NVRTC, the fallback, is missing: " + e.getMessage(), ptxFailure);
        }
        String arch = "compute_" + ccMajor + ccMinor;
        byte[] ptx = nvrtc.compileToPtx(new String(resource(SOURCE_RESOURCE), java.nio.charset.StandardCharsets.UTF_8),
                SOURCE_RESOURCE, List.of("--gpu-architecture=" + arch));
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment module = driver.moduleLoadData(CudaDriver.cString(arena, ptx));
            int[] v = nvrtc.version();
            return new CudaKernels(driver, module, "NVRTC " + v[0] + "." + v[1] + " (" + arch + ")");
        }
    }

    /** A resource of this package, whole. */
    static byte[] resource(String name) {
        try (InputStream in = CudaKernels.class.getResourceAsStream(name)) {
            if (in == null) throw new IllegalStateException("resource " + name + " is missing from the engine jar");
            return in.readAllBytes();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
