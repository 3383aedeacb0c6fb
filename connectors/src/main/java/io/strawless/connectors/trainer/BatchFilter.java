package io.strawless.connectors.trainer;

import io.strawless.schemas.ScoredStep;
import io.strawless.schemas.ScoredTrajectory;
import io.strawless.schemas.TrainingBatch;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import org.apache.flink.configuration.ReadableConfig;

/**
 * What a trainer wants of each batch, from the {@code trainer.*} filter options; unset means "any".
 *
 * <p>The estimator and configuration filters take or drop a batch whole. The policy-version bounds take or drop
 * whole scoring units: a batch mixes the groups of every task the job's subtask scored, so one trajectory of an
 * older policy must not cost the others beside it their training, and a unit's credit is relative to all of its
 * members, so none is delivered without the others.
 */
record BatchFilter(
        Optional<String> estimator,
        Optional<String> configFingerprint,
        Optional<Long> minPolicyVersion,
        Optional<Long> maxPolicyVersion) {

    static BatchFilter of(ReadableConfig conf) {
        Optional<Long> min = conf.getOptional(TrainerOptions.MIN_POLICY_VERSION);
        Optional<Long> max = conf.getOptional(TrainerOptions.MAX_POLICY_VERSION);
        if (min.isPresent() && max.isPresent() && min.get() > max.get()) {
            // Every unit would fall outside, and every batch be committed past unread.
            throw new IllegalArgumentException(TrainerOptions.MIN_POLICY_VERSION.key() + "=" + min.get() + " is above "
                    + TrainerOptions.MAX_POLICY_VERSION.key() + "=" + max.get() + ": no batch could pass; swap or"
                    + " widen them");
        }
        return new BatchFilter(
                conf.getOptional(TrainerOptions.ESTIMATOR),
                conf.getOptional(TrainerOptions.CONFIG_FINGERPRINT),
                conf.getOptional(TrainerOptions.MIN_POLICY_VERSION),
                conf.getOptional(TrainerOptions.MAX_POLICY_VERSION));
    }

    /**
     * {@code batch} as the trainer wants it, or empty when it wants none of it (nothing left after the policy-version
     * bounds included). The units outside the bounds are removed from {@code batch} itself, which was decoded for
     * this trainer alone, and its min/max_policy_version then describe what is left.
     */
    Optional<TrainingBatch> apply(TrainingBatch batch) {
        if (!estimator.map(batch.getEstimator()::equals).orElse(true)
                || !configFingerprint.map(batch.getConfigFingerprint()::equals).orElse(true)) {
            return Optional.empty();
        }
        List<ScoredTrajectory> trajectories = batch.getTrajectories();
        Set<String> outside = new HashSet<>();
        for (int i = 0; i < trajectories.size(); i++) {
            if (!withinPolicyBounds(trajectories.get(i))) {
                outside.add(unitOf(trajectories.get(i), i));
            }
        }
        if (outside.isEmpty()) {
            return Optional.of(batch);
        }
        List<ScoredTrajectory> kept = new ArrayList<>();
        long minPolicy = Long.MAX_VALUE;
        long maxPolicy = Long.MIN_VALUE;
        for (int i = 0; i < trajectories.size(); i++) {
            ScoredTrajectory trajectory = trajectories.get(i);
            if (!outside.contains(unitOf(trajectory, i))) {
                kept.add(trajectory);
                for (ScoredStep step : trajectory.getSteps()) {
                    minPolicy = Math.min(minPolicy, step.getPolicyVersion());
                    maxPolicy = Math.max(maxPolicy, step.getPolicyVersion());
                }
            }
        }
        if (kept.isEmpty()) {
            return Optional.empty();
        }
        batch.setTrajectories(kept);
        batch.setMinPolicyVersion(minPolicy);
        batch.setMaxPolicyVersion(maxPolicy);
        return Optional.of(batch);
    }

    private boolean withinPolicyBounds(ScoredTrajectory trajectory) {
        for (ScoredStep step : trajectory.getSteps()) {
            long version = step.getPolicyVersion();
            if (minPolicyVersion.map(min -> version < min).orElse(false)
                    || maxPolicyVersion.map(max -> version > max).orElse(false)) {
                return false;
            }
        }
        return true;
    }

    /**
     * The scoring unit of the {@code index}-th trajectory of its batch. A batch written before scoring_unit existed
     * names only its group_id, which may join units that were scored apart: dropping them together keeps the rule
     * that no unit is delivered in part. A trajectory with neither is a unit of its own.
     */
    private static String unitOf(ScoredTrajectory trajectory, int index) {
        if (trajectory.getScoringUnit() != null) {
            return "unit " + trajectory.getScoringUnit();
        }
        return trajectory.getGroupId() != null ? "group " + trajectory.getGroupId() : "trajectory " + index;
    }
}
