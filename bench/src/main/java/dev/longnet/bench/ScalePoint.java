package dev.longnet.bench;

import dev.longnet.storage.Json;
import java.util.Locale;

/** One measured point of the scaling harness. */
record ScalePoint(String series, long n, double seconds, double tokensPerSecond, double gflops,
                  double fractionOfPeak, long peakRssBytes, long storageReadBytes, long storageWriteBytes) {

    static final String CSV_HEADER =
            "series,n,seconds,tokens_per_second,us_per_token,gflops,fraction_of_peak,peak_rss_bytes,storage_read_bytes,storage_write_bytes";

    double microsPerToken() { return 1e6 / tokensPerSecond; }

    String csv() {
        return String.format(Locale.ROOT, "%s,%d,%.3f,%.1f,%.4f,%.2f,%.4f,%d,%d,%d", series, n, seconds, tokensPerSecond,
                microsPerToken(), gflops, fractionOfPeak, peakRssBytes, storageReadBytes, storageWriteBytes);
    }

    Json.Obj json() {
        return Json.object().put("series", series).put("n", n).put("seconds", seconds)
                .put("tokensPerSecond", tokensPerSecond).put("usPerToken", microsPerToken()).put("gflops", gflops)
                .put("fractionOfPeak", fractionOfPeak).put("peakRssBytes", peakRssBytes)
                .put("storageReadBytes", storageReadBytes).put("storageWriteBytes", storageWriteBytes);
    }

    String row() {
        return String.format(Locale.ROOT, "| %s | 2^%d | %.1f | %,.0f | %.3f | %.1f | %s | %.0f MiB | %.2f / %.2f GiB |",
                series, 63 - Long.numberOfLeadingZeros(n), seconds, tokensPerSecond, microsPerToken(), gflops,
                Double.isNaN(fractionOfPeak) ? "—" : String.format(Locale.ROOT, "%.1f%%", 100 * fractionOfPeak),
                peakRssBytes / 1048576.0, storageReadBytes / 1073741824.0, storageWriteBytes / 1073741824.0);
    }
}
