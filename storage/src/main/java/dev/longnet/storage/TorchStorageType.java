package dev.longnet.storage;

/**
 * torch's storage classes as a checkpoint names them (torch.FloatStorage, ...): element size and dtype. Only F32,
 * F16 and BF16 storages load as tensors; the others are known so that their tensors can be listed as unsupported.
 */
enum TorchStorageType {
    FloatStorage(4, DType.F32, "float32"),
    HalfStorage(2, DType.F16, "float16"),
    BFloat16Storage(2, DType.BF16, "bfloat16"),
    DoubleStorage(8, null, "float64"),
    LongStorage(8, null, "int64"),
    IntStorage(4, null, "int32"),
    ShortStorage(2, null, "int16"),
    CharStorage(1, null, "int8"),
    ByteStorage(1, null, "uint8"),
    BoolStorage(1, null, "bool"),
    ComplexFloatStorage(8, null, "complex64"),
    ComplexDoubleStorage(16, null, "complex128");

    private final int bytes;
    private final DType dtype;
    private final String torchName;

    TorchStorageType(int bytes, DType dtype, String torchName) {
        this.bytes = bytes;
        this.dtype = dtype;
        this.torchName = torchName;
    }

    int bytes() { return bytes; }

    /** The dtype its tensors load as, or null when they are not supported. */
    DType dtype() { return dtype; }

    /** torch's dtype name: "float32", "int64", ... */
    String torchName() { return torchName; }

    /** The type named torch.NAME, or null. */
    static TorchStorageType byName(String name) {
        for (TorchStorageType t : values()) if (t.name().equals(name)) return t;
        return null;
    }
}
