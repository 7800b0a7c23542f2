package dev.longnet.engine;

import dev.longnet.storage.DType;
import java.util.Map;

/**
 * What a file job decides before it writes anything, computed once and passed down: the checked inputs, the
 * schedule (the operator follows this one, so the units it runs are the units the journal records), the run's
 * identity (the journal's header) and the disk a fresh run needs.
 */
record JobPlan(AttentionRequest request, AttentionInputs inputs, Schedule schedule,
               Map<String, String> identity, long spaceNeeded) {

    long n() { return inputs.n(); }

    long[] outputShape() { return new long[]{inputs.n(), inputs.heads(), inputs.headDim()}; }

    DType outputType() { return request.outputType(); }

    /** True when the output's rows are written as each unit ends (see {@link #direct(DType, Schedule)}). */
    boolean direct() { return direct(outputType(), schedule); }

    /**
     * True when a run writes its output's rows directly, converted from the unit's f32 rows in memory
     * ({@link UnitScratch}) as each unit ends: the output is not f32 (an f32 output is itself the accumulator) and
     * the schedule has one pass that is not split, so every unit finishes its rows. Such a run keeps no f32
     * accumulator, no lse scratch and no undo image on disk.
     */
    static boolean direct(DType outputType, Schedule schedule) {
        return outputType != DType.F32 && schedule.passes().size() == 1 && !schedule.passes().getFirst().split();
    }

    /**
     * Disk a fresh run needs: the output, and unless it is written directly the f32 accumulator, the lse scratch
     * and the undo image.
     */
    static long spaceNeeded(AttentionInputs inputs, DType outputType, Schedule schedule) {
        long n = inputs.n();
        long elements = n * inputs.heads() * inputs.headDim();
        if (direct(outputType, schedule)) return elements * outputType.bytes();
        long outRow = (long) inputs.heads() * inputs.headDim() * 4 + inputs.heads() * 4L;
        long undo = 0;
        for (int p = 1; p < schedule.passes().size(); p++) {
            undo = Math.max(undo, Math.min(n, schedule.passes().get(p).unitRows()) * outRow);
        }
        return elements * 4 + n * inputs.heads() * 4L + (outputType == DType.F32 ? 0 : elements * outputType.bytes())
                + undo;
    }
}
