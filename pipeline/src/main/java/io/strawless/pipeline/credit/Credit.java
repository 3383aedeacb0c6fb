package io.strawless.pipeline.credit;

/**
 * The credit of one trajectory, aligned with its steps. Non-trainable steps get advantage 0 and return 0.
 *
 * @param trajectoryId the trajectory
 * @param advantages per-step advantage, what the policy gradient multiplies
 * @param returns per-step return, the critic's target where the estimator has one (see {@link CreditOptions#ESTIMATOR})
 */
public record Credit(String trajectoryId, double[] advantages, double[] returns) {}
