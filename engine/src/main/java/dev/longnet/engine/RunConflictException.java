package dev.longnet.engine;

/**
 * A run directory that cannot be resumed as asked: its inputs or configuration changed since the run started, or
 * its files do not agree with its journal. Nothing was changed; the message says what differs and how to start
 * over.
 */
public final class RunConflictException extends dev.longnet.engine.job.JobConflictException {
    public RunConflictException(String message) { super(message); }
}
