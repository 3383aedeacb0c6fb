package io.strawless.pipeline.kernels;

/**
 * Normalizes each item against the moments of its group (from {@link GroupMomentsKernel}), one
 * work-item per item: {@code out = coefficient * (x - mean) / divisor}, or {@code out += ...} when
 * accumulating. Items of group -1 take no part (0, or left as they are when accumulating).
 *
 * <p>The divisor is 1, a standard deviation with one of the frameworks' epsilon conventions, or
 * {@code (n-1)/n}, which turns centring into the leave-one-out baseline of RLOO:
 * {@code r - mean(others) = n/(n-1) * (r - mean)}. A group of one is either taken raw (mean 0, standard
 * deviation 1, as verl does) or given 0.
 */
public final class NormalizeKernel extends CreditKernel {

    public static final int SCALE_NONE = 0;
    public static final int SCALE_STD = 1;
    public static final int SCALE_LEAVE_ONE_OUT = 2;

    /** {@code std + eps} (verl GRPO, TRL, OpenRLHF group_norm). */
    public static final int EPSILON_ADD_STD = 0;
    /** {@code sqrt(var + eps)} (verl masked_whiten). */
    public static final int EPSILON_ADD_VAR = 1;
    /** {@code sqrt(max(var, eps))} (OpenRLHF advantage whitening). */
    public static final int EPSILON_CLAMP_VAR = 2;
    /** {@code sqrt(max(var, eps)) + eps} (verl vectorized GRPO). */
    public static final int EPSILON_CLAMP_VAR_ADD_STD = 3;

    // Inputs.
    public double[] x;
    /** Group of each item, -1 for none. */
    public int[] group;
    public int[] count;
    public double[] mean;
    public double[] m2;
    // Parameters.
    public int subtractMean;
    public int scale;
    public int ddof;
    public int epsilonMode;
    public double epsilon;
    /** 1: a group of one keeps x / divisor(std 1); 0: it gets 0. */
    public int singletonRaw;
    public double coefficient;
    public int accumulate;
    // Output.
    public double[] out;

    @Override
    void compute(int i) {
        double normalized = 0;
        int g = group[i];
        if (g >= 0) {
            int n = count[g];
            if (n > 1) {
                double centered = x[i];
                if (subtractMean == 1) {
                    centered = centered - mean[g];
                }
                double divisor = 1;
                if (scale == SCALE_STD) {
                    divisor = stdDivisor(m2[g] / (n - ddof));
                } else if (scale == SCALE_LEAVE_ONE_OUT) {
                    divisor = (n - 1.0) / n;
                }
                if (divisor - divisor != 0) {
                    // The variance overflowed (infinite, or NaN): a quotient would be 0, finite and meaningless, where
                    // this product is not, and the scorer refuses credit that is not a finite number.
                    normalized = centered * divisor;
                } else if (divisor != 0) {
                    normalized = centered / divisor;
                }
            } else if (singletonRaw == 1) {
                double divisor = 1;
                if (scale == SCALE_STD) {
                    divisor = stdDivisor(1.0);
                }
                normalized = x[i] / divisor;
            }
        }
        double base = 0;
        if (accumulate == 1) {
            base = out[i];
        }
        out[i] = base + coefficient * normalized;
    }

    private double stdDivisor(double variance) {
        double divisor = Math.sqrt(variance) + epsilon;
        if (epsilonMode == EPSILON_ADD_VAR) {
            divisor = Math.sqrt(variance + epsilon);
        } else if (epsilonMode == EPSILON_CLAMP_VAR) {
            divisor = Math.sqrt(Math.max(variance, epsilon));
        } else if (epsilonMode == EPSILON_CLAMP_VAR_ADD_STD) {
            divisor = Math.sqrt(Math.max(variance, epsilon)) + epsilon;
        }
        return divisor;
    }
}
