package io.strawless.pipeline.credit;

/**
 * The credit of one trajectory, aligned with its steps. Non-trainable steps get advantage 0 and return 0.
 *
 * @param trajectoryId the trajectory
 * @param advantages per-step advantage, what the policy gradient multiplies
 * @param returns per-step return, the critic's target where the estimator has one (see {@link CreditOptions#ESTIMATOR})
 * @param processRewards per-step process reward as the recurrence took it (the verifier scores' weighted mean,
 *     baselined within the group, times credit.process-coef; not the outcome the last trainable step adds), NaN for a
 *     trainable step no verifier of positive weight scored (the recurrence took 0 for it) and for a step that is not
 *     trainable; null where the estimator has no process rewards ({@link Estimator#hasProcessRewards})
 */
public record Credit(String trajectoryId, double[] advantages, double[] returns, double[] processRewards) {

    /**
     * Whether every advantage and return is a finite number. Finite inputs can still overflow: two rewards near
     * the largest double sum to infinity, and a group's moments then turn every member's credit into NaN (so does a
     * group whose sum of squared deviations overflows, though its mean does not). A process
     * reward that overflows makes its step's advantage overflow too.
     */
    public boolean isFinite() {
        for (int s = 0; s < advantages.length; s++) {
            if (!Double.isFinite(advantages[s]) || !Double.isFinite(returns[s])) {
                return false;
            }
        }
        return true;
    }

    /** Whether every number's square is finite too: one that is not overflows statistics pooled with others. */
    public boolean squaresFinite() {
        for (int s = 0; s < advantages.length; s++) {
            if (!Double.isFinite(advantages[s] * advantages[s]) || !Double.isFinite(returns[s] * returns[s])) {
                return false;
            }
        }
        return true;
    }
}
