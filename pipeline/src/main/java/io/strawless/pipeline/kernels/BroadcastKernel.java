package io.strawless.pipeline.kernels;

/**
 * Copies each trajectory's advantage and return onto its trainable steps (non-trainable steps get 0),
 * one work-item per trajectory: how outcome-level estimators give every step the same credit.
 */
public final class BroadcastKernel extends CreditKernel {

    // Inputs.
    public int[] stepStart;
    public int[] trainable;
    public double[] trajectoryAdvantage;
    public double[] trajectoryReturn;
    // Outputs, per step.
    public double[] advantage;
    public double[] ret;

    @Override
    void compute(int t) {
        for (int s = stepStart[t]; s < stepStart[t + 1]; s++) {
            if (trainable[s] == 1) {
                advantage[s] = trajectoryAdvantage[t];
                ret[s] = trajectoryReturn[t];
            } else {
                advantage[s] = 0;
                ret[s] = 0;
            }
        }
    }
}
