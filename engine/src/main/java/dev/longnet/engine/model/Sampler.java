package dev.longnet.engine.model;

import java.util.Arrays;
import java.util.SplittableRandom;

/**
 * Picks the next token from logits: the most likely (temperature 0, ties to the lowest id), or a draw from
 * softmax(logits / temperature) over the top-k tokens (k 0: all), reproducible from the seed.
 */
public final class Sampler {
    private final double temperature;
    private final int topK;
    private final SplittableRandom random;
    private double[] weights = new double[0];
    private Integer[] order = new Integer[0];

    public Sampler(double temperature, int topK, long seed) {
        if (!(temperature >= 0) || Double.isInfinite(temperature)) {
            throw new IllegalArgumentException("temperature must be >= 0, got " + temperature);
        }
        if (topK < 0) throw new IllegalArgumentException("top-k must be >= 0, got " + topK);
        this.temperature = temperature;
        this.topK = topK;
        this.random = new SplittableRandom(seed);
    }

    public int next(float[] logits) {
        return next(logits, 0, logits.length);
    }

    /** The next token from logits[from, from + vocab). */
    public int next(float[] logits, int from, int vocab) {
        if (temperature == 0) {
            int best = 0;
            for (int i = 1; i < vocab; i++) if (logits[from + i] > logits[from + best]) best = i;
            return best;
        }
        if (order.length != vocab) {
            order = new Integer[vocab];
            weights = new double[vocab];
        }
        for (int i = 0; i < vocab; i++) order[i] = i;
        Arrays.sort(order, (a, b) -> a.equals(b) ? 0 : Float.compare(logits[from + b], logits[from + a]) != 0
                ? Float.compare(logits[from + b], logits[from + a]) : Integer.compare(a, b));
        int k = topK == 0 ? vocab : Math.min(topK, vocab);
        double max = logits[from + order[0]];
        double sum = 0;
        for (int i = 0; i < k; i++) {
            weights[i] = Math.exp((logits[from + order[i]] - max) / temperature);
            sum += weights[i];
        }
        double u = random.nextDouble() * sum;
        for (int i = 0; i < k; i++) {
            u -= weights[i];
            if (u < 0) return order[i];
        }
        return order[k - 1];
    }
}
