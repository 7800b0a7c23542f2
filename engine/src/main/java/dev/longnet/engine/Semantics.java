package dev.longnet.engine;

/**
 * Which operator the levels compute (docs/SPEC.md). {@link #EXACT} is SPEC.md's definition: real positions only.
 * {@link #TORCHSCALE} is what torchscale's DilatedAttention computes, and so what its trained weights (LongNet,
 * GigaPath) expect: each segment is zero-padded to a multiple of the dilation rate, padding rows take part as keys
 * (and, where later segments shift, as queries), and outputs are laid out in the padded coordinates.
 */
public enum Semantics {
    /** SPEC.md's operator: no padding row ever acts as a key or a query. */
    EXACT,
    /** torchscale's DilatedAttention, padding and shifted segments included (SPEC.md "torchscale semantics"). */
    TORCHSCALE;

    public static Semantics parse(String text) {
        for (Semantics s : values()) if (s.name().equalsIgnoreCase(text)) return s;
        throw new IllegalArgumentException("unknown semantics '" + text + "' (expected exact or torchscale)");
    }
}
