package dev.longnet.cli;

import dev.longnet.storage.DType;
import picocli.CommandLine.ITypeConverter;
import picocli.CommandLine.TypeConversionException;

/** Element types a .npy file can hold: f32 and f16 (numpy has no standard bf16). */
public final class NpyTypeConverter implements ITypeConverter<DType> {
    @Override
    public DType convert(String value) {
        for (DType t : DType.values()) {
            if (t.npyDescr() != null && t.name().equalsIgnoreCase(value)) return t;
        }
        throw new TypeConversionException("unsupported dtype '" + value + "' (expected f32 or f16)");
    }

    /** The completion candidates and the names users type. */
    public static final class Names extends java.util.ArrayList<String> {
        public Names() { super(java.util.List.of("f32", "f16")); }
    }
}
