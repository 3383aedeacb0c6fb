package io.strawless.ops.bench;

import io.strawless.pipeline.credit.Estimator;

/**
 * The bytes an estimator's kernels must move at the least: every packed input they need read once, the
 * advantage and return of every step written once. Group moments, scratch arrays and second passes are left
 * out, so bytes over time is the effective bandwidth a perfect streaming implementation would need, and its
 * ratio to the machine's bandwidth says how far the kernels are from the memory bound.
 */
final class KernelTraffic {

    /** Every step: trainable flag read (int), advantage and return written (double each). */
    private static final int STEP_BYTES = Integer.BYTES + 2 * Double.BYTES;
    /** Every trajectory: where its steps start (int). */
    private static final int TRAJECTORY_BYTES = Integer.BYTES;

    private KernelTraffic() {}

    static long bytes(Estimator estimator, long steps, long trajectories) {
        long stepBytes = STEP_BYTES;
        long trajectoryBytes = TRAJECTORY_BYTES;
        switch (estimator) {
            // Advantage and return of the trajectory.
            case OUTCOME -> trajectoryBytes += 2 * Double.BYTES;
            // Score (double) and group (int) of the trajectory.
            case GRPO, DR_GRPO, RLOO, REINFORCE_PP_BASELINE -> trajectoryBytes += Double.BYTES + Integer.BYTES;
            case GAE -> {
                // Reward and value of the step; outcome reward and bootstrap value of the trajectory.
                stepBytes += 2 * Double.BYTES;
                trajectoryBytes += 2 * Double.BYTES;
            }
            case REINFORCE_PP -> {
                stepBytes += Double.BYTES;
                trajectoryBytes += Double.BYTES;
            }
            // Process reward (double) and whether it was scored (int); score and group of the trajectory.
            case PROCESS -> {
                stepBytes += Double.BYTES + Integer.BYTES;
                trajectoryBytes += Double.BYTES + Integer.BYTES;
            }
            // Reward (double) and observation group (int) of the step; score and group of the trajectory.
            case GIGPO -> {
                stepBytes += Double.BYTES + Integer.BYTES;
                trajectoryBytes += Double.BYTES + Integer.BYTES;
            }
        }
        return stepBytes * steps + trajectoryBytes * trajectories;
    }
}
