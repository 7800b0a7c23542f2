package dev.longnet.cli;

import dev.longnet.storage.Disk;
import dev.longnet.storage.ProcSelf;
import java.text.DecimalFormat;
import java.text.DecimalFormatSymbols;
import java.util.Locale;
import me.tongfei.progressbar.ConsoleProgressBarConsumer;
import me.tongfei.progressbar.ProgressBar;
import me.tongfei.progressbar.ProgressBarBuilder;
import me.tongfei.progressbar.ProgressBarStyle;

/**
 * A progress bar on stderr: tokens done, tokens/s, ETA, and resident memory as the extra message. Off (every call a
 * no-op) under --quiet or --json, or when stderr is not a terminal, so logs and pipes stay clean.
 */
public final class ProgressDisplay implements AutoCloseable {
    /** Reading /proc on every update would cost more than the update; twice a second is enough for a human. */
    private static final long RSS_INTERVAL_NANOS = 500_000_000L;

    private final ProgressBar bar;
    private long lastRss;

    private ProgressDisplay(ProgressBar bar) { this.bar = bar; }

    /** A bar counting {@code total} tokens, or a silent one when {@code enabled} is false or there is no terminal. */
    public static ProgressDisplay start(String task, long total, boolean enabled) {
        return start(task, total, 0, enabled);
    }

    /**
     * A bar counting {@code total} tokens of which {@code resumed} were done by an earlier run: it starts there,
     * and its speed and ETA count only this run's work.
     */
    public static ProgressDisplay start(String task, long total, long resumed, boolean enabled) {
        if (!enabled || !interactive()) return new ProgressDisplay(null);
        ProgressBar bar = new ProgressBarBuilder()
                .setTaskName(task)
                .setInitialMax(total)
                .startsFrom(resumed, java.time.Duration.ZERO)
                .setUnit(" tok", 1)
                .showSpeed(new DecimalFormat("#,##0", DecimalFormatSymbols.getInstance(Locale.ROOT)))
                .setStyle(ProgressBarStyle.COLORFUL_UNICODE_BLOCK)
                .setUpdateIntervalMillis(250)
                .setConsumer(new ConsoleProgressBarConsumer(System.err))
                .build();
        ProgressDisplay display = new ProgressDisplay(bar);
        display.refreshMemory(true);
        return display;
    }

    /** True when a person is watching: the JVM has a console that is a terminal. */
    static boolean interactive() {
        java.io.Console console = System.console();
        return console != null && console.isTerminal();
    }

    /** Moves the bar to {@code tokensDone}; safe to call from any thread. */
    public synchronized void update(long tokensDone) {
        if (bar == null) return;
        bar.stepTo(tokensDone);
        refreshMemory(false);
    }

    private void refreshMemory(boolean force) {
        long now = System.nanoTime();
        if (!force && now - lastRss < RSS_INTERVAL_NANOS) return;
        lastRss = now;
        long rss = ProcSelf.rssBytes();
        if (rss >= 0) bar.setExtraMessage(" RSS " + Disk.human(rss));   // the bar prints it right after the speed
    }

    @Override
    public synchronized void close() {
        if (bar != null) bar.close();
    }
}
