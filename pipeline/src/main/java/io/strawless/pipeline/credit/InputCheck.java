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

    private static final List<String> NEED_OUTCOME =
            List.of("outcome", "grpo", "dr_grpo", "rloo", "reinforce_pp_baseline", "gigpo");

    private InputCheck() {}

    static void validate(Trajectory t, CreditConfig config) {
        String estimator = config.estimator();
        requireNumber(t, -1, "outcome", t.outcome(), NEED_OUTCOME.contains(estimator), estimator);
        requireNumber(t, -1, "baseline", t.baseline(), false, estimator);
        boolean needsBootstrap = estimator.equals("gae") && t.terminal() == TerminalKind.TRUNCATED;
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
            boolean needsValue = estimator.equals("gae") && step.trainable();
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
        if (!config.estimator().equals("process") || config.processBaseline() == ProcessBaseline.NONE) {
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

    /** Infinity is never accepted; NaN (absent) only where the estimator can do without the number. */
    private static void requireNumber(Trajectory t, int stepIndex, String field, double value, boolean required,
                                      String estimator) {
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
