package dev.longnet.engine.cuda;

import java.util.HashMap;
import java.util.Map;

/**
 * Entry point of the CUDA backend: whether it can run here ({@link #available()}, for {@code --backend auto}) and
 * kernels on a device ({@link #kernel()}). Nothing is loaded until one of these is called; on a machine without an
 * NVIDIA driver or CUDA libraries, {@code available()} answers false with the reason and never throws.
 *
 * <pre>{@code
 * var a = CudaBackend.available();
 * AttentionKernel kernel = a.available() ? CudaBackend.kernel() : AttentionKernels.cpu();
 * }</pre>
 *
 * <p>Libraries are looked up as {@link NativeLibraries} describes: set {@code LONGNET_CUDA_LIB_PATH} to the
 * folders holding libcudart, libcublas (and, optionally, libnvrtc) when they are not on the system's library path.
 */
public final class CudaBackend {
    /**
     * The answer to "can CUDA run here?": when {@code available}, a description of the device and libraries used;
     * otherwise the reason it cannot.
     */
    public record Availability(boolean available, String description) {
        @Override
        public String toString() { return (available ? "CUDA available: " : "CUDA unavailable: ") + description; }
    }

    private static final Map<Integer, Object> DEVICES = new HashMap<>();
    private static volatile Availability availability;

    private CudaBackend() { }

    /** Whether device 0 can run the kernels: libraries, driver, a device, the kernels loaded. Never throws. */
    public static Availability available() {
        Availability a = availability;
        if (a == null) {
            synchronized (CudaBackend.class) {
                a = availability;
                if (a == null) {
                    a = probe();
                    availability = a;
                }
            }
        }
        return a;
    }

    private static Availability probe() {
        try {
            CudaDevice device = device(0);
            return new Availability(true, device.describe());
        } catch (CudaUnavailableException e) {
            return new Availability(false, e.getMessage());
        } catch (CudaException e) {
            return new Availability(false, e.getMessage());
        } catch (Throwable t) {            // a linkage or native-access error must not take down --backend auto
            return new Availability(false, t.getClass().getSimpleName() + ": " + t.getMessage());
        }
    }

    /** A kernel on device 0 with default options; {@link CudaUnavailableException} (with the reason) if none. */
    public static CudaAttentionKernel kernel() { return kernel(CudaAttentionKernel.Options.defaults()); }

    public static CudaAttentionKernel kernel(CudaAttentionKernel.Options options) {
        return new CudaAttentionKernel(device(options.device()), options);
    }

    /** A line describing the device a kernel with these options would use. */
    public static String describe(int device) { return device(device).describe(); }

    /** Opens a device once per process; a failure is remembered and rethrown with its reason. */
    static CudaDevice device(int index) {
        synchronized (DEVICES) {
            Object cached = DEVICES.get(index);
            if (cached == null) {
                try {
                    cached = open(index);
                } catch (CudaUnavailableException | CudaException e) {
                    cached = new CudaUnavailableException(e.getMessage(), e);
                }
                DEVICES.put(index, cached);
            }
            if (cached instanceof CudaUnavailableException e) throw new CudaUnavailableException(e.getMessage(), e);
            return (CudaDevice) cached;
        }
    }

    private static CudaDevice open(int index) {
        CudaDriver driver;
        try {
            driver = CudaDriver.load();
        } catch (CudaUnavailableException e) {
            throw new CudaUnavailableException("no NVIDIA driver: " + e.getMessage(), e);
        }
        CudaRuntime runtime = CudaRuntime.load();
        int[] count = runtime.deviceCountOrError();
        if (count[1] != 0) {
            throw new CudaUnavailableException("cudaGetDeviceCount failed with error " + count[1] + " ("
                    + runtime.errorString(count[1]) + "); runtime " + runtime.path() + ", driver " + driver.path());
        }
        if (index >= count[0]) {
            throw new CudaUnavailableException(count[0] == 0 ? "no CUDA device is visible"
                    : "CUDA device " + index + " asked for, but only " + count[0] + " visible");
        }
        Cublas cublas = Cublas.load();
        return CudaDevice.open(runtime, driver, cublas, index);
    }
}
