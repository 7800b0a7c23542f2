package dev.longnet.cli;

import dev.longnet.engine.AttentionKernel;
import dev.longnet.engine.AttentionKernels;
import dev.longnet.engine.cuda.CudaBackend;

/** --backend: where attention runs. auto takes CUDA when its libraries and a device are present, else the CPU. */
public enum Backend {
    AUTO, CPU, CUDA;

    /** The chosen backend: its name, its kernel and why it was chosen. */
    public record Choice(String name, AttentionKernel kernel, String reason) implements AutoCloseable {
        @Override
        public void close() throws Exception {
            if (kernel instanceof AutoCloseable closeable) closeable.close();
        }
    }

    /** Picks the kernel; fails (exit 1) for --backend cuda where CUDA cannot run. Loads CUDA lazily, never throws for auto. */
    public Choice resolve() {
        if (this == CPU) return new Choice("cpu", AttentionKernels.cpu(), "asked for");
        CudaBackend.Availability cuda = CudaBackend.available();
        if (cuda.available()) return new Choice("cuda", CudaBackend.kernel(), cuda.description());
        if (this == CUDA) throw new Failure("--backend cuda: " + cuda.description());
        // The first clause of the reason ("no NVIDIA driver"); --backend cuda prints all of it.
        String brief = cuda.description().split(":", 2)[0];
        return new Choice("cpu", AttentionKernels.cpu(), brief);
    }
}
