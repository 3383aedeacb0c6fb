package io.strawless.pipeline.credit;

import io.strawless.pipeline.JobOptions;
import io.strawless.pipeline.StrawlessOptions;
import io.strawless.pipeline.StrawlessOptions.Declared;
import io.strawless.pipeline.credit.CreditOptions.Backend;
import io.strawless.pipeline.credit.CreditOptions.EpsilonMode;
import io.strawless.pipeline.credit.CreditOptions.GigpoEpisodeStats;
import io.strawless.pipeline.credit.CreditOptions.NonTrainableSteps;
import io.strawless.pipeline.credit.CreditOptions.Normalize;
import io.strawless.pipeline.credit.CreditOptions.Preset;
import io.strawless.pipeline.credit.CreditOptions.ProcessBaseline;
import io.strawless.pipeline.credit.CreditOptions.ScaleRewards;
import io.strawless.pipeline.credit.CreditOptions.SingletonGroup;
import io.strawless.pipeline.reliability.ReliabilityOptions;
import io.strawless.pipeline.reliability.ReliabilityOptions.SuspectPolicy;
import java.io.Serializable;
import java.lang.reflect.RecordComponent;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.TreeMap;
import java.util.function.BiPredicate;
import org.apache.flink.configuration.ConfigOption;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.configuration.ReadableConfig;

/**
 * Resolved credit settings: the preset's conventions with explicitly set options on top. Every field is
 * documented on its option in {@link CreditOptions}, but {@code learntVerifierWeights}: {@code
 * reliability.weight-verifiers}, which changes what the process estimator computes, so its fingerprint; and
 * {@code jobSettings}: the settings outside {@code credit.*} that change this estimator's numbers and are not at
 * their defaults, key to value, for the fingerprint alone (see {@link #JOB_SETTINGS}).
 */
