package io.strawless.pipeline.credit;

import io.strawless.pipeline.credit.CreditOptions.ProcessBaseline;
import io.strawless.schemas.TerminalKind;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * Rejects a trajectory whose numbers a kernel must not see: any infinity, a NaN where the estimator
 * needs the number, steps out of order. The message names the trajectory, the step and the field.
 */
final class InputCheck {

    private InputCheck() {}

    static void validate(Trajectory t, CreditConfig config) {
        Estimator estimator = config.estimator();
        requireNumber(t, -1, "outcome", t.outcome(), estimator.needsOutcome(), estimator);
        requireNumber(t, -1, "baseline", t.baseline(), false, estimator);
        boolean needsBootstrap = estimator == Estimator.GAE && t.terminal() == TerminalKind.TRUNCATED;
        requireNumber(t, -1, "bootstrapValue", t.bootstrapValue(), needsBootstrap, estimator);
        int previousIndex = Integer.MIN_VALUE;
        for (Step step : t.steps()) {
            if (step == null) {
                throw fail(t, -1, "steps", "contains null");
            }
            if (step.index() <= previousIndex) {
                throw fail(t, step.index(), "index", "is not after the previous step's index " + previousIndex
                        + " (steps must be ordered by index, without duplicates)");
            }
            previousIndex = step.index();
            requireNumber(t, step.index(), "reward", step.reward(), false, estimator);
            boolean needsValue = estimator == Estimator.GAE && step.trainable();
            requireNumber(t, step.index(), "value", step.value(), needsValue, estimator);
            for (Map.Entry<String, Double> verdict : step.verifierScores().entrySet()) {
                Double score = verdict.getValue();
                if (score == null || !Double.isFinite(score)) {
                    throw fail(t, step.index(), "verifierScores[" + verdict.getKey() + "]", "is " + score);
                }
            }
        }
    }

    /**
     * Rejects a group of {@code microBatch} in which some trajectories have an outcome and others do not, where the
     * estimator compares outcomes across the group (process with a group baseline): it would count the absent
     * ones as 0, failures. All or none is fine (process supervision without outcomes; a trajectory whose outcome
     * never came is scored alone).
     */
    static void validateGroups(List<Trajectory> microBatch, CreditConfig config) {
        if (config.estimator() != Estimator.PROCESS || config.processBaseline() == ProcessBaseline.NONE) {
            return;
        }
        Map<String, Trajectory> withOutcome = new HashMap<>();
        Map<String, Trajectory> without = new HashMap<>();
        for (Trajectory t : microBatch) {
            if (t.groupId() != null) {
                (Double.isNaN(t.outcome()) ? without : withOutcome).putIfAbsent(t.groupId(), t);
                Trajectory has = withOutcome.get(t.groupId());
                Trajectory lacks = without.get(t.groupId());
                if (has != null && lacks != null) {
                    throw new IllegalArgumentException("group '" + t.groupId() + "': trajectory '" + has.id()
                            + "' has an outcome and '" + lacks.id() + "' has none; process with credit.process-baseline "
                            + config.processBaseline() + " compares a group's outcomes and would count it as 0:"
                            + " give every member an outcome, or none");
                }
            }
        }
    }

    /**
     * Why {@code microBatch} is too small for the statistics the configuration takes over a whole batch, or null.
     * Whitening (credit.normalize=batch) and grpo's credit.scale-rewards=batch centre the batch's values and divide by
     * their std: over one value the std is undefined and the centred value is 0, so the credit would silently be 0
     * whatever it was. verl's masked_var refuses fewer than two values; TRL's torch.std gives NaN. (An empty batch has
     * nothing to score.)
     */
    static String batchStatisticsUndefined(List<Trajectory> microBatch, CreditConfig config) {
        if (!config.poolsOverTheBatch()) {
            return null;
        }
        boolean whitened = config.normalize() == CreditOptions.Normalize.BATCH;
        boolean overSteps = whitened && config.estimator().whitensOverSteps();
        int population = 0;
        for (Trajectory t : microBatch) {
            population += overSteps ? (int) t.steps().stream().filter(Step::trainable).count() : 1;
        }
        if (population != 1) {
            return null;
        }
        return (whitened ? "credit.normalize=batch whitens" : "credit.scale-rewards=batch scales") + " over the"
                + " batch's " + (overSteps ? "trainable steps" : "trajectories") + ", and this batch has one: its"
                + " credit would be 0 whatever it is. Let batches grow (a longer batch.max-latency,"
                + " batch.close-at-checkpoint=false) or whiten in the trainer";
    }

    /** Infinity is never accepted; NaN (absent) only where the estimator can do without the number. */
    private static void requireNumber(Trajectory t, int stepIndex, String field, double value, boolean required,
                                      Estimator estimator) {
        if (Double.isInfinite(value)) {
            throw fail(t, stepIndex, field, "is " + value);
        }
        if (required && Double.isNaN(value)) {
            throw fail(t, stepIndex, field, "is absent (NaN) but estimator " + estimator + " needs it");
        }
    }

    private static IllegalArgumentException fail(Trajectory t, int stepIndex, String field, String problem) {
        String where = stepIndex < 0 ? "" : " step " + stepIndex;
        return new IllegalArgumentException("trajectory '" + t.id() + "'" + where + ": " + field + " " + problem);
    }
}
