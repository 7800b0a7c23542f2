package dev.longnet.engine;

import dev.longnet.storage.VectorApi;
import java.util.concurrent.atomic.AtomicBoolean;

/** The CPU kernel this JVM can run: the Vector API's where the JVM has it, else the scalar one, said once. */
public final class AttentionKernels {
    private static final AtomicBoolean TOLD = new AtomicBoolean();

    private AttentionKernels() { }

    /** A new CPU kernel: {@link VectorAttentionKernel}, or {@link ScalarAttentionKernel} without the Vector API. */
    public static AttentionKernel cpu() {
        if (VectorApi.available()) return new VectorAttentionKernel();
        if (TOLD.compareAndSet(false, true)) {
            System.getLogger("dev.longnet.engine").log(System.Logger.Level.WARNING, "the Vector API is not in this JVM"
                    + " (" + VectorApi.FLAG + "): attention runs on a scalar kernel, several times slower");
        }
        return new ScalarAttentionKernel();
    }

    /**
     * Refuses, in one line naming the flag, work that has no scalar path (the language model and the encoders).
     */
    public static void requireVectorApi(String what) {
        if (!VectorApi.available()) {
            throw new IllegalStateException(what + " needs the Vector API: start the JVM with " + VectorApi.FLAG);
        }
    }
}
