package io.strawless.pipeline.credit;

/**
 * The credit of one trajectory, aligned with its steps. Non-trainable steps get advantage 0 and return 0.
 *
 * @param trajectoryId the trajectory
 * @param advantages per-step advantage, what the policy gradient multiplies
 * @param returns per-step return, the critic's target where the estimator has one (see {@link CreditOptions#ESTIMATOR})
 */
public record Credit(String trajectoryId, double[] advantages, double[] returns) {

    /**
     * Whether every advantage and return is a finite number. Finite inputs can still overflow: two rewards near
     * the largest double sum to infinity, and a group's moments then turn every member's credit into NaN.
     */
    public boolean isFinite() {
        for (int s = 0; s < advantages.length; s++) {
            if (!Double.isFinite(advantages[s]) || !Double.isFinite(returns[s])) {
                return false;
            }
        }
        return true;
    }
}
