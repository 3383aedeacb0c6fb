package io.strawless.pipeline.credit;

import static io.strawless.pipeline.credit.Scoring.config;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.strawless.pipeline.JobOptions;
import io.strawless.pipeline.credit.CreditConfig.InFingerprint;
import io.strawless.pipeline.credit.CreditOptions.Backend;
import io.strawless.pipeline.credit.CreditOptions.EpsilonMode;
import io.strawless.pipeline.credit.CreditOptions.NonTrainableSteps;
import io.strawless.pipeline.credit.CreditOptions.Normalize;
import io.strawless.pipeline.credit.CreditOptions.SingletonGroup;
import io.strawless.pipeline.reliability.ReliabilityOptions;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.ObjectInputStream;
import java.io.ObjectOutputStream;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;
import org.apache.flink.configuration.ConfigOption;
import org.apache.flink.configuration.Configuration;
import org.junit.jupiter.api.Test;

class CreditConfigTest {

    @Test
    void withoutAPresetEveryOptionHasItsDocumentedDefault() {
        CreditConfig config = CreditConfig.from(new Configuration());

        assertEquals(Estimator.OUTCOME, config.estimator());
        assertEquals(Backend.AUTO, config.backend());
        assertEquals(1.0, config.gamma());
        assertEquals(1.0, config.lambda());
        assertEquals(1e-6, config.epsilon());
        assertEquals(EpsilonMode.ADD_STD, config.epsilonMode());
        assertEquals(1, config.stdDdof());
        assertEquals(SingletonGroup.TASK_BASELINE, config.singletonGroup());
        assertEquals(Normalize.NONE, config.normalize());
        assertEquals(NonTrainableSteps.SKIP, config.nonTrainableSteps());
        assertEquals(1.0, config.verifierWeight("any"));
    }

    @Test
    void aPresetSetsItsFrameworksConventionsAndExplicitOptionsWin() {
        CreditConfig verlGae = config("java", "gae", "credit.preset", "verl");
        assertEquals(Normalize.BATCH, verlGae.normalize());
        assertEquals(1e-8, verlGae.epsilon());
        assertEquals(EpsilonMode.ADD_VAR, verlGae.epsilonMode());

        CreditConfig openRlhfGae = config("java", "gae", "credit.preset", "openrlhf", "credit.normalize", "none");
        assertEquals(Normalize.NONE, openRlhfGae.normalize());
        assertEquals(NonTrainableSteps.ZERO, openRlhfGae.nonTrainableSteps());
        assertEquals(0, openRlhfGae.stdDdof());
        assertEquals(EpsilonMode.CLAMP_VAR, openRlhfGae.epsilonMode());

        CreditConfig trlGrpo = config("java", "grpo", "credit.preset", "TRL");
        assertEquals(1e-4, trlGrpo.epsilon());
        assertEquals(SingletonGroup.ZERO, trlGrpo.singletonGroup());
    }

    @Test
    void aPresetRefusesAnEstimatorItsFrameworkDoesNotHave() {
        IllegalArgumentException error = assertThrows(IllegalArgumentException.class,
                () -> config("java", "gae", "credit.preset", "trl"));
        assertTrue(error.getMessage().contains("credit.preset trl does not define estimator 'gae'"), error.getMessage());
    }

    @Test
    void unknownAndOutOfRangeValuesAreRefusedByName() {
        assertMessage("Could not parse value 'ppo' for key 'credit.estimator'", () -> config("java", "ppo"));
        assertMessage("Could not parse value 'cuda' for key 'credit.backend'", () -> config("cuda", "gae"));
        assertMessage("credit.gamma must be in [0.0, 1.0], not 1.5", () -> config("java", "gae", "credit.gamma", "1.5"));
        assertMessage("credit.std-ddof must be 0 or 1", () -> config("java", "grpo", "credit.std-ddof", "2"));
        assertMessage("credit.verifier-weights: weight of v1 is not a number",
                () -> config("java", "process", "credit.verifier-weights", "v1:heavy"));
        assertMessage("Could not parse value", () -> config("java", "grpo", "credit.epsilon-mode", "sometimes"));
        assertMessage("credit.normalize batch is not defined for gigpo",
                () -> config("java", "gigpo", "credit.normalize", "batch"));
    }

