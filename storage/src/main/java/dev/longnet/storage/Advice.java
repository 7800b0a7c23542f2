package dev.longnet.storage;

/** Access-pattern hints for mapped regions, passed to madvise(2). */
public enum Advice {
    NORMAL(0), RANDOM(1), SEQUENTIAL(2), WILL_NEED(3), DONT_NEED(4);

    /** The Linux MADV_* constant. */
    final int linuxValue;

    Advice(int linuxValue) { this.linuxValue = linuxValue; }
}
