package dev.longnet.engine;

/**
 * A run directory that cannot be resumed as asked: its inputs or configuration changed since the run started, or
 * its files do not agree with its journal (both resolved by starting over: {@link #startOver()}), or another run
 * holds it. Nothing was changed; the message says what differs.
 */
public final class RunConflictException extends dev.longnet.engine.job.JobConflictException {
    public RunConflictException(String message) { super(message); }

    public RunConflictException(String message, boolean startOver) { super(message, startOver); }
}
