package io.strawless.pipeline.batching;

import io.strawless.schemas.OffsetRange;
import io.strawless.schemas.ScoredTrajectory;
import java.util.List;

/**
 * Trajectories scored together (a whole group, or one ungrouped trajectory): the unit the batcher
 * never splits, so a trainer always sees a group whole.
 */
public record ScoredGroup(
        List<ScoredTrajectory> trajectories,
        String backend,
        long minPolicyVersion,
        long maxPolicyVersion,
        List<OffsetRange> lineage) {

    public int stepCount() {
        return trajectories.stream().mapToInt(t -> t.getSteps().size()).sum();
    }
}
