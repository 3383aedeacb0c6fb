package io.strawless.connectors.trainer;

import java.util.List;
import org.apache.flink.configuration.ConfigOption;
import org.apache.flink.configuration.ConfigOptions;

/**
 * Settings of the trainer-side {@link BatchSubscriber}. Where to read comes from
 * {@link io.strawless.connectors.KafkaOptions} ({@code kafka.bootstrap-servers}, {@code topics.batches},
 * {@code kafka.client.*}), so a trainer uses the same keys as the job that writes the batches. The
 * Python example ({@code ops/python/strawless_trainer.py}) takes the same keys as {@code -D key=value}.
 *
 * <p>The filters drop batches, or scoring units from a batch, before they reach the caller; a dropped batch counts as
 * acknowledged, so a filter that matches none of the job's batches would skip them all: the subscriber refuses a
 * value no batch could match and warns of the batches a filter drops, once for each estimator and fingerprint.
 */
public final class TrainerOptions {

    /**
     * The names the job writes in a batch's {@code estimator}: the pipeline's {@code Estimator}s, which this module
     * cannot see (PythonTrainerTest in ops holds this list, and the Python client's, to the pipeline's). A filter on another name would drop every batch.
     */
    public static final List<String> ESTIMATORS = List.of(
            "outcome", "grpo", "dr_grpo", "rloo", "gae", "reinforce_pp", "reinforce_pp_baseline", "process", "gigpo");

    public static final ConfigOption<String> GROUP_ID =
            ConfigOptions.key("trainer.group-id")
                    .stringType()
                    .defaultValue("strawless-trainer")
                    .withDescription(
                            "Consumer group of the trainer. Its committed offsets are the batches the trainer"
                                    + " acknowledged; a restarted trainer resumes after them. Must differ from"
                                    + " kafka.group-id (the job's own group).");

    public static final ConfigOption<String> ESTIMATOR =
            ConfigOptions.key("trainer.estimator")
                    .stringType()
                    .noDefaultValue()
                    .withDescription(
                            "Only deliver batches scored by this credit estimator (outcome, grpo, dr_grpo, gae,"
                                    + " ...), named in any case, '-' or '_' alike (GRPO, dr-grpo). Empty, or a name the"
                                    + " job does not have, is refused."
                                    + " Unset: any estimator.");

    public static final ConfigOption<String> CONFIG_FINGERPRINT =
            ConfigOptions.key("trainer.config-fingerprint")
                    .stringType()
                    .noDefaultValue()
                    .withDescription(
                            "Only deliver batches whose configuration has this fingerprint (the batch's"
                                    + " config_fingerprint: the estimator, its credit.* settings, and the job's"
                                    + " settings that change its numbers where they are not at their defaults)."
                                    + " 'strawless fingerprint -D key=value ...' prints it for the job's settings."
                                    + " A value not of the job's shape, <estimator>-<preset>-<8 hex digits> (e.g."
                                    + " grpo-verl-8e2578ac), is refused. Unset: any configuration.");

    public static final ConfigOption<Long> MIN_POLICY_VERSION =
            ConfigOptions.key("trainer.min-policy-version")
                    .longType()
                    .noDefaultValue()
                    .withDescription(
                            "Only deliver trajectories whose steps all come from this policy version or a later"
                                    + " one. Drops stale off-policy data by whole scoring units (a unit with one"
                                    + " older step is removed from its batch, every member, since their credit is"
                                    + " relative to each other); the rest of the batch is delivered, and a batch"
                                    + " left empty is skipped. Unset: no lower bound.");

    public static final ConfigOption<Long> MAX_POLICY_VERSION =
            ConfigOptions.key("trainer.max-policy-version")
                    .longType()
                    .noDefaultValue()
                    .withDescription(
                            "Only deliver trajectories whose steps all come from this policy version or an"
                                    + " earlier one, by whole scoring units as trainer.min-policy-version does."
                                    + " Unset: no upper bound.");

    private TrainerOptions() {}
}
