package dev.longnet.engine.encoder;

/**
 * GigaPath's fixed 2-D sin-cos position embedding (its pos_embed.get_2d_sincos_pos_embed(dim, 1000, cls_token=True)),
 * computed per tile instead of as a table of 10^6 rows. A tile at pixel (x, y) takes row
 * 1 + ⌊x/256⌋·1000 + ⌊y/256⌋; numpy's meshgrid puts ⌊y/256⌋ (the index mod 1000) in the first half of the
 * dimensions and ⌊x/256⌋ in the second. Each half is the 1-D embedding [sin(g·ω_i), cos(g·ω_i)] with
 * ω_i = 1/10000^(i/(dim/4)), i < dim/4, computed in double and rounded to float, as numpy computes and torch stores.
 * Both halves use the same 1-D embedding, so one table of grid × dim/2 floats holds every value.
 */
public final class SlidePositions {
    /** GigaPath's grid: slide_ngrids. */
    public static final int GRID = 1000;
    /** GigaPath's tile size in pixels. */
    public static final int TILE = 256;

    private final int dim;
    private final float[] table;          // GRID rows of dim/2: [sin(gω), cos(gω)]

    public SlidePositions(int dim) {
        if (dim % 4 != 0 || dim < 4) throw new IllegalArgumentException("the position embedding needs a dimension divisible by 4, got " + dim);
        this.dim = dim;
        int quarter = dim / 4;
        double[] omega = new double[quarter];
        for (int i = 0; i < quarter; i++) omega[i] = 1.0 / Math.pow(10000.0, i / (double) quarter);
        table = new float[GRID * 2 * quarter];
        for (int g = 0; g < GRID; g++) {
            for (int i = 0; i < quarter; i++) {
                double a = g * omega[i];
                table[g * 2 * quarter + i] = (float) Math.sin(a);
                table[g * 2 * quarter + quarter + i] = (float) Math.cos(a);
            }
        }
    }

    /**
     * The grid cell of pixel coordinates: ⌊x/256⌋·1000 + ⌊y/256⌋ (row pos − 1 of gigapath's table), or −1 when the
     * tile is off the grid (negative, or x or y at 256,000 pixels or more, or not finite).
     */
    public static int cell(double x, double y) {
        if (!(x >= 0 && y >= 0 && x < (double) GRID * TILE && y < (double) GRID * TILE)) return -1;
        return (int) Math.floor(x / TILE) * GRID + (int) Math.floor(y / TILE);
    }

    /** Adds the embedding of grid cell {@code cell} to dst[at, at + dim). */
    public void add(int cell, float[] dst, int at) {
        int half = dim / 2;
        int gx = cell / GRID, gy = cell % GRID;
        int a = gy * half, b = gx * half;
        for (int i = 0; i < half; i++) dst[at + i] += table[a + i];
        for (int i = 0; i < half; i++) dst[at + half + i] += table[b + i];
    }

    /** The embedding of grid cell {@code cell} (dim floats). */
    public float[] row(int cell) {
        float[] r = new float[dim];
        add(cell, r, 0);
        return r;
    }
}
