package io.strawless.pipeline.grouping;

import io.strawless.pipeline.assembly.AssembledTrajectory;
import java.util.List;

/**
 * Trajectories that must be scored together and never split across batches: a whole group (one task
 * sampled several times), or one ungrouped trajectory.
 *
 * @param baseline the task's streaming baseline when the group closed (used by the {@code outcome}
 *     estimator; recorded in every scored trajectory)
 */
public record TrajectoryGroup(List<AssembledTrajectory> members, double baseline) {

    public String taskId() {
        return members.get(0).taskId();
    }

    public int trajectoryCount() {
        return members.size();
    }
}
