package dev.longnet.engine.cuda;

/**
 * CUDA cannot be used in this process: a library was not found, no device is present, or the kernels could not be
 * loaded. The message says what was looked for and where, so that the fix (install a driver, set
 * {@code LONGNET_CUDA_LIB_PATH}) is plain from it.
 */
public class CudaUnavailableException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    public CudaUnavailableException(String message) { super(message); }

    public CudaUnavailableException(String message, Throwable cause) { super(message, cause); }
}