public record CreditConfig(
        Estimator estimator,
        Preset preset,
        Backend backend,
        double gamma,
        double lambda,
        double epsilon,
        EpsilonMode epsilonMode,
        int stdDdof,
        SingletonGroup singletonGroup,
        ScaleRewards scaleRewards,
        Normalize normalize,
        double rewardScale,
        NonTrainableSteps nonTrainableSteps,
        Map<String, Double> verifierWeights,
        ProcessBaseline processBaseline,
        double processCoef,
        double outcomeCoef,
        double gigpoStepWeight,
        GigpoEpisodeStats gigpoEpisodeStats,
        boolean learntVerifierWeights,
        Map<String, String> jobSettings) implements Serializable {

    public CreditConfig {
        requireIn("credit.gamma", gamma, 0, 1);
        requireIn("credit.lambda", lambda, 0, 1);
        requireIn("credit.epsilon", epsilon, 0, 1);
        if (stdDdof != 0 && stdDdof != 1) {
            throw new IllegalArgumentException("credit.std-ddof must be 0 or 1, not " + stdDdof);
        }
        requireFinite("credit.reward-scale", rewardScale);
        requireFinite("credit.process-coef", processCoef);
        requireFinite("credit.outcome-coef", outcomeCoef);
        requireFinite("credit.gigpo-step-weight", gigpoStepWeight);
        verifierWeights.forEach((verifier, weight) -> requireIn("credit.verifier-weights of " + verifier, weight, 0,
                Double.MAX_VALUE));
        // Sorted, so that the fingerprint does not depend on map order.
        verifierWeights = Collections.unmodifiableSortedMap(new TreeMap<>(verifierWeights));
        jobSettings = Collections.unmodifiableSortedMap(new TreeMap<>(jobSettings));
        if (estimator == Estimator.GIGPO && scaleRewards == ScaleRewards.BATCH) {
            throw new IllegalArgumentException("credit.scale-rewards batch is defined for grpo only, not gigpo");
        }
        if (estimator == Estimator.GIGPO && normalize == Normalize.BATCH) {
            // Neither verl-agent nor this estimator whitens GiGPO's advantages: accepting it would change nothing.
            throw new IllegalArgumentException("credit.normalize batch is not defined for gigpo");
        }
    }

    /**
     * Reads the credit options: the preset first, then every option set explicitly in {@code conf}; and, for the
     * fingerprint, the job's other settings in {@code conf} that change this estimator's numbers.
     */
    public static CreditConfig from(ReadableConfig conf) {
        Configuration resolved = Presets.conventions(conf.get(CreditOptions.PRESET), conf.get(CreditOptions.ESTIMATOR));
        for (Declared declared : StrawlessOptions.declaredBy(CreditOptions.class)) {
            copyIfSet(conf, resolved, declared.option());
        }
        CreditConfig credit = new CreditConfig(
                resolved.get(CreditOptions.ESTIMATOR),
                resolved.get(CreditOptions.PRESET),
                resolved.get(CreditOptions.BACKEND),
                resolved.get(CreditOptions.GAMMA),
                resolved.get(CreditOptions.LAMBDA),
                resolved.get(CreditOptions.EPSILON),
                resolved.get(CreditOptions.EPSILON_MODE),
                resolved.get(CreditOptions.STD_DDOF),
                resolved.get(CreditOptions.SINGLETON_GROUP),
                resolved.get(CreditOptions.SCALE_REWARDS),
                resolved.get(CreditOptions.NORMALIZE),
                resolved.get(CreditOptions.REWARD_SCALE),
                resolved.get(CreditOptions.NON_TRAINABLE_STEPS),
                parseWeights(resolved.get(CreditOptions.VERIFIER_WEIGHTS)),
                resolved.get(CreditOptions.PROCESS_BASELINE),
                resolved.get(CreditOptions.PROCESS_COEF),
                resolved.get(CreditOptions.OUTCOME_COEF),
                resolved.get(CreditOptions.GIGPO_STEP_WEIGHT),
                resolved.get(CreditOptions.GIGPO_EPISODE_STATS),
                conf.get(ReliabilityOptions.WEIGHT_VERIFIERS),
                Map.of());
        // Which job settings count depends on the credit settings: they are resolved first.
        return credit.withJobSettings(credit.jobSettingsOf(conf));
    }

    /**
     * The job's settings outside {@code credit.*} that change the numbers of a batch, each with a test of whether it
     * changes them under a configuration (its credit settings, and the job's other settings). Settings that only decide which
     * trajectories reach a batch and when (timeouts, lateness, {@code job.max-policy-lag}, {@code
     * job.partial-groups}, the batch's size and latency) are not among them: they change what a batch holds, not the
     * rule by which its trajectories got their numbers. Nor is {@code job.suspect-policy}: the others are scored
     * without the suspects under either policy, so it only decides whether suspects are in the batch, at weight 0.
     */
    private static final Map<ConfigOption<?>, BiPredicate<CreditConfig, ReadableConfig>> JOB_SETTINGS = Map.of(
            // The task's streaming baseline: how it averages the task's outcomes, and when it forgets them.
            JobOptions.BASELINE_DECAY, (credit, conf) -> credit.readsTaskBaseline(),
            JobOptions.BASELINE_TTL, (credit, conf) -> credit.readsTaskBaseline(),
            // Which trajectories the quarantine suspects.
            ReliabilityOptions.MAX_GOOD_SHARE_ON_SUCCESS, CreditConfig::suspectsChangeNumbers,
            ReliabilityOptions.MIN_GOOD_SHARE_ON_FAILURE, CreditConfig::suspectsChangeNumbers,
            // The reliability model, which both the quarantine and process's learnt verifier weights read.
            ReliabilityOptions.WINDOW_STEPS, (credit, conf) -> credit.readsReliability(conf),
            ReliabilityOptions.MIN_LEARNT_STEPS, (credit, conf) -> credit.readsReliability(conf),
            ReliabilityOptions.MODEL_IDLE_TTL, (credit, conf) -> credit.readsReliability(conf));

    /**
     * This configuration's {@link #JOB_SETTINGS} that change its numbers and are not at their defaults, in {@code
     * conf}: a setting at its default is left out, so that a configuration that leaves them all there keeps the
     * fingerprint it had before they counted, which trainers already filter on.
     */
    private Map<String, String> jobSettingsOf(ReadableConfig conf) {
        Map<String, String> named = new TreeMap<>();
        JOB_SETTINGS.forEach((option, changesNumbers) -> {
            Object value = conf.get(option);
            if (!Objects.equals(value, option.defaultValue()) && changesNumbers.test(this, conf)) {
                named.put(option.key(), String.valueOf(value));
            }
        });
        return named;
    }

    /** Whether some unit is scored against its task's streaming baseline: {@code baseline.*} then count. */
    private boolean readsTaskBaseline() {
        return usesTaskBaseline(1);
    }

    /**
     * Whether which trajectories the quarantine suspects changes numbers in a batch: the suspects' weight, 0, under
     * {@code job.suspect-policy=FLAG}; under either policy, the credit of an estimator that compares a trajectory
     * with others (its group, or its batch when whitened), which are scored without the suspects.
     */
    private boolean suspectsChangeNumbers(ReadableConfig conf) {
        return conf.get(ReliabilityOptions.SUSPECT_POLICY) == SuspectPolicy.FLAG
                || groupRelative() || normalize == Normalize.BATCH;
    }

    /** Whether the verifier reliability the job learns changes numbers: through the quarantine, or process's weights. */
    private boolean readsReliability(ReadableConfig conf) {
        return suspectsChangeNumbers(conf) || (estimator == Estimator.PROCESS && learntVerifierWeights);
    }

    /**
     * Whether a unit of {@code unitSize} trajectories is scored against its task's streaming baseline: always under
     * {@code outcome}; under a group-relative estimator with {@code credit.singleton-group=task-baseline}, a trajectory
     * alone in its unit.
     */
    public boolean usesTaskBaseline(int unitSize) {
        return estimator == Estimator.OUTCOME
                || (unitSize == 1 && singletonGroup == SingletonGroup.TASK_BASELINE && groupRelative());
    }

    /** Whether the estimator compares trajectories of a group, so the job must gather whole groups. */
    public boolean groupRelative() {
        return switch (estimator) {
            case GRPO, DR_GRPO, RLOO, REINFORCE_PP_BASELINE, GIGPO -> true;
            case PROCESS -> processBaseline != ProcessBaseline.NONE;
            case OUTCOME, GAE, REINFORCE_PP -> false;
        };
    }

    /** This configuration with {@code weights} as its verifier weights (for one scoring call: see CreditScorer). */
    public CreditConfig withVerifierWeights(Map<String, Double> weights) {
        return new CreditConfig(estimator, preset, backend, gamma, lambda, epsilon, epsilonMode, stdDdof, singletonGroup,
                scaleRewards, normalize, rewardScale, nonTrainableSteps, weights, processBaseline, processCoef, outcomeCoef,
                gigpoStepWeight, gigpoEpisodeStats, learntVerifierWeights, jobSettings);
    }

    /** Whether statistics span the whole batch: whitening by credit.normalize, or grpo scaling by its std. */
    public boolean poolsOverTheBatch() {
        return normalize == Normalize.BATCH || (estimator == Estimator.GRPO && scaleRewards == ScaleRewards.BATCH);
    }

    /**
     * This configuration with no statistics over the whole batch (credit.normalize=none, credit.scale-rewards batch
     * as none), in plain Java: each scoring unit's credit as it is before the batch pools them.
     */
    public CreditConfig withoutBatchStatistics() {
        return new CreditConfig(estimator, preset, Backend.JAVA, gamma, lambda, epsilon, epsilonMode, stdDdof,
                singletonGroup, scaleRewards == ScaleRewards.BATCH ? ScaleRewards.NONE : scaleRewards, Normalize.NONE,
                rewardScale, nonTrainableSteps, verifierWeights, processBaseline, processCoef, outcomeCoef,
                gigpoStepWeight, gigpoEpisodeStats, learntVerifierWeights, jobSettings);
    }

    private CreditConfig withJobSettings(Map<String, String> settings) {
        return new CreditConfig(estimator, preset, backend, gamma, lambda, epsilon, epsilonMode, stdDdof, singletonGroup,
                scaleRewards, normalize, rewardScale, nonTrainableSteps, verifierWeights, processBaseline, processCoef,
                outcomeCoef, gigpoStepWeight, gigpoEpisodeStats, learntVerifierWeights, settings);
    }

    /** Weight of a verifier in process rewards: its configured weight, else 1. */
    public double verifierWeight(String verifier) {
        return verifierWeights.getOrDefault(verifier, 1.0);
    }

    /** How a setting counts in {@link #fingerprint}: the configuration reference says it of each. */
    public enum InFingerprint {
        NO,
        /** Every credit setting but the backend and credit.singleton-group, resolved, whatever the estimator. */
        ALWAYS,
        /** credit.singleton-group: an estimator without groups is named with raw, whatever the setting. */
        UNDER_GROUP_RELATIVE_ESTIMATORS,
        /** A setting outside {@code credit.*}: where it changes the estimator's numbers and is not at its default. */
        WHERE_IT_CHANGES_THE_NUMBERS
    }

    public static InFingerprint inFingerprint(ConfigOption<?> option) {
        if (option.equals(CreditOptions.BACKEND)) {
            return InFingerprint.NO;
        }
        if (option.equals(CreditOptions.SINGLETON_GROUP)) {
            return InFingerprint.UNDER_GROUP_RELATIVE_ESTIMATORS;
        }
        if (option.key().startsWith("credit.")) {
            return InFingerprint.ALWAYS;
        }
        return JOB_SETTINGS.containsKey(option) || option.equals(ReliabilityOptions.WEIGHT_VERIFIERS)
                ? InFingerprint.WHERE_IT_CHANGES_THE_NUMBERS
                : InFingerprint.NO;
    }

    /**
     * Stable name of what the numbers mean, e.g. {@code grpo-verl-3f2a9c1b}: estimator, preset and a hash of
     * every resolved setting, and of every job setting that changes this estimator's numbers where it is not at its
     * default. The backend is left out: all backends give the same numbers.
     * {@code reliability.weight-verifiers=false} counts for {@code process} only, the estimator it changes.
     */
    public String fingerprint() {
        StringBuilder canonical = new StringBuilder(creditSettings());
        // Only process reads it, and only its non-default value is named, so that no fingerprint a trainer already
        // filters on changes: the default's is as it was before the setting counted.
        if (estimator == Estimator.PROCESS && !learntVerifierWeights) {
            canonical.append("learntVerifierWeights=false\n");
        }
        // Its returns became the baselined score before whitening, as OpenRLHF's, on 2026-11-27: no setting changed,
        // so this names the rule, and batches of before and after carry different fingerprints.
        if (estimator == Estimator.REINFORCE_PP_BASELINE && preset == Preset.OPENRLHF) {
            canonical.append("returns=baselined-score\n");
        }
        // After the credit settings, and only where set, for the same reason.
        jobSettings.forEach((key, value) -> canonical.append(key).append('=').append(value).append('\n'));
        return name(canonical.toString());
    }

    /**
     * The name of the credit settings alone, by which {@link CreditScorer} caches the backend {@code auto} picks: they
     * decide the kernels' work, which the job's other settings (what the inputs hold, which verifier weights a call
     * passes) do not.
     */
    String kernelsKey() {
        return name(creditSettings());
    }

    /**
     * Every credit setting but the backend, one {@code name=value} line each, in the record's order. An estimator
     * without groups never reads credit.singleton-group: it is named as {@code raw}, its default until 2026-11-27, so
     * that those estimators' fingerprints stayed as they were when the default became {@code task-baseline}.
     */
    private String creditSettings() {
        StringBuilder canonical = new StringBuilder();
        for (RecordComponent component : CreditConfig.class.getRecordComponents()) {
            String name = component.getName();
            if (!List.of("backend", "learntVerifierWeights", "jobSettings").contains(name)) {
                Object value = name.equals("singletonGroup") && !groupRelative() ? SingletonGroup.RAW : valueOf(component);
                canonical.append(name).append('=').append(value).append('\n');
            }
        }
        return canonical.toString();
    }

    private String name(String canonical) {
        try {
            byte[] hash = MessageDigest.getInstance("SHA-256").digest(canonical.getBytes(StandardCharsets.UTF_8));
            return estimator + "-" + preset + "-" + java.util.HexFormat.of().formatHex(hash, 0, 4);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("every Java runtime has SHA-256", e);
        }
    }

    private Object valueOf(RecordComponent component) {
        try {
            return component.getAccessor().invoke(this);
        } catch (ReflectiveOperationException e) {
            throw new IllegalStateException(e);
        }
    }

    private static <T> void copyIfSet(ReadableConfig from, Configuration to, ConfigOption<T> option) {
        from.getOptional(option).ifPresent(value -> to.set(option, value));
    }

    private static Map<String, Double> parseWeights(Map<String, String> weights) {
        Map<String, Double> parsed = new TreeMap<>();
        weights.forEach((verifier, weight) -> {
            try {
                parsed.put(verifier, Double.parseDouble(weight.trim()));
            } catch (NumberFormatException e) {
                throw new IllegalArgumentException("credit.verifier-weights: weight of " + verifier
                        + " is not a number: '" + weight + "'");
            }
        });
        return parsed;
    }

    private static void requireIn(String name, double value, double min, double max) {
        if (!(value >= min && value <= max)) {
            throw new IllegalArgumentException(name + " must be in [" + min + ", " + max + "], not " + value);
        }
    }

    private static void requireFinite(String name, double value) {
        if (!Double.isFinite(value)) {
            throw new IllegalArgumentException(name + " must be a finite number, not " + value);
        }
    }
}
