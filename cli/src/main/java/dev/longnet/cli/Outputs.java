package dev.longnet.cli;

import dev.longnet.storage.DType;
import dev.longnet.storage.NpyFile;
import dev.longnet.storage.RowWindow;
import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.nio.file.Path;

/** Small f32 outputs written as NAME.partial and renamed when complete. */
final class Outputs {
    private static final ValueLayout.OfFloat FLOAT = ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    private Outputs() { }

    /** Writes values of the given shape to target (through target.partial, renamed at the end). */
    static void write(Path target, float[] values, long... shape) throws IOException {
        NpyFile f = NpyFile.create(target, DType.F32, shape);
        try {
            try (RowWindow w = f.window(0, f.rows())) {
                MemorySegment.copy(values, 0, w.segment(), FLOAT, 0, values.length);
                w.force();
            }
            f.commit();
        } catch (IOException | RuntimeException e) {
            f.discard();
            throw e;
        }
    }
}
