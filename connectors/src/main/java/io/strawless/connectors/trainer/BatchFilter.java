package io.strawless.connectors.trainer;

import io.strawless.schemas.TrainingBatch;
import java.util.Optional;
import org.apache.flink.configuration.ReadableConfig;

/** Which batches a trainer wants, from the {@code trainer.*} filter options; unset means "any". */
record BatchFilter(
        Optional<String> estimator,
        Optional<String> configFingerprint,
        Optional<Long> minPolicyVersion,
        Optional<Long> maxPolicyVersion) {

    static BatchFilter of(ReadableConfig conf) {
        return new BatchFilter(
                conf.getOptional(TrainerOptions.ESTIMATOR),
                conf.getOptional(TrainerOptions.CONFIG_FINGERPRINT),
                conf.getOptional(TrainerOptions.MIN_POLICY_VERSION),
                conf.getOptional(TrainerOptions.MAX_POLICY_VERSION));
    }

    boolean accepts(TrainingBatch batch) {
        return estimator.map(batch.getEstimator()::equals).orElse(true)
                && configFingerprint.map(batch.getConfigFingerprint()::equals).orElse(true)
                && minPolicyVersion.map(min -> batch.getMinPolicyVersion() >= min).orElse(true)
                && maxPolicyVersion.map(max -> batch.getMaxPolicyVersion() <= max).orElse(true);
    }
}
