package io.strawless.pipeline.grouping;

/**
 * The streaming per-task baseline of the {@code outcome} estimator, and of a trajectory alone in its group under a
 * group-relative one ({@code credit.singleton-group=task-baseline}): a running mean of the task's
 * outcomes that becomes an exponential moving average (weight {@code 1 - decay}) once enough outcomes
 * were seen, so it starts unbiased and then follows a drifting policy.
 *
 * @param mean the baseline the next trajectory of the task is scored against (0 before any outcome)
 * @param count outcomes folded in so far
 */
public record TaskBaseline(double mean, long count) {

    public static final TaskBaseline NONE = new TaskBaseline(0.0, 0);

    public TaskBaseline update(double outcome, double decay) {
        long n = count + 1;
        double weight = Math.max(1.0 / n, 1.0 - decay);
        return new TaskBaseline(mean + (outcome - mean) * weight, n);
    }
}
