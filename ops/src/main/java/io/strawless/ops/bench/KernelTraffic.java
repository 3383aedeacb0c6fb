package io.strawless.ops.bench;

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

    static long bytes(String estimator, long steps, long trajectories) {
        long stepBytes = STEP_BYTES;
        long trajectoryBytes = TRAJECTORY_BYTES;
        switch (estimator) {
            // Advantage and return of the trajectory.
            case "outcome" -> trajectoryBytes += 2 * Double.BYTES;
            // Score (double) and group (int) of the trajectory.
            case "grpo", "dr_grpo", "rloo", "reinforce_pp_baseline" -> trajectoryBytes += Double.BYTES + Integer.BYTES;
            case "gae" -> {
                // Reward and value of the step; outcome reward and bootstrap value of the trajectory.
                stepBytes += 2 * Double.BYTES;
                trajectoryBytes += 2 * Double.BYTES;
            }
            case "reinforce_pp" -> {
                stepBytes += Double.BYTES;
                trajectoryBytes += Double.BYTES;
            }
            // Process reward (double) and whether it was scored (int); score and group of the trajectory.
            case "process" -> {
                stepBytes += Double.BYTES + Integer.BYTES;
                trajectoryBytes += Double.BYTES + Integer.BYTES;
            }
            // Reward (double) and observation group (int) of the step; score and group of the trajectory.
            case "gigpo" -> {
                stepBytes += Double.BYTES + Integer.BYTES;
                trajectoryBytes += Double.BYTES + Integer.BYTES;
            }
            default -> throw new IllegalArgumentException("unknown estimator " + estimator);
        }
        return stepBytes * steps + trajectoryBytes * trajectories;
    }
}
