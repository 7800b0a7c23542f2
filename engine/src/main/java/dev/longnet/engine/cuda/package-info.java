/**
 * The CUDA backend: dilated-attention tiles on an NVIDIA GPU through java.lang.foreign downcalls into the CUDA
 * runtime, cuBLAS and the driver API (no JNI, no bindings library). Libraries are opened lazily: a machine without
 * CUDA loads nothing and {@link dev.longnet.engine.cuda.CudaBackend#available()} says why.
 *
 * <ul>
 *   <li>{@link dev.longnet.engine.cuda.CudaBackend}: availability and kernels;</li>
 *   <li>{@link dev.longnet.engine.cuda.CudaAttentionKernel}: the {@code AttentionKernel};</li>
 *   <li>{@link dev.longnet.engine.cuda.CudaRuntime}, {@link dev.longnet.engine.cuda.Cublas},
 *       {@link dev.longnet.engine.cuda.CudaDriver}, {@link dev.longnet.engine.cuda.Nvrtc}: the bindings, each with a
 *       table of the C functions it binds (checked against the CUDA headers by the tests);</li>
 *   <li>resources {@code longnet_kernels.cu} and the PTX built from it (bench/gpu/build-ptx.sh).</li>
 * </ul>
 */
package dev.longnet.engine.cuda;
