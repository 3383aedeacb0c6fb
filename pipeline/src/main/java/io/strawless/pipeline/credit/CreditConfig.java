package io.strawless.pipeline.credit;

import io.strawless.pipeline.credit.CreditOptions.EpsilonMode;
import io.strawless.pipeline.credit.CreditOptions.GigpoEpisodeStats;
import io.strawless.pipeline.credit.CreditOptions.NonTrainableSteps;
import io.strawless.pipeline.credit.CreditOptions.Normalize;
import io.strawless.pipeline.credit.CreditOptions.Preset;
import io.strawless.pipeline.credit.CreditOptions.ProcessBaseline;
import io.strawless.pipeline.credit.CreditOptions.ScaleRewards;
import io.strawless.pipeline.credit.CreditOptions.SingletonGroup;
import io.strawless.pipeline.reliability.ReliabilityOptions;
import java.io.Serializable;
import java.lang.reflect.RecordComponent;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.apache.flink.configuration.ConfigOption;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.configuration.ReadableConfig;

/**
 * Resolved credit settings: the preset's conventions with explicitly set options on top. Every field is
 * documented on its option in {@link CreditOptions}, but {@code learntVerifierWeights}: {@code
 * reliability.weight-verifiers}, which changes what the process estimator computes, so its fingerprint.
 */
public record CreditConfig(
        String estimator,
        Preset preset,
        String backend,
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
        boolean learntVerifierWeights) implements Serializable {

    public static final List<String> ESTIMATORS = List.of(
            "outcome", "grpo", "dr_grpo", "rloo", "gae", "reinforce_pp", "reinforce_pp_baseline", "process", "gigpo");
    public static final List<String> BACKENDS = List.of("auto", "opencl", "jtp", "java");

    public CreditConfig {
        if (!ESTIMATORS.contains(estimator)) {
            throw new IllegalArgumentException("credit.estimator '" + estimator + "' is not one of " + ESTIMATORS);
        }
        if (!BACKENDS.contains(backend)) {
            throw new IllegalArgumentException("credit.backend '" + backend + "' is not one of " + BACKENDS);
        }
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
        if (estimator.equals("gigpo") && scaleRewards == ScaleRewards.BATCH) {
            throw new IllegalArgumentException("credit.scale-rewards batch is defined for grpo only, not gigpo");
        }
        if (estimator.equals("gigpo") && normalize == Normalize.BATCH) {
            // Neither verl-agent nor this estimator whitens GiGPO's advantages: accepting it would change nothing.
            throw new IllegalArgumentException("credit.normalize batch is not defined for gigpo");
        }
    }

    /** Reads the credit options: the preset first, then every option set explicitly in {@code conf}. */
    public static CreditConfig from(ReadableConfig conf) {
        Configuration resolved = Presets.conventions(conf.get(CreditOptions.PRESET), conf.get(CreditOptions.ESTIMATOR));
        for (ConfigOption<?> option : CreditOptions.ALL) {
            copyIfSet(conf, resolved, option);
        }
        return new CreditConfig(
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
                conf.get(ReliabilityOptions.WEIGHT_VERIFIERS));
    }

    /**
     * Whether a unit of {@code unitSize} trajectories is scored against its task's streaming baseline: always under
     * {@code outcome}; under a group-relative estimator with {@code credit.singleton-group=task-baseline}, a trajectory
     * alone in its unit.
     */
    public boolean usesTaskBaseline(int unitSize) {
        return estimator.equals("outcome")
                || (unitSize == 1 && singletonGroup == SingletonGroup.TASK_BASELINE && groupRelative());
    }

    /** Whether the estimator compares trajectories of a group, so the job must gather whole groups. */
    public boolean groupRelative() {
        return switch (estimator) {
            case "grpo", "dr_grpo", "rloo", "reinforce_pp_baseline", "gigpo" -> true;
            case "process" -> processBaseline != ProcessBaseline.NONE;
            default -> false;
        };
    }

    /** This configuration with {@code weights} as its verifier weights (for one scoring call: see CreditScorer). */
    public CreditConfig withVerifierWeights(Map<String, Double> weights) {
        return new CreditConfig(estimator, preset, backend, gamma, lambda, epsilon, epsilonMode, stdDdof, singletonGroup,
                scaleRewards, normalize, rewardScale, nonTrainableSteps, weights, processBaseline, processCoef, outcomeCoef,
                gigpoStepWeight, gigpoEpisodeStats, learntVerifierWeights);
    }

    /** Weight of a verifier in process rewards: its configured weight, else 1. */
    public double verifierWeight(String verifier) {
        return verifierWeights.getOrDefault(verifier, 1.0);
    }

    /**
     * Stable name of what the numbers mean, e.g. {@code grpo-verl-3f2a9c1b}: estimator, preset and a hash of
     * every resolved setting. The backend is left out: all backends give the same numbers.
     * {@code reliability.weight-verifiers=false} counts for {@code process} only, the estimator it changes.
     */
    public String fingerprint() {
        StringBuilder canonical = new StringBuilder();
        for (RecordComponent component : CreditConfig.class.getRecordComponents()) {
            if (!component.getName().equals("backend") && !component.getName().equals("learntVerifierWeights")) {
                canonical.append(component.getName()).append('=').append(valueOf(component)).append('\n');
            }
        }
        // Only process reads it, and only its non-default value is named, so that no fingerprint a trainer already
        // filters on changes: the default's is as it was before the setting counted.
        if (estimator.equals("process") && !learntVerifierWeights) {
            canonical.append("learntVerifierWeights=false\n");
        }
        try {
            byte[] hash = MessageDigest.getInstance("SHA-256")
                    .digest(canonical.toString().getBytes(StandardCharsets.UTF_8));
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