    /**
     * The names are what users set and what batches (estimator, config_fingerprint), metrics and logs carry: they
     * stay as they are. The configuration reads them in any case, as it reads every enum setting.
     */
    @Test
    void estimatorsAndBackendsAreReadByTheirNamesInAnyCase() {
        assertEquals(List.of("outcome", "grpo", "dr_grpo", "rloo", "gae", "reinforce_pp", "reinforce_pp_baseline",
                "process", "gigpo"), Arrays.stream(Estimator.values()).map(String::valueOf).toList());
        assertEquals(List.of("auto", "opencl", "jtp", "java"),
                Arrays.stream(Backend.values()).map(String::valueOf).toList());
        for (Estimator estimator : Estimator.values()) {
            assertEquals(estimator, config("java", estimator.toString()).estimator());
        }
        CreditConfig shouted = config("JAVA", "DR_GRPO");
        assertEquals(Estimator.DR_GRPO, shouted.estimator());
        assertEquals(Backend.JAVA, shouted.backend());
        assertEquals(Estimator.REINFORCE_PP_BASELINE, config("Jtp", "Reinforce_PP_Baseline").estimator());
        assertEquals(config("java", "dr_grpo").fingerprint(), shouted.fingerprint(), "named as the estimator is");
    }

    @Test
    void theFingerprintNamesEstimatorAndPresetAndHashesEverySetting() {
        CreditConfig verl = config("java", "grpo", "credit.preset", "verl");
        String fingerprint = verl.fingerprint();

        assertTrue(fingerprint.matches("grpo-verl-[0-9a-f]{8}"), fingerprint);
        assertEquals(fingerprint, config("java", "grpo", "credit.preset", "verl").fingerprint(), "stable");
        assertEquals(fingerprint, config("opencl", "grpo", "credit.preset", "verl").fingerprint(), "backend-free");
        assertNotEquals(fingerprint, config("java", "grpo", "credit.preset", "verl", "credit.epsilon", "1e-5")
                .fingerprint());
        assertEquals(config("java", "process", "credit.verifier-weights", "a:1,b:2").fingerprint(),
                config("java", "process", "credit.verifier-weights", "b:2,a:1").fingerprint(), "map order");
    }

    /** What the configuration reference says of each setting: which count in the fingerprint, and how. */
    @Test
    void eachSettingSaysWhetherItCountsInTheFingerprint() {
        assertEquals(InFingerprint.NO, CreditConfig.inFingerprint(CreditOptions.BACKEND));
        assertEquals(InFingerprint.ALWAYS, CreditConfig.inFingerprint(CreditOptions.GAMMA));
        assertEquals(InFingerprint.ALWAYS, CreditConfig.inFingerprint(CreditOptions.GIGPO_STEP_WEIGHT));
        assertEquals(InFingerprint.UNDER_GROUP_RELATIVE_ESTIMATORS,
                CreditConfig.inFingerprint(CreditOptions.SINGLETON_GROUP));
        assertEquals(config("java", "gae").fingerprint(), config("java", "gae", "credit.singleton-group", "zero")
                .fingerprint(), "not under an estimator without groups");
        assertNotEquals(config("java", "grpo").fingerprint(), config("java", "grpo", "credit.singleton-group", "zero")
                .fingerprint());
        for (ConfigOption<?> counted : List.of(JobOptions.BASELINE_DECAY, JobOptions.BASELINE_TTL,
                ReliabilityOptions.MODEL_IDLE_TTL, ReliabilityOptions.WINDOW_STEPS, ReliabilityOptions.WEIGHT_VERIFIERS)) {
            assertEquals(InFingerprint.WHERE_IT_CHANGES_THE_NUMBERS, CreditConfig.inFingerprint(counted), counted.key());
        }
        assertEquals(InFingerprint.NO, CreditConfig.inFingerprint(JobOptions.MAX_POLICY_LAG));
        assertEquals(InFingerprint.NO, CreditConfig.inFingerprint(ReliabilityOptions.SUSPECT_POLICY));
    }

    /**
     * Trainers filter on the fingerprint (trainer.config-fingerprint) and compare it between a backfill and the live
     * output, so a configuration keeps the value it has. These are the values of this release, for the default
     * configuration, every estimator without a preset, the verl preset, and process without learnt weights; those of
     * outcome, gae, reinforce_pp and the verl preset are those of the release before (04f4289, printed by its
     * `strawless score`). The group-relative estimators without a preset changed on 2026-11-27 with their numbers:
     * credit.singleton-group=task-baseline became the default.
     */
    @Test
    void theFingerprintsTrainersAlreadyFilterOnStayAsTheyAre() {
        assertEquals("outcome-none-59ae3496", CreditConfig.from(new Configuration()).fingerprint(), "the default");
        Map<String, String> withoutPreset = Map.of("outcome", "outcome-none-59ae3496", "grpo", "grpo-none-f391d24e",
                "dr_grpo", "dr_grpo-none-bf4b9e1d", "rloo", "rloo-none-fb169c2c", "gae", "gae-none-c51c537f",
                "reinforce_pp", "reinforce_pp-none-628d8d83", "reinforce_pp_baseline",
                "reinforce_pp_baseline-none-dd5760ee", "process", "process-none-1ea3e51d", "gigpo", "gigpo-none-20aae7d3");
        assertEquals(Arrays.stream(Estimator.values()).map(String::valueOf).collect(Collectors.toSet()),
                withoutPreset.keySet(), "every estimator");
        withoutPreset.forEach((estimator, fingerprint) ->
                assertEquals(fingerprint, config("java", estimator).fingerprint(), estimator));
        assertEquals("grpo-verl-8e2578ac", config("java", "grpo", "credit.preset", "verl").fingerprint());
        assertEquals("process-verl-4a841495", config("java", "process", "credit.preset", "verl").fingerprint());
        assertEquals("process-none-274e640b",
                config("java", "process", "reliability.weight-verifiers", "false").fingerprint());
        // Changed on 2026-11-27 with their numbers: the verl preset's reinforce_pp restarts its return at a tool
        // step (credit.non-trainable-steps=reset), the openrlhf preset's reinforce_pp_baseline returns the baselined
        // score before whitening (it was reinforce_pp_baseline-openrlhf-b6d627c8).
        assertEquals("reinforce_pp-verl-5ca1b3cd", config("java", "reinforce_pp", "credit.preset", "verl").fingerprint());
        assertEquals("reinforce_pp_baseline-openrlhf-6676a3b3",
                config("java", "reinforce_pp_baseline", "credit.preset", "openrlhf").fingerprint());
    }

