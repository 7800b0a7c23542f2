package dev.longnet.bench;

import java.util.List;
import java.util.Locale;
import java.util.function.ToDoubleFunction;

/**
 * A benchmark chart as SVG: two panels of a measure against N (log2 axis), one line per series; by default tokens/s
 * and peak RSS on log axes (the scaling series, where dense attention spans decades). Hand-written: two panels of
 * polylines need no plotting library.
 */
final class Chart {
    private static final int PANEL_W = 440, PANEL_H = 300, LEFT = 70, TOP = 40, BOTTOM = 50;
    private static final String[] COLORS = {"#1f77b4", "#d62728", "#2ca02c", "#9467bd"};

    private Chart() { }

    /** What a panel shows: a measure of each point, on a log axis or on a linear one from zero. */
    record Axis(String label, ToDoubleFunction<ScalePoint> value, boolean log) { }

    static final Axis TOKENS_PER_SECOND = new Axis("tokens/s", ScalePoint::tokensPerSecond, true);
    static final Axis PEAK_RSS_LOG = new Axis("peak RSS (MiB)", p -> p.peakRssBytes() / 1048576.0, true);

    static String svg(String title, List<ScalePoint> points) {
        return svg(title, points, TOKENS_PER_SECOND, PEAK_RSS_LOG);
    }

    static String svg(String title, List<ScalePoint> points, Axis left, Axis right) {
        StringBuilder s = new StringBuilder();
        int width = 2 * (LEFT + PANEL_W + 20);
        int height = TOP + PANEL_H + BOTTOM + 30;
        s.append(String.format(Locale.ROOT, "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" "
                + "font-family=\"sans-serif\" font-size=\"12\">%n<rect width=\"100%%\" height=\"100%%\" fill=\"white\"/>%n", width, height));
        s.append(String.format(Locale.ROOT, "<text x=\"%d\" y=\"20\" font-size=\"15\">%s</text>%n", LEFT, escape(title)));
        panel(s, 0, left, points);
        panel(s, LEFT + PANEL_W + 20, right, points);
        List<String> series = points.stream().map(ScalePoint::series).distinct().toList();
        for (int i = 0; i < series.size(); i++) {
            int y = TOP + PANEL_H + BOTTOM + 15;
            int x = LEFT + i * 160;
            s.append(String.format(Locale.ROOT, "<line x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\" stroke=\"%s\" stroke-width=\"3\"/>"
                    + "<text x=\"%d\" y=\"%d\">%s</text>%n", x, y - 4, x + 24, y - 4, COLORS[i % COLORS.length], x + 30, y, escape(series.get(i))));
        }
        return s.append("</svg>\n").toString();
    }

    private static void panel(StringBuilder s, int x0, Axis axis, List<ScalePoint> points) {
        ToDoubleFunction<ScalePoint> value = axis.value();
        // On a log axis y is log10 of the value, ticks at powers of ten; on a linear one ticks at a round step.
        ToDoubleFunction<ScalePoint> y = axis.log() ? p -> Math.log10(value.applyAsDouble(p)) : value;
        double minX = points.stream().mapToDouble(p -> log2(p.n())).min().orElse(0);
        double maxX = points.stream().mapToDouble(p -> log2(p.n())).max().orElse(1);
        if (maxX == minX) maxX = minX + 1;
        double top = points.stream().mapToDouble(value).max().orElse(10);
        double step = axis.log() ? 1 : roundStep(top / 5);
        double minY = axis.log()
                ? Math.floor(Math.log10(points.stream().mapToDouble(value).filter(v -> v > 0).min().orElse(1))) : 0;
        double maxY = axis.log() ? Math.ceil(Math.log10(top)) : Math.ceil(top / step) * step;
        if (maxY <= minY) maxY = minY + step;
        int left = x0 + LEFT;
        s.append(String.format(Locale.ROOT, "<rect x=\"%d\" y=\"%d\" width=\"%d\" height=\"%d\" fill=\"none\" stroke=\"#999\"/>%n",
                left, TOP, PANEL_W, PANEL_H));
        s.append(String.format(Locale.ROOT, "<text x=\"%d\" y=\"%d\" text-anchor=\"middle\">N (tokens)</text>%n",
                left + PANEL_W / 2, TOP + PANEL_H + 35));
        s.append(String.format(Locale.ROOT, "<text x=\"%d\" y=\"%d\">%s%s</text>%n", left, TOP - 8,
                escape(axis.label()), axis.log() ? " (log scale)" : ""));
        for (double e = Math.ceil(minX); e <= maxX; e += 2) {
            double px = left + (e - minX) / (maxX - minX) * PANEL_W;
            s.append(String.format(Locale.ROOT, "<line x1=\"%.1f\" y1=\"%d\" x2=\"%.1f\" y2=\"%d\" stroke=\"#eee\"/>"
                    + "<text x=\"%.1f\" y=\"%d\" text-anchor=\"middle\">2^%d</text>%n", px, TOP, px, TOP + PANEL_H, px,
                    TOP + PANEL_H + 16, (int) e));
        }
        for (double e = minY; e <= maxY + step / 2; e += step) {
            double py = TOP + PANEL_H - (e - minY) / (maxY - minY) * PANEL_H;
            String tick = axis.log() ? "1e" + (int) e : e == Math.rint(e) ? Long.toString((long) e)
                    : String.format(Locale.ROOT, "%.2f", e);
            s.append(String.format(Locale.ROOT, "<line x1=\"%d\" y1=\"%.1f\" x2=\"%d\" y2=\"%.1f\" stroke=\"#eee\"/>"
                    + "<text x=\"%d\" y=\"%.1f\" text-anchor=\"end\">%s</text>%n", left, py, left + PANEL_W, py, left - 5, py + 4, tick));
        }
        List<String> series = points.stream().map(ScalePoint::series).distinct().toList();
        for (int i = 0; i < series.size(); i++) {
            StringBuilder line = new StringBuilder();
            for (ScalePoint p : points) {
                if (!p.series().equals(series.get(i)) || value.applyAsDouble(p) <= 0) continue;
                double px = left + (log2(p.n()) - minX) / (maxX - minX) * PANEL_W;
                double py = TOP + PANEL_H - (y.applyAsDouble(p) - minY) / (maxY - minY) * PANEL_H;
                line.append(String.format(Locale.ROOT, "%.1f,%.1f ", px, py));
                s.append(String.format(Locale.ROOT, "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"3\" fill=\"%s\"/>%n", px, py, COLORS[i % COLORS.length]));
            }
            s.append(String.format(Locale.ROOT, "<polyline points=\"%s\" fill=\"none\" stroke=\"%s\" stroke-width=\"2\"/>%n",
                    line.toString().trim(), COLORS[i % COLORS.length]));
        }
    }

    private static double log2(long n) { return Math.log(n) / Math.log(2); }

    /** 1, 2 or 5 times a power of ten, at least {@code raw}. */
    static double roundStep(double raw) {
        double power = Math.pow(10, Math.floor(Math.log10(raw)));
        for (double m : new double[]{1, 2, 5, 10}) if (m * power >= raw) return m * power;
        return 10 * power;
    }

    private static String escape(String text) {
        return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;");
    }
}
