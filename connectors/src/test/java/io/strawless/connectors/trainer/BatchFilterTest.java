package io.strawless.connectors.trainer;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.strawless.schemas.ScoredStep;
import io.strawless.schemas.ScoredTrajectory;
import io.strawless.schemas.TrainingBatch;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Consumer;
import org.apache.flink.configuration.Configuration;
import org.apache.logging.log4j.LogManager;
import org.apache.logging.log4j.core.LogEvent;
import org.apache.logging.log4j.core.LoggerContext;
import org.apache.logging.log4j.core.appender.AbstractAppender;
import org.apache.logging.log4j.core.config.Property;
import org.junit.jupiter.api.Test;

/**
 * The estimator and fingerprint filters without a broker. A batch they drop is committed past unread, so a setting
 * that matches none of the job's batches must be refused up front, or at least said: otherwise a trainer skips every
 * batch in silence.
 */
class BatchFilterTest {

    private static final String FINGERPRINT = "grpo-verl-8e2578ac";

    @Test
    void anEmptyEstimatorOrFingerprintIsRefusedNamingTheKey() {
        for (String key : List.of("trainer.estimator", "trainer.config-fingerprint")) {
            Configuration conf = new Configuration();
            conf.setString(key, "");

            IllegalArgumentException refused = assertThrows(IllegalArgumentException.class, () -> BatchFilter.of(conf));
            assertTrue(refused.getMessage().startsWith(key + " is empty"), refused.getMessage());
        }
    }

    /** A misspelt estimator, or a fingerprint of another estimator than the filter's, matches no batch. */
    @Test
    void filtersThatNoBatchCouldPassAreRefused() {
        for (String unknown : List.of("gpro", " grpo", "ppo")) {
            IllegalArgumentException refused = assertThrows(IllegalArgumentException.class,
                    () -> BatchFilter.of(filterOn(unknown, null)), unknown);
            assertEquals("trainer.estimator=" + unknown + " names no estimator of the job, so no batch could pass: use"
                    + " one of outcome, grpo, dr_grpo, rloo, gae, reinforce_pp, reinforce_pp_baseline, process, gigpo",
                    refused.getMessage());
        }
        IllegalArgumentException crossed = assertThrows(IllegalArgumentException.class,
                () -> BatchFilter.of(filterOn("reinforce_pp", "reinforce_pp_baseline-openrlhf-6676a3b3")));
        assertTrue(crossed.getMessage().startsWith("trainer.config-fingerprint=reinforce_pp_baseline-openrlhf-6676a3b3"
                + " is the fingerprint of another estimator than trainer.estimator=reinforce_pp"), crossed.getMessage());
        assertTrue(BatchFilter.of(filterOn("GRPO", FINGERPRINT)).apply(batch("b", "grpo", FINGERPRINT)).isPresent());
    }

    /** The job writes {@code <estimator>-<preset>-<8 hex digits>} (CreditConfig#fingerprint), in lower case. */
    @Test
    void aFingerprintNotOfTheJobsShapeIsRefused() {
        for (String wrong : List.of("fp-a", "grpo-verl", "grpo-verl-8e2578a", "GRPO-VERL-8E2578AC",
                "grpo-verl-8e2578ac ", "grpo-verl-8e2578acff")) {
            Configuration conf = filterOn(null, wrong);

            IllegalArgumentException refused = assertThrows(IllegalArgumentException.class, () -> BatchFilter.of(conf),
                    wrong);
            assertTrue(refused.getMessage().startsWith("trainer.config-fingerprint=" + wrong + " is not a fingerprint"
                    + " the job writes"), refused.getMessage());
        }
        for (String right : List.of(FINGERPRINT, "dr_grpo-none-00000000", "reinforce_pp_baseline-openrlhf-0123abcd")) {
            BatchFilter filter = BatchFilter.of(filterOn(null, right));
            assertTrue(filter.apply(batch("b", "grpo", right)).isPresent(), right);
        }
    }

