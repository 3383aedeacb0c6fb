package io.strawless.pipeline.kernels;

/**
 * Count, mean and sum of squared deviations of {@code x} over each group's members, one work-item per
 * group. Two passes in double (mean first, then deviations), so near-constant groups such as
 * (1.0, 1.0, 1.0, 1.0005) keep the digits their normalization divides by. The mean is taken of the
 * members less the first one's value, then added back, so that a group of equal values has exactly that
 * value as its mean and no spread at all: summed as they are, three scores of 0.1 have a mean of
 * 0.10000000000000002, and with credit.epsilon=0 each would be normalised to -0.82 instead of 0. A
 * member may appear several times: that weights it.
 */
public final class GroupMomentsKernel extends CreditKernel {

    // Inputs.
    public double[] x;
    /** Members of group g are {@code members[memberStart[g]] .. members[memberStart[g+1]-1]}. */
    public int[] memberStart;
    /** Indices into {@link #x}. */
    public int[] members;
    // Outputs, per group.
    public int[] count;
    public double[] mean;
    /** Sum of squared deviations from the mean (variance = m2 / (count - ddof)). */
    public double[] m2;

    @Override
    void compute(int g) {
        int first = memberStart[g];
        int end = memberStart[g + 1];
        int n = end - first;
        double shift = 0;
        if (n > 0) {
            shift = x[members[first]];
        }
        double sum = 0;
        for (int m = first; m < end; m++) {
            sum = sum + (x[members[m]] - shift);
        }
        double mu = 0;
        if (n > 0) {
            mu = shift + sum / n;
        }
        double squares = 0;
        for (int m = first; m < end; m++) {
            double d = x[members[m]] - mu;
            squares = squares + d * d;
        }
        count[g] = n;
        mean[g] = mu;
        m2[g] = squares;
    }
}
