package dev.longnet.cli;

import dev.longnet.storage.Disk;
import dev.longnet.storage.LztFile;
import dev.longnet.storage.TokenFile;
import dev.longnet.storage.TokenFormat;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/** longnet tokens: token files. */
@Command(name = "tokens", description = "Token files: 'tokens import' writes an .lzt container.", subcommands = {TokensCommand.Import.class})
final class TokensCommand extends BaseCommand {
    @Override
    protected int execute() {
        throw usage("a subcommand is needed: import");
    }

    /** longnet tokens import: any token file into the .lzt container. */
    @Command(name = "import", description = {
            "Writes a token file as an .lzt container and reports the compression ratio and decode speed.",
            "An .lzt holds lz4-compressed chunks with an index for random access, and CRC32C checksums."})
    static final class Import extends BaseCommand {
        @Parameters(paramLabel = "FILE", description = "The token file.")
        Path file;
        @Option(names = "--format", paramLabel = "FORMAT", description = "bytes, u16, i32 or npy (default: detected"
                + " from the magic bytes and the extension, as score does).")
        String format;
        @Option(names = "--json", description = "The summary as one JSON object on stdout.")
        boolean json;

        @Option(names = "--out", required = true, paramLabel = "FILE", description = "The .lzt file to write.")
        Path out;
        @picocli.CommandLine.Mixin
        ForceOption force;
        @Option(names = "--chunk", paramLabel = "N", defaultValue = "65536", converter = Sizes.IntConverter.class,
                description = "Token ids per chunk (default 65536).")
        int chunk;

        @Override
        protected int execute() throws Exception {
            TokenFormat f = ScoreCommand.parseFormat(format);
            if (f == TokenFormat.LZT) throw usage("--format: the input is already .lzt");
            if (chunk < 1 || chunk > 1 << 26) throw usage("--chunk must be in [1, 2^26], got " + chunk);
            long t0 = System.nanoTime();
            long count;
            long written;
            try (dev.longnet.engine.job.Job job = dev.longnet.engine.job.Job.builder("longnet tokens import").input(file)
                    .output(out).force(force.force).start(); TokenFile in = TokenFile.open(file, detect(f))) {
                count = in.count();
                try {
                    written = LztFile.write(out, in, Math.min(in.width(), 4), chunk);
                } catch (java.io.IOException e) {
                    throw job.failure(e, out);
                }
            }
            double encode = (System.nanoTime() - t0) / 1e9;
            long t1 = System.nanoTime();
            try (TokenFile lzt = TokenFile.open(out, TokenFormat.LZT)) {
                int[] buffer = new int[chunk];
                for (long at = 0; at < count; at += chunk) {
                    int n = (int) Math.min(chunk, count - at);
                    lzt.read(at, buffer, 0, n);
                }
            }
            double decode = (System.nanoTime() - t1) / 1e9;
            long inBytes = Files.size(file);
            if (json) {
                result(dev.longnet.storage.Json.object().put("out", out.toString()).put("tokens", count)
                        .put("inputBytes", inBytes).put("outputBytes", written).put("ratio", (double) inBytes / written)
                        .put("encodeMegabytesPerSecond", inBytes / 1e6 / encode)
                        .put("decodeTokensPerSecond", count / decode).toString());
                return 0;
            }
            result(String.format(Locale.ROOT, "%s: %,d tokens, %s -> %s (ratio %.2f), encode %.1f MB/s, decode %,.0f "
                    + "tokens/s", out, count, Disk.human(inBytes), Disk.human(written), (double) inBytes / written,
                    inBytes / 1e6 / encode, count / decode));
            return 0;
        }

        /** The format given, or the file's (as score detects it); an .lzt input is refused. */
        private TokenFormat detect(TokenFormat given) throws java.io.IOException {
            if (given != null) return given;
            TokenFormat detected = TokenFormat.detect(file);
            if (detected == TokenFormat.LZT) throw new IllegalArgumentException(file + " is already an .lzt container");
            return detected;
        }
    }
}
