package dev.longnet.engine.job;

import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Path;

/**
 * An output that exists already, refused because the job was not asked to replace it (the overwrite option of
 * {@link dev.longnet.engine.AttentionRequest#withOverwrite}, {@link Job.Builder#force}, or a command's own).
 */
public final class OutputExistsException extends FileAlreadyExistsException {
    public OutputExistsException(Path out) { super(out.toString(), null, "output exists"); }
}
