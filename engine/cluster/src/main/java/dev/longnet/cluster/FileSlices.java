package dev.longnet.cluster;

import java.io.IOException;

/** Slices read straight from a member's own k and v files: what a member serves to its peers. */
record FileSlices(JobFiles files, BlockPlan plan) implements SliceSource {
    @Override
    public byte[] fetch(int level, long segment, int block) throws IOException {
        return DilatedSlice.extract(files.config, files.config.levels().get(level), segment, plan.first(block),
                plan.end(block), files.q, files.k, files.v);
    }
}
