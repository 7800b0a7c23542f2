package dev.longnet.storage;

import java.io.IOException;
import java.nio.file.Path;

/** The disk has less free space than a job needs; raised before anything is written. */
public final class NotEnoughSpaceException extends IOException {
    private static final long serialVersionUID = 1L;

    public NotEnoughSpaceException(Path directory, long needed, long free, String what) {
        super("not enough disk space in " + directory + ": " + what + " need " + Disk.human(needed) + ", "
                + Disk.human(free) + " is free");
    }
}
