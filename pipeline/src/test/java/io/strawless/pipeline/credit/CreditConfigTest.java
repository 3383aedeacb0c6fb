package io.strawless.pipeline.credit;

import static io.strawless.pipeline.credit.Scoring.config;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.strawless.pipeline.credit.CreditOptions.EpsilonMode;
import io.strawless.pipeline.credit.CreditOptions.NonTrainableSteps;
import io.strawless.pipeline.credit.CreditOptions.Normalize;
import io.strawless.pipeline.credit.CreditOptions.SingletonGroup;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.ObjectInputStream;
import java.io.ObjectOutputStream;
import java.util.Map;
import org.apache.flink.configuration.Configuration;
import org.junit.jupiter.api.Test;

class CreditConfigTest {

    @Test
    void withoutAPresetEveryOptionHasItsDocumentedDefault() {
        CreditConfig config = CreditConfig.from(new Configuration());

        assertEquals("outcome", config.estimator());
        assertEquals("auto", config.backend());
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
        assertMessage("credit.estimator 'ppo' is not one of", () -> config("java", "ppo"));
        assertMessage("credit.backend 'cuda' is not one of", () -> config("cuda", "gae"));
        assertMessage("credit.gamma must be in [0.0, 1.0], not 1.5", () -> config("java", "gae", "credit.gamma", "1.5"));
        assertMessage("credit.std-ddof must be 0 or 1", () -> config("java", "grpo", "credit.std-ddof", "2"));
        assertMessage("credit.verifier-weights: weight of v1 is not a number",
                () -> config("java", "process", "credit.verifier-weights", "v1:heavy"));
        assertMessage("Could not parse value", () -> config("java", "grpo", "credit.epsilon-mode", "sometimes"));
        assertMessage("credit.normalize batch is not defined for gigpo",
                () -> config("java", "gigpo", "credit.normalize", "batch"));
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

    /**
     * Trainers filter on the fingerprint (trainer.config-fingerprint) and compare it between a backfill and the live
     * output, so a configuration keeps the value it has: these are the values of this release, for the default
     * configuration, every estimator without a preset, the verl preset, and process without learnt weights.
     */
    @Test
    void theFingerprintsTrainersAlreadyFilterOnStayAsTheyAre() {
        assertEquals("outcome-none-585b7435", CreditConfig.from(new Configuration()).fingerprint(), "the default");
        Map<String, String> withoutPreset = Map.of("outcome", "outcome-none-585b7435", "grpo", "grpo-none-f391d24e",
                "dr_grpo", "dr_grpo-none-bf4b9e1d", "rloo", "rloo-none-fb169c2c", "gae", "gae-none-60c77f11",
                "reinforce_pp", "reinforce_pp-none-88609449", "reinforce_pp_baseline",
                "reinforce_pp_baseline-none-dd5760ee", "process", "process-none-1ea3e51d", "gigpo", "gigpo-none-20aae7d3");
        withoutPreset.forEach((estimator, fingerprint) ->
                assertEquals(fingerprint, config("java", estimator).fingerprint(), estimator));
        assertEquals("grpo-verl-8e2578ac", config("java", "grpo", "credit.preset", "verl").fingerprint());
        assertEquals("process-verl-4a841495", config("java", "process", "credit.preset", "verl").fingerprint());
        assertEquals("process-none-274e640b",
                config("java", "process", "reliability.weight-verifiers", "false").fingerprint());
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

    private static void assertMessage(String expectedStart, org.junit.jupiter.api.function.Executable executable) {
        IllegalArgumentException error = assertThrows(IllegalArgumentException.class, executable);
        assertTrue(error.getMessage().contains(expectedStart), error.getMessage());
    }
}
