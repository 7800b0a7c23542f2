package dev.longnet.engine;

/**
 * A kernel met a value it cannot attend with: NaN, an infinity, or a magnitude beyond what float attention can
 * resolve ({@link #QK_BOUND} for q·scale and k, {@link #V_BOUND} for v).
 * Thrown before the tile merges anything; the operator adds the file, row and head.
 *
 * @param tensor  "q", "k" or "v"
 * @param viewRow the row of the tile's view that holds the value
 */
public final class NonFiniteInputException extends IllegalArgumentException {
    private static final long serialVersionUID = 1L;

    /**
     * Values every CPU kernel accepts: with |q·scale| and |k| at most 2^55, a score sums at most 2^16 products of
     * 2^110 and stays finite for d up to 2^16; with |v| at most 2^100, P·V stays finite for views up to 2^27 keys. A
     * tile that meets NaN, an infinity or a larger value throws this before it merges: a wrong output must never
     * look like a result.
     */
    static final float QK_BOUND = 0x1p55f;
    static final float V_BOUND = 0x1p100f;
    private final String tensor;
    private final int viewRow;

    public NonFiniteInputException(String tensor, int viewRow) {
        super(tensor + " row " + viewRow + " of the view holds NaN, an infinity or a value beyond float attention's"
                + " range");
        this.tensor = tensor;
        this.viewRow = viewRow;
    }

    public String tensor() { return tensor; }

    public int viewRow() { return viewRow; }
}
