package dev.longnet.cli;

/** A failure of the work that the command reports as one line and exit code 1; no stack trace is needed. */
public final class Failure extends RuntimeException {
    public Failure(String message) { super(message); }

    public Failure(String message, Throwable cause) { super(message, cause); }
}
