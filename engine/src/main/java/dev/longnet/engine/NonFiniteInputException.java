package dev.longnet.engine;

/**
 * A kernel met a value it cannot attend with: NaN, an infinity, or a magnitude beyond what float attention can
 * resolve ({@link VectorAttentionKernel#QK_BOUND} for q·scale and k, {@link VectorAttentionKernel#V_BOUND} for v).
 * Thrown before the tile merges anything; the operator adds the file, row and head.
 *
 * @param tensor  "q", "k" or "v"
 * @param viewRow the row of the tile's view that holds the value
 */
public final class NonFiniteInputException extends IllegalArgumentException {
    private static final long serialVersionUID = 1L;
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
