package io.strawless.pipeline.assembly;

import io.strawless.schemas.OutcomeEvent;

/**
 * What the assembler remembers of a trajectory it already emitted or timed out, until
 * {@code forgetAt}: enough to route its stragglers (LATE, LATE_REVISION) instead of mistaking them for
 * a new trajectory.
 *
 * @param scoredOutcome the outcome it was scored with; null when it timed out unscored
 */
public record FinishedTrajectory(OutcomeEvent scoredOutcome, long forgetAt) {}
