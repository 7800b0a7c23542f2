package dev.longnet.engine.cuda;

/** A CUDA, cuBLAS, NVRTC or driver call returned an error: the call, the numeric code and the library's text. */
public class CudaException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    private final String call;
    private final int code;

    public CudaException(String call, int code, String text) {
        super(call + " failed: error " + code + (text == null || text.isEmpty() ? "" : " (" + text + ")"));
        this.call = call;
        this.code = code;
    }

    /** The C function that failed, e.g. "cudaMalloc". */
    public String call() { return call; }

    /** Its return code (cudaError_t, cublasStatus_t, nvrtcResult or CUresult). */
    public int code() { return code; }
}
