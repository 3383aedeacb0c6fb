package io.strawless.connectors.trainer;

import io.strawless.schemas.ScoredStep;
import io.strawless.schemas.ScoredTrajectory;
import io.strawless.schemas.TrainingBatch;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.Set;
import java.util.regex.Pattern;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.apache.flink.configuration.ConfigOption;
import org.apache.flink.configuration.ReadableConfig;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * What a trainer wants of each batch, from the {@code trainer.*} filter options; unset means "any".
 *
 * <p>The estimator and configuration filters take or drop a batch whole. The policy-version bounds take or drop
 * whole scoring units: a batch mixes the groups of every task the job's subtask scored, so one trajectory of an
 * older policy must not cost the others beside it their training, and a unit's credit is relative to all of its
 * members, so none is delivered without the others.
 *
 * <p>A dropped batch is committed past, so a filter that matches nothing would silently throw every batch away. The
 * settings are therefore refused where no batch the job writes could match them (an empty value, a fingerprint not
 * of the job's shape, crossed policy-version bounds), the estimator is compared by name whatever its case or
 * separator, and the first batch dropped for each estimator and fingerprint it carries is logged as a warning.
 */
final class BatchFilter {

    private static final Logger LOG = LoggerFactory.getLogger(BatchFilter.class);

    /**
     * The shape of the config_fingerprint the job writes (CreditConfig#fingerprint in the pipeline module), e.g.
     * {@code dr_grpo-verl-8e2578ac}: the estimator's name, the preset's, and the first 4 bytes of a SHA-256 in hex.
     */
    static final Pattern FINGERPRINT = Pattern.compile("[a-z][a-z0-9_]*-[a-z][a-z0-9-]*-[0-9a-f]{8}");

    private final Optional<String> estimator;
    private final Optional<String> configFingerprint;
    private final Optional<Long> minPolicyVersion;
    private final Optional<Long> maxPolicyVersion;
    /** The (estimator, config_fingerprint) pairs of the batches dropped so far: each is warned about once. */
    private final Set<List<String>> dropped = new HashSet<>();

    private BatchFilter(Optional<String> estimator, Optional<String> configFingerprint, Optional<Long> minPolicyVersion,
            Optional<Long> maxPolicyVersion) {
        this.estimator = estimator;
        this.configFingerprint = configFingerprint;
        this.minPolicyVersion = minPolicyVersion;
        this.maxPolicyVersion = maxPolicyVersion;
    }

    static BatchFilter of(ReadableConfig conf) {
        Optional<Long> min = conf.getOptional(TrainerOptions.MIN_POLICY_VERSION);
        Optional<Long> max = conf.getOptional(TrainerOptions.MAX_POLICY_VERSION);
        if (min.isPresent() && max.isPresent() && min.get() > max.get()) {
            // Every unit would fall outside, and every batch be committed past unread.
            throw new IllegalArgumentException(TrainerOptions.MIN_POLICY_VERSION.key() + "=" + min.get() + " is above "
                    + TrainerOptions.MAX_POLICY_VERSION.key() + "=" + max.get() + ": no batch could pass; swap or"
                    + " widen them");
        }
        Optional<String> fingerprint = nonEmpty(conf, TrainerOptions.CONFIG_FINGERPRINT, "configuration");
        if (fingerprint.isPresent() && !FINGERPRINT.matcher(fingerprint.get()).matches()) {
            throw new IllegalArgumentException(TrainerOptions.CONFIG_FINGERPRINT.key() + "=" + fingerprint.get()
                    + " is not a fingerprint the job writes (<estimator>-<preset>-<8 hex digits>, e.g."
                    + " grpo-verl-8e2578ac), so no batch could pass: copy a batch's config_fingerprint or what"
                    + " 'strawless fingerprint -D key=value ...' prints for the job's settings");
        }
        Optional<String> estimator = nonEmpty(conf, TrainerOptions.ESTIMATOR, "estimator").map(BatchFilter::estimatorName);
        if (estimator.isPresent() && !TrainerOptions.ESTIMATORS.contains(estimator.get())) {
            throw new IllegalArgumentException(TrainerOptions.ESTIMATOR.key() + "=" + conf.get(TrainerOptions.ESTIMATOR)
                    + " names no estimator of the job, so no batch could pass: use one of "
                    + String.join(", ", TrainerOptions.ESTIMATORS));
        }
        if (estimator.isPresent() && fingerprint.isPresent() && !fingerprint.get().startsWith(estimator.get() + "-")) {
            // The fingerprint begins with the estimator's name: a batch cannot match both.
            throw new IllegalArgumentException(TrainerOptions.CONFIG_FINGERPRINT.key() + "=" + fingerprint.get()
                    + " is the fingerprint of another estimator than " + TrainerOptions.ESTIMATOR.key() + "="
                    + estimator.get() + ", so no batch could pass: set one of them, or both of the same estimator");
        }
        return new BatchFilter(estimator, fingerprint, min, max);
    }

    /**
     * An estimator as the job names it in a batch: in lower case, words joined by '_' ({@code dr_grpo}). The job's
     * own setting takes any case ({@code credit.estimator=DR_GRPO}), and the other enum settings join words by '-'.
     */
    static String estimatorName(String name) {
        return name.toLowerCase(Locale.ROOT).replace('-', '_');
    }

    private static Optional<String> nonEmpty(ReadableConfig conf, ConfigOption<String> option, String anyWhat) {
        Optional<String> value = conf.getOptional(option);
        if (value.isPresent() && value.get().isBlank()) {
            throw new IllegalArgumentException(option.key() + " is empty, which no batch matches: set it, or remove"
                    + " it to take any " + anyWhat);
        }
        return value;
    }

    /**
     * {@code batch} as the trainer wants it, or empty when it wants none of it (nothing left after the policy-version
     * bounds included). The units outside the bounds are removed from {@code batch} itself, which was decoded for
     * this trainer alone, and its min/max_policy_version then describe what is left.
     */
    Optional<TrainingBatch> apply(TrainingBatch batch) {
        if (!estimator.map(batch.getEstimator()::equals).orElse(true)
                || !configFingerprint.map(batch.getConfigFingerprint()::equals).orElse(true)) {
            warnOnce(batch);
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

    /**
     * Says, once per configuration a batch carries, that the estimator or fingerprint filter drops its batches: a
     * trainer whose filter matches none of the job's batches would otherwise commit past all of them unread.
     */
    private void warnOnce(TrainingBatch batch) {
        if (dropped.add(List.of(batch.getEstimator(), batch.getConfigFingerprint()))) {
            String wanted = Stream.of(
                            estimator.map(name -> TrainerOptions.ESTIMATOR.key() + "=" + name),
                            configFingerprint.map(name -> TrainerOptions.CONFIG_FINGERPRINT.key() + "=" + name))
                    .flatMap(Optional::stream)
                    .collect(Collectors.joining(", "));
            LOG.warn("dropping the batches of estimator {} with config_fingerprint {} (the first: batch {}): the"
                    + " filters want {}. Said once per estimator and fingerprint; a trainer that gets no batch at all"
                    + " has filters that match none of the job's (compare its credit.estimator, and what 'strawless"
                    + " fingerprint' prints for its settings)", batch.getEstimator(), batch.getConfigFingerprint(),
                    batch.getBatchId(), wanted);
        }
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
