package dev.longnet.storage;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class FileFingerprintTest {
    @TempDir
    Path dir;

    @Test
    void changesWithHeaderSizeOrSampledData() throws IOException {
        for (int size : new int[]{1000, 5 << 20}) {                        // read whole; sampled
            Path file = dir.resolve("f" + size);
            byte[] data = new byte[size];
            new java.util.Random(size).nextBytes(data);
            Files.write(file, data);
            String base = FileFingerprint.of(file, 128);
            assertEquals(base, FileFingerprint.of(file, 128), "stable");
            Path copy = Files.copy(file, dir.resolve("copy" + size));
            assertEquals(base, FileFingerprint.of(copy, 128), "content, not the name");
            flip(file, 5);                                                  // in the header
            assertNotEquals(base, FileFingerprint.of(file, 128));
            flip(file, 5);
            flip(file, size - 3);                                           // in the last sampled MiB
            assertNotEquals(base, FileFingerprint.of(file, 128));
            flip(file, size - 3);
            assertEquals(base, FileFingerprint.of(file, 128));
            try (FileChannel ch = FileChannel.open(file, StandardOpenOption.WRITE)) {
                ch.write(ByteBuffer.wrap(new byte[1]), size);               // one byte longer
            }
            assertNotEquals(base, FileFingerprint.of(file, 128));
        }
    }

    private static void flip(Path file, long position) throws IOException {
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ, StandardOpenOption.WRITE)) {
            ByteBuffer b = ByteBuffer.allocate(1);
            ch.read(b, position);
            b.put(0, (byte) ~b.get(0));
            ch.write(b.rewind(), position);
        }
    }
}
