package dev.longnet.bench;

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

    String json() {
        return String.format(Locale.ROOT, "{\"series\":\"%s\",\"n\":%d,\"seconds\":%.3f,\"tokensPerSecond\":%.1f,"
                        + "\"usPerToken\":%.4f,\"gflops\":%.2f,\"fractionOfPeak\":%.4f,\"peakRssBytes\":%d,"
                        + "\"storageReadBytes\":%d,\"storageWriteBytes\":%d}", series, n, seconds, tokensPerSecond,
                microsPerToken(), gflops, fractionOfPeak, peakRssBytes, storageReadBytes, storageWriteBytes);
    }

    String row() {
        return String.format(Locale.ROOT, "| %s | 2^%d | %.1f | %,.0f | %.3f | %.1f | %.0f%% | %.0f MiB | %.2f / %.2f GiB |",
                series, 63 - Long.numberOfLeadingZeros(n), seconds, tokensPerSecond, microsPerToken(), gflops,
                100 * fractionOfPeak, peakRssBytes / 1048576.0, storageReadBytes / 1073741824.0,
                storageWriteBytes / 1073741824.0);
    }
}
