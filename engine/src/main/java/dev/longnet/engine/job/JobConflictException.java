package dev.longnet.engine.job;

/**
 * A job that cannot run or resume as asked: another run holds its output or state, an input collides with what
 * the job writes, or what it would resume differs from what it was given. Nothing was changed; the message names
 * the file, says what differs and how to go on.
 */
public class JobConflictException extends IllegalStateException {
    public JobConflictException(String message) { super(message); }
}
