package dev.longnet.engine.cuda;

import static org.junit.jupiter.api.Assertions.fail;

import org.junit.jupiter.api.Assumptions;

/** The "CUDA or skip" rule shared by the CUDA tests (random data and engine runs: {@link dev.longnet.engine.TestData}). */
final class CudaTestSupport {
    /** Set to 1 on a GPU machine: a test that needs CUDA then fails instead of skipping when it is unavailable. */
    static final String REQUIRE_ENV = "LONGNET_REQUIRE_CUDA";

    private CudaTestSupport() { }

    /** Skips the calling test (visible reason) unless CUDA works here; fails instead if LONGNET_REQUIRE_CUDA=1. */
    static void assumeCuda() {
        CudaBackend.Availability a = CudaBackend.available();
        if (!a.available() && "1".equals(System.getenv(REQUIRE_ENV))) {
            fail(REQUIRE_ENV + "=1 but " + a);
        }
        Assumptions.assumeTrue(a.available(), () -> "skipped, no usable CUDA here: " + a.description());
    }
}
