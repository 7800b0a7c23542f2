package dev.longnet.engine.cuda;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;

/**
 * Real downcalls into libcudart where the library is installed, with or without a GPU: the runtime answers its
 * version, names its errors, and reports "no device"/"no driver" as an error code rather than crashing. Skips where
 * libcudart is absent.
 */
class CudaRuntimeSmokeTest {

    @Test
    void runtimeAnswersWithoutADevice() {
        CudaRuntime runtime;
        try {
            runtime = CudaRuntime.load();
        } catch (CudaUnavailableException e) {
            Assumptions.abort("skipped: " + e.getMessage());
            return;
        }
        int version = runtime.runtimeVersion();
        assertTrue(version >= 11000, "runtime version " + version);
        String text = runtime.errorString(CudaRuntime.ERROR_NO_DEVICE);
        assertFalse(text.isBlank(), "error text for cudaErrorNoDevice");
        int[] count = runtime.deviceCountOrError();
        System.out.println("[cuda] runtime " + runtime.path() + " version " + version + ", cudaGetDeviceCount -> count "
                + count[0] + ", error " + count[1] + (count[1] == 0 ? "" : " (" + runtime.errorString(count[1]) + ")"));
        if (count[1] == 0) {
            assertTrue(count[0] >= 1, "a successful cudaGetDeviceCount reports at least one device, got " + count[0]);
        } else {
            assertFalse(runtime.errorString(count[1]).isBlank(), "the error " + count[1] + " has a text");
            assertTrue(count[1] > 0, "a CUDA error code: " + count[1]);
        }
    }
}