    /**
     * The job takes credit.estimator in any case (Flink's enum settings do) and writes the estimator's name in lower
     * case, words joined by '_': a trainer.estimator of GRPO or dr-grpo names the same estimator, not none.
     */
    @Test
    void theEstimatorIsComparedByNameInAnyCaseOrSeparator() {
        assertTrue(BatchFilter.of(filterOn("GRPO", null)).apply(batch("b", "grpo", FINGERPRINT)).isPresent());
        assertTrue(BatchFilter.of(filterOn("dr-grpo", null)).apply(batch("b", "dr_grpo", FINGERPRINT)).isPresent());
        assertTrue(BatchFilter.of(filterOn("Dr_GRPO", null)).apply(batch("b", "dr_grpo", FINGERPRINT)).isPresent());
        assertFalse(BatchFilter.of(filterOn("dr-grpo", null)).apply(batch("b", "grpo", FINGERPRINT)).isPresent());
    }

    /**
     * Each estimator and fingerprint a dropped batch carries is warned about once, naming both what the batch carried
     * and what the filter wanted: one line for a trainer whose filter drops everything, not one a batch.
     */
    @Test
    void aDroppedConfigurationIsWarnedAboutOncePerEstimatorAndFingerprint() {
        BatchFilter filter = BatchFilter.of(filterOn("grpo", FINGERPRINT));
        List<String> warnings = new ArrayList<>();
        withWarnings(warnings::add, () -> {
            filter.apply(batch("gae-0", "gae", "gae-none-11111111"));
            filter.apply(batch("gae-1", "gae", "gae-none-11111111"));
            filter.apply(batch("wanted", "grpo", FINGERPRINT));
            filter.apply(batch("other-config", "grpo", "grpo-verl-22222222"));
            filter.apply(batch("other-config-again", "grpo", "grpo-verl-22222222"));
        });

        assertEquals(2, warnings.size(), warnings.toString());
        assertTrue(warnings.get(0).startsWith("dropping the batches of estimator gae with config_fingerprint"
                + " gae-none-11111111 (the first: batch gae-0): the filters want trainer.estimator=grpo,"
                + " trainer.config-fingerprint=" + FINGERPRINT + "."), warnings.get(0));
        assertTrue(warnings.get(1).startsWith("dropping the batches of estimator grpo with config_fingerprint"
                + " grpo-verl-22222222 (the first: batch other-config)"), warnings.get(1));
    }

    private static Configuration filterOn(String estimator, String fingerprint) {
        Configuration conf = new Configuration();
        if (estimator != null) {
            conf.set(TrainerOptions.ESTIMATOR, estimator);
        }
        if (fingerprint != null) {
            conf.set(TrainerOptions.CONFIG_FINGERPRINT, fingerprint);
        }
        return conf;
    }

    private static TrainingBatch batch(String id, String estimator, String fingerprint) {
        ScoredStep step = ScoredStep.newBuilder().setStepIndex(0).setTrainable(true).setAdvantage(0.5)
                .setTargetReturn(1).setPolicyVersion(1).build();
        ScoredTrajectory trajectory = ScoredTrajectory.newBuilder().setTrajectoryId(id + "-t0").setAgentId("agent")
                .setTaskId("task").setOutcomeReward(1.0).setSuccess(true).setSteps(List.of(step)).build();
        return TrainingBatch.newBuilder().setBatchId(id).setCreatedAt(Instant.ofEpochMilli(1_700_000_000_000L))
                .setEstimator(estimator).setConfigFingerprint(fingerprint).setMinPolicyVersion(1).setMaxPolicyVersion(1)
                .setTrajectories(List.of(trajectory)).build();
    }

    /** Runs {@code action}, handing {@code sink} each message BatchFilter logs at WARN or above meanwhile. */
    private static void withWarnings(Consumer<String> sink, Runnable action) {
        LoggerContext context = (LoggerContext) LogManager.getContext(false);
        AbstractAppender appender = new AbstractAppender("batch-filter-warnings", null, null, true,
                Property.EMPTY_ARRAY) {
            @Override
            public void append(LogEvent event) {
                sink.accept(event.getMessage().getFormattedMessage());
            }
        };
        appender.start();
        context.getConfiguration().addLoggerAppender(context.getLogger(BatchFilter.class.getName()), appender);
        try {
            action.run();
        } finally {
            context.getConfiguration().getLoggerConfig(BatchFilter.class.getName()).removeAppender(appender.getName());
            appender.stop();
        }
    }
}
