package dev.longnet.storage;

/**
 * Access-pattern hints for mapped regions, passed to madvise(2). The POPULATE ones (Linux 5.14 and later) map every
 * page of the region at once, as reads or as writes, instead of one fault per page; older kernels ignore them.
 */
public enum Advice {
    NORMAL(0), RANDOM(1), SEQUENTIAL(2), WILL_NEED(3), DONT_NEED(4), POPULATE_READ(22), POPULATE_WRITE(23);

    /** The Linux MADV_* constant. */
    final int linuxValue;

    Advice(int linuxValue) { this.linuxValue = linuxValue; }
}
