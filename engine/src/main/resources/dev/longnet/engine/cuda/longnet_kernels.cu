// The small kernels of longnet-java's CUDA backend (dev.longnet.engine.cuda.CudaAttentionKernel). The two matrix
// products run in cuBLAS; these do the rest of one attention tile:
//   longnet_softmax_rows  scores -> normalised probabilities and each row's log-sum-exp, with the causal mask;
//   longnet_merge_rows    folds one key chunk's (out, lse) into the running (out, lse) by log-sum-exp;
//   longnet_widen_f16/bf16  16-bit values -> f32, so that P·V runs with f32 probabilities.
//
// No include directives: NVRTC compiles this file as it is (the fallback), and nvcc turns it into the PTX shipped beside it
// (bench/gpu/build-ptx.sh). Keep the signatures in step with CudaKernels.java. All arithmetic is f32 with the
// accurate expf/logf/log1pf (never --use_fast_math): the engine's f32 results must match to 1e-5.

#define LONGNET_NEG_INF __int_as_float(0xff800000)

// Reduces v over the block (blockDim.x a multiple of 32, at most 1024); every thread gets the result.
// shared must hold 33 floats. is_max selects max, else sum.
__device__ __forceinline__ float longnet_block_reduce(float v, float* shared, bool is_max) {
    for (int offset = 16; offset > 0; offset >>= 1) {
        float other = __shfl_xor_sync(0xffffffffu, v, offset);
        v = is_max ? fmaxf(v, other) : v + other;
    }
    int lane = threadIdx.x & 31;
    int warp = threadIdx.x >> 5;
    if (lane == 0) shared[warp] = v;
    __syncthreads();
    if (warp == 0) {
        int warps = blockDim.x >> 5;
        v = lane < warps ? shared[lane] : (is_max ? LONGNET_NEG_INF : 0.0f);
        for (int offset = 16; offset > 0; offset >>= 1) {
            float other = __shfl_xor_sync(0xffffffffu, v, offset);
            v = is_max ? fmaxf(v, other) : v + other;
        }
        if (lane == 0) shared[32] = v;
    }
    __syncthreads();
    float result = shared[32];
    __syncthreads();                      // shared is reused by the next reduction
    return result;
}

// One block per query row. s is row-major, rows of ld floats, of which the first n are the row's scores against
// keys firstKey .. firstKey+n-1 (view indices). Row i is query firstQuery + i; when causal it sees only keys
// <= its own index. On return s holds probabilities (0 for masked keys, rows sum to 1) and lse[i] the natural
// log of the row's sum of exponentials (-inf when the row sees no key, its probabilities all 0).
extern "C" __global__ void longnet_softmax_rows(float* s, int ld, int n, long long firstQuery, long long firstKey,
                                                int causal, float* lse) {
    __shared__ float shared[33];
    int row = blockIdx.x;
    float* x = s + (long long) row * ld;
    int visible = n;
    if (causal) {
        long long limit = firstQuery + row + 1 - firstKey;          // keys [firstKey, firstQuery + row] are visible
        visible = limit <= 0 ? 0 : (limit < n ? (int) limit : n);
    }
    float m = LONGNET_NEG_INF;
    for (int j = threadIdx.x; j < visible; j += blockDim.x) m = fmaxf(m, x[j]);
    m = longnet_block_reduce(m, shared, true);
    if (visible == 0 || m == LONGNET_NEG_INF) {
        for (int j = threadIdx.x; j < n; j += blockDim.x) x[j] = 0.0f;
        if (threadIdx.x == 0) lse[row] = LONGNET_NEG_INF;
        return;
    }
    float sum = 0.0f;
    for (int j = threadIdx.x; j < n; j += blockDim.x) {
        float e = j < visible ? expf(x[j] - m) : 0.0f;
        x[j] = e;
        sum += e;
    }
    sum = longnet_block_reduce(sum, shared, false);
    float inv = 1.0f / sum;
    for (int j = threadIdx.x; j < visible; j += blockDim.x) x[j] *= inv;
    if (threadIdx.x == 0) lse[row] = m + logf(sum);
}

// One block per row: (accO, accL) <- logaddexp merge of itself with (o, l). Rows of d floats. A row with
// l = -inf is left alone; a row with accL = -inf takes (o, l) as it is.
extern "C" __global__ void longnet_merge_rows(float* accO, float* accL, const float* o, const float* l, int d) {
    __shared__ float weights[2];
    int row = blockIdx.x;
    if (threadIdx.x == 0) {
        float a = accL[row];
        float b = l[row];
        float wa, wb, merged;
        if (b == LONGNET_NEG_INF) {
            wa = 1.0f; wb = 0.0f; merged = a;
        } else if (a == LONGNET_NEG_INF) {
            wa = 0.0f; wb = 1.0f; merged = b;
        } else {
            float hi = fmaxf(a, b);
            merged = hi + log1pf(expf(-fabsf(a - b)));
            wa = expf(a - merged);
            wb = expf(b - merged);
        }
        weights[0] = wa;
        weights[1] = wb;
        accL[row] = merged;
    }
    __syncthreads();
    float wa = weights[0];
    float wb = weights[1];
    if (wb == 0.0f) return;
    long long base = (long long) row * d;
    for (int c = threadIdx.x; c < d; c += blockDim.x) {
        accO[base + c] = wa == 0.0f ? o[base + c] : accO[base + c] * wa + o[base + c] * wb;
    }
}

// dst[i] = (float) src[i] for IEEE half src, i < count.
extern "C" __global__ void longnet_widen_f16(const unsigned short* src, float* dst, long long count) {
    for (long long i = (long long) blockIdx.x * blockDim.x + threadIdx.x; i < count;
         i += (long long) gridDim.x * blockDim.x) {
        unsigned short h = src[i];
        float f;
        asm("cvt.f32.f16 %0, %1;" : "=f"(f) : "h"(h));
        dst[i] = f;
    }
}

// dst[i] = (float) src[i] for bfloat16 src, i < count: the top half of an f32.
extern "C" __global__ void longnet_widen_bf16(const unsigned short* src, float* dst, long long count) {
    for (long long i = (long long) blockIdx.x * blockDim.x + threadIdx.x; i < count;
         i += (long long) gridDim.x * blockDim.x) {
        dst[i] = __int_as_float(((unsigned int) src[i]) << 16);
    }
}
