package dev.longnet.cli;

import dev.longnet.engine.DilatedAttention;
import dev.longnet.storage.NpyFile;
import dev.longnet.storage.RowWindow;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.function.UnaryOperator;
import picocli.CommandLine;

/** Runs the CLI in process, as main() would, with stdout and stderr captured. */
final class Cli {
    private Cli() { }

    record Run(int code, String out, String err) {
        /** The error output is one line (no stack trace, no usage dump). */
        boolean oneErrorLine() { return err.strip().lines().count() == 1; }

        @Override
        public String toString() { return "exit " + code + "\n--- stdout\n" + out + "--- stderr\n" + err; }
    }

    static Run run(String... args) {
        return run(UnaryOperator.identity(), args);
    }

    /** Runs with the engine options of attend changed by {@code engine} (an injected kernel, a small budget). */
    static Run run(UnaryOperator<DilatedAttention.Options> engine, String... args) {
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        CommandLine command = Main.commandLine(engine);
        command.setOut(new PrintWriter(out, true));
        command.setErr(new PrintWriter(err, true));
        int code = command.execute(args);
        return new Run(code, out.toString(), err.toString());
    }

    /** All values of a small .npy file, widened to double. */
    static double[] read(Path file) throws IOException {
        try (NpyFile npy = NpyFile.open(file); RowWindow w = npy.window(0, npy.rows())) {
            long count = npy.rows() * npy.rowElements();
            double[] values = new double[Math.toIntExact(count)];
            for (int i = 0; i < values.length; i++) values[i] = npy.dtype().get(w.segment(), i);
            return values;
        }
    }

    /** A version-1.0 .npy file with any descr, for the dtype and format error paths. */
    static Path writeNpy(Path file, String descr, String shape, byte[] data) throws IOException {
        String dict = "{'descr': '" + descr + "', 'fortran_order': False, 'shape': " + shape + ", }";
        int unpadded = 10 + dict.length() + 1;
        int padding = (64 - unpadded % 64) % 64;
        String header = dict + " ".repeat(padding) + "\n";
        ByteBuffer bytes = ByteBuffer.allocate(10 + header.length() + data.length).order(ByteOrder.LITTLE_ENDIAN);
        bytes.put((byte) 0x93).put("NUMPY".getBytes(StandardCharsets.US_ASCII)).put((byte) 1).put((byte) 0);
        bytes.putShort((short) header.length()).put(header.getBytes(StandardCharsets.US_ASCII)).put(data);
        Files.write(file, bytes.array());
        return file;
    }
}
