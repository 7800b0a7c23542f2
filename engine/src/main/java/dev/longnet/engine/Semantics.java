package dev.longnet.engine;

/**
 * What a level computes at the edges. EXACT: each query attends to the real positions of its dilated view only.
 * TORCHSCALE: as torchscale's DilatedAttention, whose trained weights expect it (segments zero-padded to the
 * segment length and the dilation, the padding's zero keys taking part in the softmax).
 */
public enum Semantics {
    EXACT,
    TORCHSCALE
}