    /**
     * The task's streaming baseline is subtracted under outcome, and from a trajectory alone in its group under a
     * group-relative estimator with credit.singleton-group=task-baseline: there baseline.* change the numbers, so the
     * fingerprint; set to their defaults they leave it as it was. Where nothing subtracts it, they change neither.
     */
    @Test
    void theBaselinesSettingsAreInTheFingerprintOfTheEstimatorsThatSubtractItOnly() {
        String outcome = config("java", "outcome").fingerprint();
        assertNotEquals(config("java", "outcome", "baseline.decay", "0.5").fingerprint(),
                config("java", "outcome", "baseline.decay", "0.9").fingerprint());
        assertEquals(outcome, config("java", "outcome", "baseline.decay", "0.9").fingerprint(), "the default");
        assertChanged("baseline.ttl", "12h", "outcome");
        assertUnchanged("baseline.ttl", "1d", "outcome"); // the default, spelt otherwise
        assertChanged("baseline.decay", "0.5", "grpo"); // task-baseline, the default without a preset
        assertChanged("baseline.ttl", "12h", "process"); // with a group baseline

        assertUnchanged("baseline.decay", "0.5", "gae");
        assertUnchanged("baseline.ttl", "12h", "reinforce_pp");
        assertUnchanged("baseline.decay", "0.5", "grpo", "credit.preset", "verl"); // a group of one keeps its score
        assertUnchanged("baseline.decay", "0.5", "rloo", "credit.singleton-group", "zero");
        assertUnchanged("baseline.decay", "0.5", "process", "credit.process-baseline", "none"); // no groups
    }

    /**
     * The quarantine's settings decide which trajectories are suspects: under job.suspect-policy=FLAG, the default,
     * a suspect stays in its batch with weight 0, whatever the estimator; under either policy the others are scored
     * without it, which changes the credit of an estimator that compares a trajectory with its group or its batch.
     */
    @Test
    void theQuarantinesSettingsAreInTheFingerprintWhereSuspectsChangeNumbers() {
        assertChanged("quarantine.max-good-share-on-success", "0.2", "outcome");
        assertChanged("quarantine.min-good-share-on-failure", "0.95", "gae");
        assertChanged("quarantine.min-learnt-steps", "50", "outcome");
        assertChanged("reliability.window-steps", "500", "outcome");
        assertChanged("quarantine.max-good-share-on-success", "0.2", "grpo", "job.suspect-policy", "UNSCORED");
        assertChanged("quarantine.max-good-share-on-success", "0.2", "gae", "job.suspect-policy", "UNSCORED",
                "credit.normalize", "batch");

        // Suspects that leave the batch change no other trajectory's numbers here.
        assertUnchanged("quarantine.max-good-share-on-success", "0.2", "gae", "job.suspect-policy", "UNSCORED");
        assertUnchanged("reliability.window-steps", "500", "outcome", "job.suspect-policy", "UNSCORED");
    }

    /**
     * The others are scored without the suspects under either policy, so the policy only decides whether suspects
     * are in the batch, at weight 0: it changes no number a trainer weighs, nor the fingerprint.
     */
    @Test
    void theSuspectPolicyIsNotInTheFingerprint() {
        for (String estimator : new String[] {"outcome", "grpo", "process"}) {
            assertUnchanged("job.suspect-policy", "UNSCORED", estimator);
        }
    }

