package dev.longnet.storage;

import java.io.IOException;
import java.net.URISyntaxException;
import java.nio.file.Files;
import java.nio.file.Path;

import org.junit.jupiter.api.function.Executable;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Shared helpers: numpy-made fixtures and the shape of a proper format error. */
final class TestFiles {
    private TestFiles() { }

    /** A fixture under src/test/resources/npy (made by make_fixtures.py there). */
    static Path npyFixture(String name) {
        try {
            return Path.of(TestFiles.class.getResource("/npy/" + name).toURI());
        } catch (URISyntaxException | NullPointerException e) {
            throw new IllegalStateException("missing fixture " + name, e);
        }
    }

    static byte[] fixtureBytes(String name) throws IOException {
        return Files.readAllBytes(npyFixture(name));
    }

    /** Asserts that action fails with a TensorFormatException naming file and giving a reason containing reason. */
    static TensorFormatException assertFormatError(Path file, String reason, Executable action) {
        TensorFormatException e = assertThrows(TensorFormatException.class, action);
        assertEquals(file, e.file());
        assertTrue(e.getMessage().startsWith(file + ": "), () -> "message does not name the file: " + e.getMessage());
        assertTrue(e.getMessage().contains(reason), () -> "expected reason '" + reason + "' in: " + e.getMessage());
        return e;
    }

    static byte[] hex(String hex) {
        byte[] out = new byte[hex.length() / 2];
        for (int i = 0; i < out.length; i++) out[i] = (byte) Integer.parseInt(hex.substring(2 * i, 2 * i + 2), 16);
        return out;
    }
}
