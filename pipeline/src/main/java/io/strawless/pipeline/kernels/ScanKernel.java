package io.strawless.pipeline.kernels;

/**
 * The backward recurrence over each trajectory's steps, one work-item per trajectory: generalized
 * advantage estimation (Schulman et al. 2015, eq. 16). With values off and {@code lambda = 1} it is
 * the plain discounted return that REINFORCE++, process rewards and GiGPO need.
 *
 * <p>Non-trainable steps (tool output) vanish from the recurrence as masked tokens do in verl's GAE (no reward,
 * no value, no discount step), count as reward 0 and value 0 while the discount still steps through them, as in
 * OpenRLHF, or end the recurrence, which restarts from 0 before them, as verl's REINFORCE++ multiplies its running
 * return by the response mask. Whichever, their advantage and return are 0.
 */
public final class ScanKernel extends CreditKernel {

    // Inputs, per step.
    public double[] reward;
    /** Read only when {@link #useValues} is 1. */
    public double[] value;
    /** 1 or 0. */
    public int[] trainable;
    // Inputs, per trajectory.
    /** Steps of trajectory t are {@code stepStart[t] .. stepStart[t+1]-1}. */
    public int[] stepStart;
    /** Added to the reward of the trajectory's last trainable step (where verl puts the sequence score). */
    public double[] terminalReward;
    /** V(s_T) after the last step: 0 when terminated, the bootstrap value when truncated. */
    public double[] bootstrap;
    // Parameters.
    public double gamma;
    public double lambda;
    public int useValues;
    /**
     * 0: skip non-trainable steps (verl's GAE); 1: step through them with reward and value 0 (OpenRLHF); 2: restart
     * the recurrence before them (verl's REINFORCE++).
     */
    public int nonTrainable;
    // Outputs, per step.
    public double[] advantage;
    /** advantage + value: the lambda-return, the critic's target. */
    public double[] ret;

    @Override
    void compute(int t) {
        double nextValue = 0;
        if (useValues == 1) {
            nextValue = bootstrap[t];
        }
        double gae = 0;
        int terminalPending = 1;
        for (int s = stepStart[t + 1] - 1; s >= stepStart[t]; s--) {
            if (trainable[s] == 1) {
                double r = reward[s];
                if (terminalPending == 1) {
                    r = r + terminalReward[t];
                    terminalPending = 0;
                }
                double v = 0;
                if (useValues == 1) {
                    v = value[s];
                }
                gae = r + gamma * nextValue - v + gamma * lambda * gae;
                nextValue = v;
                advantage[s] = gae;
                ret[s] = gae + v;
            } else {
                if (nonTrainable == 1) {
                    gae = gamma * nextValue + gamma * lambda * gae;
                    nextValue = 0;
                } else if (nonTrainable == 2) {
                    gae = 0;
                    nextValue = 0;
                }
                advantage[s] = 0;
                ret[s] = 0;
            }
        }
    }
}
