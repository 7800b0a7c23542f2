package dev.longnet.engine.cuda;

import static java.lang.foreign.ValueLayout.JAVA_FLOAT;
import static java.lang.foreign.ValueLayout.JAVA_SHORT;

import dev.longnet.storage.DType;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A {@link DeviceOps} in plain Java: "device memory" is native memory, the GEMM follows cuBLAS's documented
 * column-major semantics (op(A) is m×k, lda the column stride, f32 accumulation), and the three kernels do what
 * longnet_kernels.cu does, row by row. Work runs at once, in order; {@link #synchronize} is a no-op. It lets the
 * tests check the CUDA kernel's own arithmetic of pointers, leading dimensions, causal limits, key chunks and merges
 * where there is no GPU, and counts buffers so that leaks show.
 */
@SuppressWarnings("restricted")   // native access is the point; the JVM runs with --enable-native-access
final class EmulatedDevice implements DeviceOps {
    private final Map<Long, Arena> allocations = new ConcurrentHashMap<>();
    final AtomicInteger queues = new AtomicInteger();
    final AtomicInteger gemms = new AtomicInteger();
    final AtomicInteger merges = new AtomicInteger();
    final AtomicInteger widens = new AtomicInteger();

    @Override
    public String name() { return "emulated"; }

    @Override
    public void bindThread() { }

    @Override
    public long malloc(long bytes) {
        Arena arena = Arena.ofShared();
        MemorySegment s = arena.allocate(Math.max(1, bytes), 256);
        s.fill((byte) 0x7f);                      // garbage, as cudaMalloc gives: nothing may rely on zeros
        allocations.put(s.address(), arena);
        return s.address();
    }

    @Override
    public void free(long pointer) {
        Arena arena = allocations.remove(pointer);
        if (arena == null) throw new IllegalStateException("free of unknown pointer " + pointer);
        arena.close();
    }

    @Override
    public MemorySegment allocHost(long bytes) {
        Arena arena = Arena.ofShared();
        MemorySegment s = arena.allocate(Math.max(1, bytes), 256);
        allocations.put(s.address(), arena);
        return s.reinterpret(bytes);
    }

    @Override
    public void freeHost(MemorySegment host) { free(host.address()); }

    /** Buffers not yet freed. */
    int live() { return allocations.size(); }

    static MemorySegment at(long pointer) { return MemorySegment.ofAddress(pointer).reinterpret(Long.MAX_VALUE); }

    static float element(long pointer, int type, long index) {
        return switch (type) {
            case Cublas.R_32F -> at(pointer).getAtIndex(JAVA_FLOAT, index);
            case Cublas.R_16F -> Float.float16ToFloat(at(pointer).getAtIndex(JAVA_SHORT, index));
            case Cublas.R_16BF -> Float.intBitsToFloat(at(pointer).getAtIndex(JAVA_SHORT, index) << 16);
            default -> throw new IllegalArgumentException("cudaDataType " + type);
        };
    }

    @Override
    public Queue newQueue() {
        queues.incrementAndGet();
        return new Queue() {
            private boolean closed;

            @Override
            public void upload(long dst, MemorySegment src, long bytes) {
                MemorySegment.copy(src, 0, at(dst), 0, bytes);
            }

            @Override
            public void download(MemorySegment dst, long src, long bytes) {
                MemorySegment.copy(at(src), 0, dst, 0, bytes);
            }

            @Override
            public void gemm(int transA, int transB, int m, int n, int k, float alpha, long a, int aType, int lda,
                             long b, int bType, int ldb, float beta, long c, int ldc, int computeType) {
                gemms.incrementAndGet();
                if (computeType != Cublas.COMPUTE_32F && computeType != Cublas.COMPUTE_32F_FAST_TF32) {
                    throw new IllegalArgumentException("compute type " + computeType);
                }
                if (aType != bType) throw new IllegalArgumentException("cuBLAS needs Atype == Btype");
                // cuBLAS's checks: lda >= rows of A as stored, ldb likewise, ldc >= m.
                if (lda < Math.max(1, transA == Cublas.OP_N ? m : k) || ldb < Math.max(1, transB == Cublas.OP_N ? k : n)
                        || ldc < Math.max(1, m)) {
                    throw new IllegalArgumentException("bad leading dimension: m=" + m + " n=" + n + " k=" + k
                            + " lda=" + lda + " ldb=" + ldb + " ldc=" + ldc);
                }
                MemorySegment cs = at(c);
                for (int j = 0; j < n; j++) {
                    for (int i = 0; i < m; i++) {
                        float sum = 0f;
                        for (int p = 0; p < k; p++) {
                            float x = transA == Cublas.OP_N ? element(a, aType, i + (long) p * lda)
                                    : element(a, aType, p + (long) i * lda);
                            float y = transB == Cublas.OP_N ? element(b, bType, p + (long) j * ldb)
                                    : element(b, bType, j + (long) p * ldb);
                            sum += x * y;
                        }
                        long at = i + (long) j * ldc;
                        float old = beta == 0f ? 0f : cs.getAtIndex(JAVA_FLOAT, at);   // beta = 0: C is not read
                        cs.setAtIndex(JAVA_FLOAT, at, alpha * sum + beta * old);
                    }
                }
            }

            @Override
            public void softmaxRows(long s, int ld, int n, int rows, long firstQuery, long firstKey, boolean causal,
                                    long lse) {
                MemorySegment x = at(s);
                MemorySegment l = at(lse);
                for (int row = 0; row < rows; row++) {
                    long base = (long) row * ld;
                    int visible = n;
                    if (causal) {
                        long limit = firstQuery + row + 1 - firstKey;
                        visible = limit <= 0 ? 0 : (int) Math.min(limit, n);
                    }
                    float max = Float.NEGATIVE_INFINITY;
                    for (int j = 0; j < visible; j++) max = Math.max(max, x.getAtIndex(JAVA_FLOAT, base + j));
                    if (visible == 0 || max == Float.NEGATIVE_INFINITY) {
                        for (int j = 0; j < n; j++) x.setAtIndex(JAVA_FLOAT, base + j, 0f);
                        l.setAtIndex(JAVA_FLOAT, row, Float.NEGATIVE_INFINITY);
                        continue;
                    }
                    float sum = 0f;
                    for (int j = 0; j < n; j++) {
                        float e = j < visible ? (float) Math.exp(x.getAtIndex(JAVA_FLOAT, base + j) - max) : 0f;
                        x.setAtIndex(JAVA_FLOAT, base + j, e);
                        sum += e;
                    }
                    float inv = 1f / sum;
                    for (int j = 0; j < visible; j++) {
                        x.setAtIndex(JAVA_FLOAT, base + j, x.getAtIndex(JAVA_FLOAT, base + j) * inv);
                    }
                    l.setAtIndex(JAVA_FLOAT, row, max + (float) Math.log(sum));
                }
            }

            @Override
            public void mergeRows(long accO, long accL, long o, long l, int rows, int d) {
                merges.incrementAndGet();
                MemorySegment ao = at(accO), al = at(accL), bo = at(o), bl = at(l);
                for (int row = 0; row < rows; row++) {
                    float a = al.getAtIndex(JAVA_FLOAT, row);
                    float b = bl.getAtIndex(JAVA_FLOAT, row);
                    if (b == Float.NEGATIVE_INFINITY) continue;
                    float wa, wb, merged;
                    if (a == Float.NEGATIVE_INFINITY) {
                        wa = 0f; wb = 1f; merged = b;
                    } else {
                        float hi = Math.max(a, b);
                        merged = hi + (float) Math.log1p(Math.exp(-Math.abs(a - b)));
                        wa = (float) Math.exp(a - merged);
                        wb = (float) Math.exp(b - merged);
                    }
                    al.setAtIndex(JAVA_FLOAT, row, merged);
                    for (int c = 0; c < d; c++) {
                        long at = (long) row * d + c;
                        float value = wa == 0f ? bo.getAtIndex(JAVA_FLOAT, at)
                                : ao.getAtIndex(JAVA_FLOAT, at) * wa + bo.getAtIndex(JAVA_FLOAT, at) * wb;
                        ao.setAtIndex(JAVA_FLOAT, at, value);
                    }
                }
            }

            @Override
            public void widen(long src, DType type, long dst, long count) {
                widens.incrementAndGet();
                int code = type == DType.F16 ? Cublas.R_16F : type == DType.BF16 ? Cublas.R_16BF : -1;
                for (long i = 0; i < count; i++) at(dst).setAtIndex(JAVA_FLOAT, i, element(src, code, i));
            }

            @Override
            public void synchronize() {
                if (closed) throw new IllegalStateException("queue used after close");
            }

            @Override
            public void close() {
                closed = true;
                queues.decrementAndGet();
            }
        };
    }
}
