package io.strawless.pipeline.reliability;

import io.strawless.pipeline.assembly.AssembledTrajectory;
import java.util.ArrayList;
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
 * the sensitivities and specificities the {@link ReliabilityModel} has learnt. With a perfect verifier, k steps
 * judged good of n give (k + 1) / (n + 2); less reliable verdicts pull it toward 1/2, and those of a verifier that
 * always says "good" do not move it at all. So the thresholds are the minimum of evidence, and no separate one is
 * needed: no verdict leaves the share at 1/2, which they are kept off (below it on success, above it on failure);
 * one judged step keeps it between 1/3 and 2/3, whatever its verdicts; and how many verdicts of what reliability
 * condemn follows from them (the examples on the options, which {@code QuarantineTest} computes). Every verifier
 * the model knows counts, however few of the window's steps it judged (the process estimator's learnt weights
 * wait for min-learnt-steps of them, {@link VerifierReliability#verifierWeights}): beside an established verifier,
 * a new one's verdicts barely move the share, and alone they weigh what its fit, still near the prior, says. A
 * trajectory without a single verdict of a verifier the model knows is not judged at all.
 */
public final class Quarantine {

    /** Points of the grid over g on which the posterior is integrated. */
    private static final int GRID = 200;

    private final double maxGoodShareOnSuccess;
    private final double minGoodShareOnFailure;
    private final long minLearntSteps;

    public Quarantine(ReadableConfig conf) {
        this.maxGoodShareOnSuccess = conf.get(ReliabilityOptions.MAX_GOOD_SHARE_ON_SUCCESS);
        if (!(maxGoodShareOnSuccess >= 0 && maxGoodShareOnSuccess < 0.5)) {
            throw new IllegalArgumentException(ReliabilityOptions.MAX_GOOD_SHARE_ON_SUCCESS.key() + " must be at least 0"
                    + " and below 0.5, was " + maxGoodShareOnSuccess + ": from 0.5 on, a success whose verdicts tell"
                    + " nothing (share 1/2) would be a suspect. Set it below 0.5, or to 0 to turn this side off.");
        }
        this.minGoodShareOnFailure = conf.get(ReliabilityOptions.MIN_GOOD_SHARE_ON_FAILURE);
        if (!(minGoodShareOnFailure > 0.5 && minGoodShareOnFailure <= 1)) {
            throw new IllegalArgumentException(ReliabilityOptions.MIN_GOOD_SHARE_ON_FAILURE.key() + " must be above 0.5"
                    + " and at most 1, was " + minGoodShareOnFailure + ": up to 0.5, a failure whose verdicts tell"
                    + " nothing (share 1/2) would be a suspect. Set it above 0.5, or to 1 to turn this side off.");
        }
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
        List<LabelledStep> steps = judgedByKnownVerifiers(LabelledStep.of(trajectory), model);
        if (steps.isEmpty()) {
            return Optional.empty(); // no evidence to disagree with its outcome
        }
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

    /** The steps with a verdict of at least one verifier the model knows: the others are no evidence. */
    private static List<LabelledStep> judgedByKnownVerifiers(List<LabelledStep> steps, ReliabilityModel model) {
        List<LabelledStep> judged = new ArrayList<>(steps.size());
        for (LabelledStep step : steps) {
            for (String verifier : step.saidGood().keySet()) {
                if (model.knows(verifier)) {
                    judged.add(step);
                    break;
                }
            }
        }
        return judged;
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
}
