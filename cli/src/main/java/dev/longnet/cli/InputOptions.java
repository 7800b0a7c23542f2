package dev.longnet.cli;

import java.nio.file.Path;
import picocli.CommandLine.Option;

/** The q, k and v .npy files, each of shape (N, heads, headDim). */
public final class InputOptions {
    @Option(names = "--q", required = true, paramLabel = "Q.npy", description = "Queries, shape (N, heads, headDim).")
    Path q;

    @Option(names = "--k", required = true, paramLabel = "K.npy", description = "Keys, the same shape as q.")
    Path k;

    @Option(names = "--v", required = true, paramLabel = "V.npy", description = "Values, the same shape as q.")
    Path v;
}
