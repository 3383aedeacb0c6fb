package io.strawless.pipeline.reliability;

import io.strawless.pipeline.assembly.AssembledTrajectory;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import org.apache.flink.configuration.ConfigOption;
import org.apache.flink.configuration.ReadableConfig;

/**
 * The reward-hacking quarantine: a trajectory is a suspect when its outcome disagrees strongly with what
 * reliable verifiers said of its steps. It succeeded although its verdicts put its share of good steps at
 * most {@code quarantine.max-good-share-on-success}, or it failed although they put it at least
 * {@code quarantine.min-good-share-on-failure}.
 *
 * <p>The share is the posterior mean of the trajectory's rate g of good steps, under a uniform prior: each
 * judged step's verdicts have probability {@code g * P(verdicts | good) + (1 - g) * P(verdicts | bad)}, with
 * the sensitivities and specificities the {@link ReliabilityModel} has learnt. So an unreliable verifier's
 * verdict barely moves it, one that always says "good" does not move it at all, and a trajectory with few
 * judged steps stays near 1/2: the rule needs no separate minimum of evidence.
 */
public final class Quarantine {

    /** Points of the grid over g on which the posterior is integrated. */
    private static final int GRID = 200;

    private final double maxGoodShareOnSuccess;
    private final double minGoodShareOnFailure;
    private final long minLearntSteps;

    public Quarantine(ReadableConfig conf) {
        this.maxGoodShareOnSuccess = share(conf, ReliabilityOptions.MAX_GOOD_SHARE_ON_SUCCESS);
        this.minGoodShareOnFailure = share(conf, ReliabilityOptions.MIN_GOOD_SHARE_ON_FAILURE);
        this.minLearntSteps = ReliabilityOptions.minLearntSteps(conf);
    }

    /**
     * Why {@code trajectory} is a likely reward hack (or its reverse), in words; empty when it is not, or when
     * the model has not yet learnt from enough steps to tell.
     */
    public Optional<String> suspicion(AssembledTrajectory trajectory, ReliabilityModel model) {
        if (trajectory.outcomeTimedOut()) {
            return Optional.empty(); // no outcome to disagree with its verdicts
        }
        if (model.learnt < minLearntSteps) {
            return Optional.empty();
        }
        List<LabelledStep> steps = LabelledStep.of(trajectory);
        double share = goodShare(steps, model);
        boolean succeeded = trajectory.outcome().getSuccess();
        if (succeeded && share <= maxGoodShareOnSuccess) {
            return Optional.of(describe("succeeded", steps.size(), share, ReliabilityOptions.MAX_GOOD_SHARE_ON_SUCCESS,
                    maxGoodShareOnSuccess));
        }
        if (!succeeded && share >= minGoodShareOnFailure) {
            return Optional.of(describe("failed", steps.size(), share, ReliabilityOptions.MIN_GOOD_SHARE_ON_FAILURE,
                    minGoodShareOnFailure));
        }
        return Optional.empty();
    }

    /**
     * Posterior mean of the rate of good steps given the steps' verdicts (1/2 without any). Steps with the same
     * likelihoods (the same verdicts) add the same log-likelihood at every grid point: it is computed once per
     * distinct pair and multiplied by its count (a trajectory has few distinct pairs; per step, the logs were
     * most of this stage's arithmetic).
     */
    static double goodShare(List<LabelledStep> steps, ReliabilityModel model) {
        double[] good = new double[steps.size()];
        double[] bad = new double[steps.size()];
        int[] count = new int[steps.size()];
        int distinct = 0;
        for (LabelledStep step : steps) {
            double[] likelihood = model.likelihoods(step.saidGood());
            int d = 0;
            while (d < distinct && !(good[d] == likelihood[0] && bad[d] == likelihood[1])) {
                d++;
            }
            if (d == distinct) {
                good[d] = likelihood[0];
                bad[d] = likelihood[1];
                distinct++;
            }
            count[d]++;
        }
        double[] logPosterior = new double[GRID];
        for (int d = 0; d < distinct; d++) {
            for (int k = 0; k < GRID; k++) {
                double g = (k + 0.5) / GRID;
                logPosterior[k] += count[d] * Math.log(g * good[d] + (1 - g) * bad[d]);
            }
        }
        double max = Double.NEGATIVE_INFINITY;
        for (double p : logPosterior) {
            max = Math.max(max, p);
        }
        double mass = 0;
        double mean = 0;
        for (int k = 0; k < GRID; k++) {
            double weight = Math.exp(logPosterior[k] - max);
            mass += weight;
            mean += weight * (k + 0.5) / GRID;
        }
        return mean / mass;
    }

    private static String describe(String outcome, int judged, double share, ConfigOption<Double> option, double limit) {
        return String.format(Locale.ROOT, "%s, but the verdicts on its %d judged steps put its share of good steps at"
                + " %.2f (%s %.2f)", outcome, judged, share, option.key(), limit);
    }

    private static double share(ReadableConfig conf, ConfigOption<Double> option) {
        double value = conf.get(option);
        if (!(value >= 0 && value <= 1)) {
            throw new IllegalArgumentException(option.key() + " must be in [0, 1], was " + value);
        }
        return value;
    }
}
