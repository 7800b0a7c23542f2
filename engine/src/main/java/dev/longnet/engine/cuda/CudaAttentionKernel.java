package dev.longnet.engine.cuda;

import dev.longnet.engine.Align;
import dev.longnet.engine.AttentionKernel;
import dev.longnet.engine.LogSumExp;
import dev.longnet.engine.View;
import dev.longnet.storage.DType;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedDeque;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Dilated attention tiles on a CUDA device. Per call, for each block of up to {@link Options#queryBlockRows} queries
 * and each chunk of up to the budget's key count:
 * <ol>
 *   <li>the view's strided rows are gathered into page-locked staging and copied to the device (q per block; k and v
 *       once per call when the call's keys fit one chunk);</li>
 *   <li>S = scale·Q·Kᵀ by {@code cublasGemmStridedBatchedEx} (f32, f16 or bf16 inputs, f32 accumulation);</li>
 *   <li>{@code longnet_softmax_rows}: causal mask, row max, exponentials, normalised probabilities and each row's
 *       log-sum-exp, in place;</li>
 *   <li>O = P·V by a second GEMM, in f32 (16-bit values are widened on the device first);</li>
 *   <li>a later key chunk is folded into the first by {@code longnet_merge_rows} (log-sum-exp, on the device);</li>
 * </ol>
 * then (O, lse) comes back to the host and is merged into the stored output rows by {@link LogSumExp#merge}, exactly
 * as the CPU kernel does. Device memory is bounded by {@link Options#workspaceBytes} per call in flight.
 *
 * <p>Each call in flight has its own workspace (a stream, a cuBLAS handle, device and page-locked buffers), taken
 * from an idle list and given back, so {@code DilatedAttention}'s worker threads keep several tiles on the device
 * at once and the number of workspaces is the number of concurrent calls. Close the kernel to free them.
 *
 * <p>Products run in plain f32 (no TF32) unless {@link Options#tf32} is set, so f32 results agree with the CPU
 * kernel to about 1e-6.
 */
public final class CudaAttentionKernel implements AttentionKernel, AutoCloseable {

    /**
     * @param device                CUDA device ordinal
     * @param workspaceBytes  device memory of one workspace, i.e. per call in flight (scores dominate:
     *                              queryBlockRows × key chunk × 4 bytes)
     * @param queryBlockRows        queries per block (the score matrix's rows)
     * @param maxKeyChunk           most keys per chunk, whatever the budget allows
     * @param tf32                  allow TF32 tensor cores for f32 inputs (faster, about 1e-3 relative error)
     */
    public record Options(int device, long workspaceBytes, int queryBlockRows, int maxKeyChunk, boolean tf32) {
        public Options {
            if (device < 0) throw new IllegalArgumentException("device must be >= 0, got " + device);
            if (workspaceBytes < 1) throw new IllegalArgumentException("device memory budget must be positive");
            if (queryBlockRows < 1) throw new IllegalArgumentException("query block must be >= 1 row");
            if (maxKeyChunk < 1) throw new IllegalArgumentException("key chunk must be >= 1 key");
        }

        /** Device 0, 512 MiB per thread, blocks of 1024 queries, chunks of at most 65536 keys, no TF32. */
        public static Options defaults() { return new Options(0, 512L << 20, 1024, 65536, false); }

        public Options withDevice(int d) { return new Options(d, workspaceBytes, queryBlockRows, maxKeyChunk, tf32); }
        public Options withWorkspaceBytes(long b) { return new Options(device, b, queryBlockRows, maxKeyChunk, tf32); }
        public Options withQueryBlockRows(int r) { return new Options(device, workspaceBytes, r, maxKeyChunk, tf32); }
        public Options withMaxKeyChunk(int k) { return new Options(device, workspaceBytes, queryBlockRows, k, tf32); }
        public Options withTf32(boolean t) { return new Options(device, workspaceBytes, queryBlockRows, maxKeyChunk, t); }
    }

    /** Counters since the kernel was made: calls, bytes each way, matrix-product flops. */
    public record Stats(long calls, long bytesToDevice, long bytesToHost, double gemmFlops) { }

    private final DeviceOps device;
    private final Options options;
    /** Workspaces not in use; a call takes one (or makes one) and gives it back, so there are as many as calls in flight. */
    private final ConcurrentLinkedDeque<Workspace> idle = new ConcurrentLinkedDeque<>();
    private final Set<Workspace> all = ConcurrentHashMap.newKeySet();
    private final AtomicLong calls = new AtomicLong();
    private final AtomicLong toDevice = new AtomicLong();
    private final AtomicLong toHost = new AtomicLong();
    private final AtomicLong flops = new AtomicLong();
    private volatile boolean closed;

    CudaAttentionKernel(DeviceOps device, Options options) {
        this.device = device;
        this.options = options;
    }

    @Override
    public String name() { return "cuda(" + device.name() + ")"; }

    public Options options() { return options; }

    public Stats stats() { return new Stats(calls.get(), toDevice.get(), toHost.get(), (double) flops.get()); }

    @Override
    public void attend(View q, View k, View v, View out, View lse, int qFrom, int qTo, boolean causal, float scale) {
        if (qTo - qFrom <= 0) return;
        if (closed) throw new IllegalStateException("the CUDA kernel is closed");
        int d = q.cols();
        if (k.cols() != d || v.cols() != d || out.cols() != d || lse.cols() != 1 || k.rows() != v.rows()) {
            throw new IllegalArgumentException("mismatched views: q " + q.rows() + "x" + d + ", k " + k.rows() + "x"
                    + k.cols() + ", v " + v.rows() + "x" + v.cols() + ", out " + out.rows() + "x" + out.cols());
        }
        if (qFrom < 0 || qTo > q.rows() || qTo > out.rows() || qTo > lse.rows()) {
            throw new IndexOutOfBoundsException("queries [" + qFrom + ", " + qTo + ") of a view of " + q.rows());
        }
        int keyLimit = causal ? Math.min(k.rows(), qTo) : k.rows();
        if (keyLimit <= 0) return;
        calls.incrementAndGet();
        DType qkType = q.dtype() == k.dtype() ? q.dtype() : DType.F32;     // mixed q/k: both widened on the host
        device.bindThread();
        Workspace ws = acquire(d, qkType, v.dtype());
        boolean healthy = false;
        try {
            ws.keysFrom = ws.keysTo = 0;                                   // nothing of this call's keys is resident
            for (int b0 = qFrom; b0 < qTo; b0 += ws.queryRows) {
                int b1 = Math.min(qTo, b0 + ws.queryRows);
                attendBlock(ws, q, k, v, out, lse, b0, b1, keyLimit, causal, scale);
            }
            healthy = true;
        } finally {
            release(ws, healthy);
        }
    }

    /** Queries [b0, b1) against their keys, chunk by chunk, then merged into out/lse on the host. */
    private void attendBlock(Workspace ws, View q, View k, View v, View out, View lse, int b0, int b1, int keyLimit,
                             boolean causal, float scale) {
        int rows = b1 - b0;
        int d = ws.d;
        int keyEnd = causal ? Math.min(keyLimit, b1) : keyLimit;
        ws.awaitStaging();
        gather(q, b0, rows, ws.qkType, ws.hostQ, ws.rowBuffer);
        upload(ws, ws.devQ, ws.hostQ, (long) rows * d * ws.qkType.bytes());
        boolean first = true;
        for (int c0 = 0; c0 < keyEnd; c0 += ws.keyRows) {
            int c1 = Math.min(keyEnd, c0 + ws.keyRows);
            int n = c1 - c0;
            if (c0 < ws.keysFrom || c1 > ws.keysTo) stageKeys(ws, k, v, c0, Math.min(keyLimit, c0 + ws.keyRows));
            long keyOffset = c0 - ws.keysFrom;
            long kPointer = ws.devK + keyOffset * d * ws.qkType.bytes();
            long vPointer = ws.devV32 + keyOffset * d * 4L;
            int ld = Align.roundUp(n, 4);                                        // 16-byte aligned score rows
            int qkType = Cublas.dataType(ws.qkType);
            int compute = options.tf32() && ws.qkType == DType.F32 ? Cublas.COMPUTE_32F_FAST_TF32 : Cublas.COMPUTE_32F;
            // Row-major S (rows × n, ld) is column-major Sᵀ (n × rows) = K·Qᵀ: A = K (column-major d × n, transposed),
            // B = Q (column-major d × rows).
            ws.queue.gemm(Cublas.OP_T, Cublas.OP_N, n, rows, d, scale, kPointer, qkType, d, ws.devQ, qkType, d,
                    0f, ws.devS, ld, compute);
            long lsePointer = first ? ws.devAccL : ws.devL;
            long outPointer = first ? ws.devAccO : ws.devO;
            ws.queue.softmaxRows(ws.devS, ld, n, rows, b0, c0, causal, lsePointer);
            // Row-major O (rows × d) is column-major Oᵀ (d × rows) = Vᵀ·Pᵀ: A = V (column-major d × n),
            // B = P (column-major n × rows, ld).
            int pvCompute = options.tf32() ? Cublas.COMPUTE_32F_FAST_TF32 : Cublas.COMPUTE_32F;
            ws.queue.gemm(Cublas.OP_N, Cublas.OP_N, d, rows, n, 1f, vPointer, Cublas.R_32F, d, ws.devS, Cublas.R_32F, ld,
                    0f, outPointer, d, pvCompute);
            if (!first) ws.queue.mergeRows(ws.devAccO, ws.devAccL, ws.devO, ws.devL, rows, d);
            flops.addAndGet(4L * rows * n * d);
            first = false;
        }
        ws.queue.download(ws.hostO, ws.devAccO, (long) rows * d * 4);
        ws.queue.download(ws.hostL, ws.devAccL, (long) rows * 4);
        toHost.addAndGet((long) rows * (d + 1) * 4);
        ws.queue.synchronize();
        ws.stagingBusy = false;
        float[] o = ws.rowBuffer;
        for (int i = 0; i < rows; i++) {
            float l = ws.hostL.getAtIndex(ValueLayout.JAVA_FLOAT, i);
            if (l == Float.NEGATIVE_INFINITY) continue;                    // saw no key
            MemorySegment.copy(ws.hostO, ValueLayout.JAVA_FLOAT, (long) i * d * 4, o, 0, d);
            LogSumExp.merge(out, lse, b0 + i, o, 0, l, ws.mergeScratch);
        }
    }

    /** Keys and values [from, to) to the device; 16-bit values are widened to f32 there. */
    private void stageKeys(Workspace ws, View k, View v, int from, int to) {
        int n = to - from;
        int d = ws.d;
        ws.awaitStaging();
        gather(k, from, n, ws.qkType, ws.hostK, ws.rowBuffer);
        gather(v, from, n, ws.vType, ws.hostV, ws.rowBuffer);
        upload(ws, ws.devK, ws.hostK, (long) n * d * ws.qkType.bytes());
        upload(ws, ws.devV, ws.hostV, (long) n * d * ws.vType.bytes());
        if (ws.vType != DType.F32) ws.queue.widen(ws.devV, ws.vType, ws.devV32, (long) n * d);
        ws.keysFrom = from;
        ws.keysTo = to;
    }

    private void upload(Workspace ws, long devicePointer, MemorySegment host, long bytes) {
        ws.queue.upload(devicePointer, host, bytes);
        ws.stagingBusy = true;
        toDevice.addAndGet(bytes);
    }

    /**
     * Rows [from, from + count) of a view, packed row after row into {@code staging} as {@code type}: a byte copy
     * per row when the view already has that type, else widened through {@code row}.
     */
    static void gather(View view, int from, int count, DType type, MemorySegment staging, float[] row) {
        int d = view.cols();
        long rowBytes = (long) d * type.bytes();
        if (view.dtype() == type) {
            long elementBytes = type.bytes();
            for (int i = 0; i < count; i++) {
                long source = (view.offset() + (long) (from + i) * view.rowStride()) * elementBytes;
                MemorySegment.copy(view.data(), source, staging, i * rowBytes, rowBytes);
            }
        } else {
            if (type != DType.F32) throw new IllegalArgumentException("can only widen to f32, not " + type);
            for (int i = 0; i < count; i++) {
                view.readRow(from + i, row, 0, 1f);
                MemorySegment.copy(row, 0, staging, ValueLayout.JAVA_FLOAT, i * rowBytes, d);
            }
        }
    }

    /** An idle workspace for these shapes, or a new one; idle ones of other shapes are freed on the way. */
    private Workspace acquire(int d, DType qkType, DType vType) {
        for (Workspace ws; (ws = idle.pollFirst()) != null; ) {
            if (ws.d == d && ws.qkType == qkType && ws.vType == vType) return ws;
            all.remove(ws);
            ws.free();
        }
        Workspace ws = new Workspace(d, qkType, vType);
        all.add(ws);
        if (closed) {                                   // lost a race with close(): do not leak it
            all.remove(ws);
            ws.free();
            throw new IllegalStateException("the CUDA kernel is closed");
        }
        return ws;
    }

    /** Back to the idle list; a workspace whose call failed (its queue may hold an error) is freed instead. */
    private void release(Workspace ws, boolean healthy) {
        if (healthy && !closed) {
            ws.stagingBusy = false;
            idle.addFirst(ws);
            if (!closed) return;
        }
        if (all.remove(ws)) {
            try {
                ws.free();
            } catch (RuntimeException e) {
                if (healthy) throw e;                   // else keep the call's own exception
            }
        }
    }

    /**
     * Frees every workspace's buffers, streams and handles (call it when no attend() is running). The device itself
     * stays open for other kernels.
     */
    @Override
    public void close() {
        closed = true;
        idle.clear();
        for (Workspace ws : all) {
            if (all.remove(ws)) ws.free();
        }
    }


    /**
     * The sizes of a workspace for head dimension d within the budget: {queryRows, keyRows}. Scores take
     * queryRows × keyRows floats; the rest is linear in each.
     */
    static int[] plan(Options options, int d, DType qkType, DType vType) {
        long budget = options.workspaceBytes();
        int queryRows = options.queryBlockRows();
        while (true) {
            long fixed = (long) queryRows * d * qkType.bytes() + 2L * queryRows * d * 4 + 2L * queryRows * 4;
            long perKey = (long) d * qkType.bytes() + (long) d * vType.bytes() + (vType == DType.F32 ? 0 : d * 4L)
                    + queryRows * 4L;
            long keys = (budget - fixed - 16L * queryRows) / perKey;       // 16·rows: ld rounding of the scores
            long chunk = keys >= 64 ? keys / 64 * 64 : keys;
            chunk = Math.min(chunk, options.maxKeyChunk());
            if (chunk >= Math.min(64, options.maxKeyChunk())) return new int[]{queryRows, (int) chunk};
            if (queryRows <= 32) {
                throw new IllegalArgumentException("a device budget of " + budget + " bytes per thread is too small for"
                        + " head dimension " + d + "; give it at least a few MiB");
            }
            queryRows = Math.max(32, queryRows / 2);
        }
    }

    /** One thread's queue, device buffers and page-locked staging. */
    private final class Workspace {
        final int d;
        final DType qkType, vType;
        final int queryRows, keyRows;
        final DeviceOps.Queue queue;
        final long devQ, devK, devV, devV32, devS, devO, devL, devAccO, devAccL;
        final MemorySegment hostQ, hostK, hostV, hostO, hostL;
        final float[] rowBuffer, mergeScratch;
        /** Keys [keysFrom, keysTo) of the current call are on the device. */
        int keysFrom, keysTo;
        /** Uploads from the staging buffers may still be in flight. */
        boolean stagingBusy;
        private final List<Long> deviceBuffers = new ArrayList<>();
        private final List<MemorySegment> hostBuffers = new ArrayList<>();
        private boolean freed;

        Workspace(int d, DType qkType, DType vType) {
            this.d = d;
            this.qkType = qkType;
            this.vType = vType;
            int[] sizes = plan(options, d, qkType, vType);
            queryRows = sizes[0];
            keyRows = sizes[1];
            long qBytes = (long) queryRows * d * qkType.bytes();
            long kBytes = (long) keyRows * d * qkType.bytes();
            long vBytes = (long) keyRows * d * vType.bytes();
            long sBytes = (long) queryRows * Align.roundUp(keyRows, 4) * 4;
            long oBytes = (long) queryRows * d * 4;
            long lBytes = (long) queryRows * 4;
            queue = device.newQueue();
            try {
                devQ = deviceBuffer(qBytes);
                devK = deviceBuffer(kBytes);
                devV = deviceBuffer(vBytes);
                devV32 = vType == DType.F32 ? devV : deviceBuffer((long) keyRows * d * 4);
                devS = deviceBuffer(sBytes);
                devO = deviceBuffer(oBytes);
                devL = deviceBuffer(lBytes);
                devAccO = deviceBuffer(oBytes);
                devAccL = deviceBuffer(lBytes);
                hostQ = hostBuffer(qBytes);
                hostK = hostBuffer(kBytes);
                hostV = hostBuffer(vBytes);
                hostO = hostBuffer(oBytes);
                hostL = hostBuffer(lBytes);
            } catch (RuntimeException e) {
                free();
                throw e;
            }
            rowBuffer = new float[d];
            mergeScratch = new float[d];
        }

        private long deviceBuffer(long bytes) {
            long pointer = device.malloc(bytes);
            deviceBuffers.add(pointer);
            return pointer;
        }

        private MemorySegment hostBuffer(long bytes) {
            MemorySegment segment = device.allocHost(bytes);
            hostBuffers.add(segment);
            return segment;
        }

        /** Waits for queued uploads before the staging buffers are overwritten. */
        void awaitStaging() {
            if (stagingBusy) {
                queue.synchronize();
                stagingBusy = false;
            }
        }

        synchronized void free() {
            if (freed) return;
            freed = true;
            device.bindThread();
            try {
                queue.synchronize();
            } finally {
                queue.close();
                for (long p : deviceBuffers) device.free(p);
                for (MemorySegment h : hostBuffers) device.freeHost(h);
                deviceBuffers.clear();
                hostBuffers.clear();
            }
        }
    }
}
