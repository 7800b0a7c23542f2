package dev.longnet.cluster;

import java.io.Serial;
import java.io.Serializable;

/**
 * What every task sends back: its value, or an error line. Tasks never throw across the network, so that no
 * exception class needs to pass the deserialization allowlist, and the caller names the member in the message.
 */
public record Reply(String error, String text, BlockPlan plan, Traffic[] traffic, byte[] data, int stagesSkipped)
        implements Serializable {
    @Serial
    private static final long serialVersionUID = 1L;

    static Reply failed(Throwable e) {
        String message = e.getMessage() != null ? e.getMessage() : e.toString();
        if (e instanceof java.nio.file.NoSuchFileException) message = "no such file: " + message;
        return new Reply(message, null, null, null, null, 0);
    }

    static Reply text(String text) { return new Reply(null, text, null, null, null, 0); }

    static Reply plan(BlockPlan plan) { return new Reply(null, null, plan, null, null, 0); }

    static Reply data(byte[] data) { return new Reply(null, null, null, null, data, 0); }

    static Reply traffic(Traffic[] traffic, int skipped) { return new Reply(null, null, null, traffic, null, skipped); }
}
