package io.strawless.pipeline.reliability;

import static org.apache.flink.configuration.ConfigOptions.key;

import org.apache.flink.configuration.ConfigOption;
import org.apache.flink.configuration.ReadableConfig;

/**
 * Settings of the verifier reliability the job learns online, and of the reward-hacking quarantine that
 * uses it. See {@link ReliabilityModel} for the method and {@link Quarantine} for the rule.
 */
public final class ReliabilityOptions {

    public static final ConfigOption<Integer> WINDOW_STEPS = key("reliability.window-steps")
            .intType()
            .defaultValue(10_000)
            .withDescription("How many of the most recent verified steps the reliability of the verifiers is learnt "
                    + "from (per batching bucket of the score-and-batch stage). Larger is steadier, smaller follows a "
                    + "verifier that changes faster.");

    public static final ConfigOption<Boolean> WEIGHT_VERIFIERS = key("reliability.weight-verifiers")
            .booleanType()
            .defaultValue(true)
            .withDescription("Whether the process estimator weights each verifier by its learnt informativeness, "
                    + "2 * reliability - 1 (0 for a verifier that always says the same, 1 for a perfect one; below 0.05 "
                    + "it counts as 0), times its credit.verifier-weights entry, once the reliability model has learnt "
                    + "quarantine.min-learnt-steps verified steps and the verifier itself judged that many of the "
                    + "window's steps (until then its credit.verifier-weights entry alone, as for a new verifier id). "
                    + "false: credit.verifier-weights alone (the process estimator's batches then carry another "
                    + "config_fingerprint).");

    public static final ConfigOption<java.time.Duration> MODEL_IDLE_TTL = key("reliability.model-idle-ttl")
            .durationType()
            .defaultValue(java.time.Duration.ofHours(24))
            .withDescription("Event time (the watermark) a batching bucket keeps its reliability model without a "
                    + "batch, up to a sixteenth more. Then the model is dropped, and learnt again from the next verified "
                    + "steps. The buckets' keys follow the stage's parallelism, so after a rescale the models of keys no "
                    + "longer used would otherwise stay in the state for ever.");

    /** What happens to a trajectory the quarantine marks as a likely reward hack. */
    public enum SuspectPolicy {
        /** Kept in its batch, marked suspect with weight 0; the others are scored without it. */
        FLAG,
        /** Sent to the unscored topic with reason SUSPECT; its group is scored without it. */
        UNSCORED
    }

    public static final ConfigOption<SuspectPolicy> SUSPECT_POLICY = key("job.suspect-policy")
            .enumType(SuspectPolicy.class)
            .defaultValue(SuspectPolicy.FLAG)
            .withDescription("Where a trajectory goes whose outcome disagrees strongly with what reliable verifiers "
                    + "said of its steps (see quarantine.*): FLAG keeps it in its batch with suspect=true and weight 0; "
                    + "UNSCORED sends it to the unscored topic with reason SUSPECT. Either way its group and batch are "
                    + "scored without it (under FLAG it keeps the credit it got among its group, for inspection).");

    public static final ConfigOption<Double> MAX_GOOD_SHARE_ON_SUCCESS = key("quarantine.max-good-share-on-success")
            .doubleType()
            .defaultValue(0.33)
            .withDescription("A successful trajectory is a suspect when the share of good steps that its verdicts "
                    + "imply is at most this. The share is the posterior mean of its rate of good steps under a "
                    + "uniform prior, each verdict weighted by its verifier's learnt sensitivity and specificity: k "
                    + "steps judged good of n by a perfect verifier give (k + 1) / (n + 2), less reliable verdicts "
                    + "stay nearer 1/2, and a verifier that always says the same does not move it. One judged step "
                    + "keeps it between 1/3 and 2/3 (so at 0.33 a suspect has two judged steps at least); a "
                    + "trajectory without a verdict of a verifier the model knows is not judged. At 0.33, with a "
                    + "verifier right 95% of the time, a success with two steps both judged bad is a suspect (0.26) "
                    + "and one with one good step in three is not (0.38); eight bad verdicts of a verifier right 61% "
                    + "of the time make a suspect (0.25), four do not (0.35). Below 0.5 (from 0.5 on, verdicts that "
                    + "tell nothing would condemn); 0 turns this side of the quarantine off.");

    public static final ConfigOption<Double> MIN_GOOD_SHARE_ON_FAILURE = key("quarantine.min-good-share-on-failure")
            .doubleType()
            .defaultValue(0.9)
            .withDescription("A failed trajectory is a suspect when the share of good steps that its verdicts imply is "
                    + "at least this (the reverse of a reward hack: an outcome that missed good work); the share is "
                    + "that of quarantine.max-good-share-on-success. At 0.9, with a verifier right 95% of the time, a "
                    + "failure with ten steps all judged good is a suspect (0.91) and one with nine good in ten is not "
                    + "(0.85); fewer than eight judged steps never make a suspect (seven judged good by a perfect "
                    + "verifier give 8/9). Above 0.5 (up to 0.5, verdicts that tell nothing would condemn); 1 turns "
                    + "this side of the quarantine off.");

    public static final ConfigOption<Integer> MIN_LEARNT_STEPS = key("quarantine.min-learnt-steps")
            .intType()
            .defaultValue(200)
            .withDescription("Verified steps the reliability model (of a batching bucket) must have learnt from before "
                    + "the quarantine judges anything and the process estimator weights verifiers by their learnt "
                    + "reliability: until then the reliabilities are priors, not evidence. The weights' gate is per "
                    + "verifier too: one that judged fewer than this many of the window's steps (a new verifier id) "
                    + "keeps its credit.verifier-weights entry, since its fit rests on a handful of its own verdicts. "
                    + "The quarantine weighs the verdicts of every verifier the model knows by its fit, a new one's "
                    + "too (held near the prior, right 70% of the time, while its verdicts are few): beside an "
                    + "established verifier's verdicts, a new one's barely move a trajectory's share of good steps. "
                    + "Where reliability.window-steps is smaller, a verifier needs all of the window's steps.");

    /**
     * {@link #MIN_LEARNT_STEPS}, read here only: the quarantine and the process estimator's learnt weights wait for
     * the same model-wide evidence (the weights also for each verifier's own, {@link VerifierReliability}).
     */
    static long minLearntSteps(ReadableConfig conf) {
        int steps = conf.get(MIN_LEARNT_STEPS);
        if (steps < 0) {
            throw new IllegalArgumentException(MIN_LEARNT_STEPS.key() + " must be at least 0, was " + steps);
        }
        return steps;
    }

    private ReliabilityOptions() {}
}
