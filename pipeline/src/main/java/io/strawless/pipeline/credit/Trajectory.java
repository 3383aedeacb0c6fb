package io.strawless.pipeline.credit;

import io.strawless.schemas.TerminalKind;
import java.util.List;
import java.util.Objects;

/**
 * A complete trajectory to score. NaN marks an absent number.
 *
 * @param id trajectory id
 * @param groupId group of trajectories sampled for the same task (null: a group of its own)
 * @param taskId the task
 * @param outcome the delayed reward of the whole trajectory (NaN: none; only gae, reinforce_pp and process accept that)
 * @param terminal how the trajectory ended; TRUNCATED bootstraps GAE with {@code bootstrapValue}
 * @param bootstrapValue V(s_T) after the last step of a truncated trajectory (NaN: none)
 * @param baseline per-task streaming baseline, supplied by the job, used by the {@code outcome} estimator and, under
 *     {@code credit.singleton-group=task-baseline}, by a group-relative one for a trajectory alone in its unit
 *     (NaN: none)
 * @param steps the steps, ordered by index
 */
public record Trajectory(String id, String groupId, String taskId, double outcome, TerminalKind terminal,
                         double bootstrapValue, double baseline, List<Step> steps) {

    public Trajectory {
        Objects.requireNonNull(id, "id");
        Objects.requireNonNull(steps, "steps");
    }
}
