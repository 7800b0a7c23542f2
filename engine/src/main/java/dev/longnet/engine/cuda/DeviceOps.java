package dev.longnet.engine.cuda;

import dev.longnet.storage.DType;
import java.lang.foreign.MemorySegment;

/**
 * What {@link CudaAttentionKernel} asks of a device: memory, copies, the two matrix products and the three small
 * kernels, queued in order on a {@link Queue}. {@link CudaDevice} does it with CUDA; the tests' emulator does the
 * same in plain Java, so that the kernel's bookkeeping (leading dimensions, causal limits, key chunks, merges) is
 * tested on machines without a GPU. Device pointers are {@code long} addresses.
 */
interface DeviceOps {
    /** The device, for logs: "NVIDIA H200 (sm_90)". */
    String name();

    /** Makes the device current on the calling thread; called before a thread's first queue operation. */
    void bindThread();

    long malloc(long bytes);

    void free(long pointer);

    /** Host memory for staging copies: page-locked where the device allows, else ordinary memory. */
    MemorySegment allocHost(long bytes);

    void freeHost(MemorySegment host);

    /** A new in-order queue (a CUDA stream with its cuBLAS handle). Queues are used by one thread at a time. */
    Queue newQueue();

    /** Work in issue order; copies are asynchronous until {@link #synchronize}. */
    interface Queue extends AutoCloseable {
        /** Copies {@code bytes} from host {@code src} (offset 0) to device {@code dst}. */
        void upload(long dst, MemorySegment src, long bytes);

        /** Copies {@code bytes} from device {@code src} to host {@code dst} (offset 0). */
        void download(MemorySegment dst, long src, long bytes);

        /**
         * cuBLAS's column-major C = alpha·op(A)·op(B) + beta·C, C m×n of f32, with {@code aType}/{@code bType}
         * cudaDataType_t codes ({@link Cublas#R_32F}, ...) and a cublasComputeType_t.
         */
        void gemm(int transA, int transB, int m, int n, int k, float alpha, long a, int aType, int lda, long b,
                  int bType, int ldb, float beta, long c, int ldc, int computeType);

        /** longnet_softmax_rows over {@code rows} rows of {@code s} (see longnet_kernels.cu). */
        void softmaxRows(long s, int ld, int n, int rows, long firstQuery, long firstKey, boolean causal, long lse);

        /** longnet_merge_rows: (accO, accL) absorbs (o, l) for {@code rows} rows of {@code d} floats. */
        void mergeRows(long accO, long accL, long o, long l, int rows, int d);

        /** {@code count} 16-bit values of {@code type} (F16 or BF16) at src, widened to f32 at dst. */
        void widen(long src, DType type, long dst, long count);

        /** Waits for everything queued so far; errors of earlier asynchronous work surface here. */
        void synchronize();

        @Override
        void close();
    }
}
