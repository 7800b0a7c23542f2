package dev.longnet.cli;

import dev.longnet.storage.Json;
import dev.longnet.storage.Disk;
import dev.longnet.storage.ProcSelf;
import dev.longnet.engine.AttentionConfig;
import dev.longnet.engine.AttentionJob;
import dev.longnet.engine.AttentionResult;
import java.util.Locale;

/** The end-of-run summary of attend and demo: one human line, or the JSON object for --json. */
final class Summary {
    private Summary() { }

    /** "N tokens in S s: T tokens/s, G GFLOPS, peak RSS M, backend cpu (kernel, threads)". */
    static String human(AttentionResult r, String backend, int threads, long peakRss) {
        return String.format(Locale.ROOT, "%d tokens in %.2f s: %,.0f tokens/s, %.1f GFLOPS, peak RSS %s, backend %s (%s, %d threads)",
                r.tokens(), r.seconds(), r.tokensPerSecond(), r.gflops(), Disk.human(peakRss), backend, r.kernel(),
                threads);
    }

    static Json.Obj json(AttentionResult r, AttentionConfig config, String backend, int threads, long peakRss) {
        return Json.object()
                .put("tokens", r.tokens())
                .put("seconds", r.seconds())
                .put("tokensPerSecond", r.tokensPerSecond())
                .put("gflops", r.gflops())
                .put("peakRssBytes", peakRss)
                .put("storageReadBytes", ProcSelf.storageReadBytes())
                .put("storageWriteBytes", ProcSelf.storageWriteBytes())
                .put("backend", backend)
                .put("kernel", r.kernel())
                .put("threads", threads)
                .put("outputDtype", r.outputType().label())
                .put("units", r.unitsTotal())
                .put("unitsResumed", r.unitsResumed())
                .put("journalSeconds", r.journalSeconds())
                .put("config", config);
    }
}
