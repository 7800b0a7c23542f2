package dev.longnet.storage;

import java.io.IOException;
import java.nio.file.Path;

/** A tensor file that cannot be read as what it claims to be; the message names the file and the reason. */
public final class TensorFormatException extends IOException {
    private final transient Path file;

    public TensorFormatException(Path file, String reason) {
        super(file + ": " + reason);
        this.file = file;
    }

    public Path file() { return file; }
}