    /** process weights its verifiers by what the reliability model learnt, from its window and once it learnt enough. */
    @Test
    void theReliabilityModelsSettingsAreInProcesssFingerprintWhereItWeightsVerifiersByThem() {
        String[] withoutQuarantinedNumbers = {"job.suspect-policy", "UNSCORED", "credit.process-baseline", "none"};
        assertChanged("reliability.window-steps", "500", "process", withoutQuarantinedNumbers);
        assertChanged("quarantine.min-learnt-steps", "50", "process", withoutQuarantinedNumbers);
        String[] withConfiguredWeights = {"job.suspect-policy", "UNSCORED", "credit.process-baseline", "none",
                "reliability.weight-verifiers", "false"};
        assertUnchanged("reliability.window-steps", "500", "process", withConfiguredWeights);
    }

    /**
     * Which trajectories reach a batch is not how their numbers are computed: a partial group's members are scored
     * as a smaller group, or not at all, under the same rule.
     */
    @Test
    void settingsThatDecideWhichTrajectoriesAreScoredAreNotInTheFingerprint() {
        assertUnchanged("job.partial-groups", "UNSCORED", "grpo");
        assertUnchanged("job.max-policy-lag", "3", "grpo");
        assertUnchanged("batch.max-trajectories", "64", "grpo", "credit.normalize", "batch");
    }

    /** CreditScorer caches the backend auto picks by the kernels' work, which the job's other settings leave alone. */
    @Test
    void theBackendPicksCacheKeyIsTheCreditSettingsAlone() {
        CreditConfig grpo = config("auto", "grpo");
        assertEquals(grpo.kernelsKey(), config("auto", "grpo", "baseline.decay", "0.5").kernelsKey());
        assertEquals(grpo.kernelsKey(), config("auto", "grpo", "quarantine.min-learnt-steps", "50").kernelsKey());
        assertNotEquals(grpo.kernelsKey(), config("auto", "grpo", "credit.epsilon", "1e-5").kernelsKey());
    }

    /** reliability.weight-verifiers changes process's numbers, so its fingerprint; no other estimator's. */
    @Test
    void weightingVerifiersByTheirLearntReliabilityIsInProcesssFingerprint() {
        String process = config("java", "process").fingerprint();
        assertNotEquals(process, config("java", "process", "reliability.weight-verifiers", "false").fingerprint());
        assertEquals(process, config("java", "process", "reliability.weight-verifiers", "true").fingerprint());
        assertEquals(config("java", "grpo").fingerprint(),
                config("java", "grpo", "reliability.weight-verifiers", "false").fingerprint());
    }

    @Test
    void groupRelativeEstimatorsNeedWholeGroups() {
        for (String estimator : new String[] {"grpo", "dr_grpo", "rloo", "reinforce_pp_baseline", "gigpo", "process"}) {
            assertTrue(config("java", estimator).groupRelative(), estimator);
        }
        for (String estimator : new String[] {"outcome", "gae", "reinforce_pp"}) {
            assertFalse(config("java", estimator).groupRelative(), estimator);
        }
        assertFalse(config("java", "process", "credit.process-baseline", "none").groupRelative());
    }

    @Test
    void survivesJavaSerializationAsFlinkFunctionsNeed() throws Exception {
        CreditConfig config = config("java", "process", "credit.preset", "verl", "credit.verifier-weights", "v1:0.5");
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        try (ObjectOutputStream out = new ObjectOutputStream(bytes)) {
            out.writeObject(config);
        }
        try (ObjectInputStream in = new ObjectInputStream(new ByteArrayInputStream(bytes.toByteArray()))) {
            CreditConfig copy = (CreditConfig) in.readObject();
            assertEquals(config, copy);
            assertEquals(Map.of("v1", 0.5), copy.verifierWeights());
        }
    }

    /** {@code key=value} on top of {@code estimator} and {@code settings} changes its fingerprint. */
    private static void assertChanged(String key, String value, String estimator, String... settings) {
        assertNotEquals(config("java", estimator, settings).fingerprint(), withSetting(key, value, estimator, settings),
                key + " under " + estimator + " " + String.join(" ", settings));
    }

    /** {@code key=value} on top of {@code estimator} and {@code settings} leaves its fingerprint as it is. */
    private static void assertUnchanged(String key, String value, String estimator, String... settings) {
        assertEquals(config("java", estimator, settings).fingerprint(), withSetting(key, value, estimator, settings),
                key + " under " + estimator + " " + String.join(" ", settings));
    }

    private static String withSetting(String key, String value, String estimator, String... settings) {
        String[] keyValues = java.util.Arrays.copyOf(settings, settings.length + 2);
        keyValues[settings.length] = key;
        keyValues[settings.length + 1] = value;
        return config("java", estimator, keyValues).fingerprint();
    }

    private static void assertMessage(String expectedStart, org.junit.jupiter.api.function.Executable executable) {
        IllegalArgumentException error = assertThrows(IllegalArgumentException.class, executable);
        assertTrue(error.getMessage().contains(expectedStart), error.getMessage());
    }
}
