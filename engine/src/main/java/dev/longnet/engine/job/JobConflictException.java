package dev.longnet.engine.job;

/**
 * A job that cannot run or resume as asked: another run holds its output or state, an input collides with what
 * the job writes, or what it would resume differs from what it was given. Nothing was changed; the message names
 * the file and says what differs. {@link #startOver()} says whether starting the job over (the restart option of
 * {@link dev.longnet.engine.AttentionRequest#withRestart}, {@link dev.longnet.engine.model.ScoreRun.Options} or a
 * command's) resolves it; the message leaves the way to do that to whoever reports it.
 */
public class JobConflictException extends IllegalStateException {
    private final boolean startOver;

    public JobConflictException(String message) { this(message, false); }

    /** A conflict that starting over, dropping what the job would resume, resolves when {@code startOver}. */
    public JobConflictException(String message, boolean startOver) {
        super(message);
        this.startOver = startOver;
    }

    /** True when starting the job over (ignoring and replacing what it would resume) resolves the conflict. */
    public boolean startOver() { return startOver; }
}
