package dev.longnet.engine;

/** Which phase (row offset within a segment) each head reads at dilation r; SPEC.md "Head offsets". */
public enum HeadOffsetRule {
    /** torchscale's rule, weight-compatible with its checkpoints: contiguous blocks of ceil(H/r) heads share an offset. */
    TORCHSCALE {
        @Override
        public int offset(int head, int dilation, int heads) {
            int group = (heads + dilation - 1) / dilation;
            return head / group;
        }
    },
    /** The paper's Eq. 13-15: head h reads phase h mod r. */
    PAPER {
        @Override
        public int offset(int head, int dilation, int heads) { return head % dilation; }
    };

    /** The phase o_h in [0, r) of head {@code head} among {@code heads} at dilation {@code dilation}. */
    public abstract int offset(int head, int dilation, int heads);

    public static HeadOffsetRule parse(String text) {
        for (HeadOffsetRule rule : values()) if (rule.name().equalsIgnoreCase(text)) return rule;
        throw new IllegalArgumentException("unknown head-offset rule '" + text + "' (expected torchscale or paper)");
    }
}
