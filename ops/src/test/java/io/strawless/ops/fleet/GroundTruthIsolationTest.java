package io.strawless.ops.fleet;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.strawless.ops.fleet.FleetLedger.SentTrajectory;
import io.strawless.ops.fleet.FleetSettings.VerifierProfile;
import io.strawless.schemas.OutcomeEvent;
import io.strawless.schemas.StepEvent;
import io.strawless.schemas.VerifierSignal;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Pattern;
import org.apache.avro.Schema;
import org.junit.jupiter.api.Test;

/**
 * The fleet's ground truth (which steps are good, which trajectories hack their reward) stays in its ledger:
 * no input topic has a field for it, and whatever the truth, the records differ only in the two fields that
 * are meant to carry evidence of it, an outcome's reward and success and a verdict's score.
 */
class GroundTruthIsolationTest {

    private static final Instant END = Instant.parse("2025-01-01T12:00:00Z");
    private static final Pattern TRUTH_WORDS =
            Pattern.compile("(?i).*(good|bad|quality|hack|truth|suspect|competen).*");

    private static FleetSettings fleet(double hackShare, double outcomeNoise, double checkerAccuracy) {
        List<VerifierProfile> verifiers = List.of(
                VerifierProfile.parse("checker:" + checkerAccuracy + ":0:0.9:100"),
                VerifierProfile.parse("stamp:0.5:0.5:0.6:50"));
        return new FleetSettings(12, 6, 300, 4, 3, 12, 0.02, 0.05, 0.8, 17, outcomeNoise, hackShare, verifiers);
    }

    @Test
    void noInputTopicHasAFieldForTheTruth() {
        for (Schema schema :
                List.of(StepEvent.getClassSchema(), OutcomeEvent.getClassSchema(), VerifierSignal.getClassSchema())) {
            for (String field : fieldNames(schema, new ArrayList<>())) {
                assertFalse(TRUTH_WORDS.matcher(field).matches(), schema.getName() + "." + field);
            }
        }
    }

    @Test
    void whateverTheTruthTheRecordsDifferOnlyInOutcomesAndVerdictScores() throws Exception {
        FleetScript honest = FleetScript.generate(fleet(0.0, 0.1, 0.95), END);
        FleetScript hacked = FleetScript.generate(fleet(0.5, 0.3, 0.7), END);

        List<FleetRecord> a = honest.records();
        List<FleetRecord> b = hacked.records();
        assertEquals(a.size(), b.size());
        int outcomesThatDiffer = 0;
        int scoresThatDiffer = 0;
        for (int i = 0; i < a.size(); i++) {
            FleetRecord x = a.get(i);
            FleetRecord y = b.get(i);
            assertEquals(x.topic(), y.topic(), "record " + i);
            assertEquals(x.timestamp(), y.timestamp(), "record " + i);
            assertArrayEquals(x.key(), y.key(), "record " + i);
            if (isMalformed(honest, x)) {
                continue;
            }
            switch (x.topic()) {
                case STEPS -> assertArrayEquals(x.value(), y.value(), "step records are the same bytes, record " + i);
                case OUTCOMES -> {
                    OutcomeEvent o = OutcomeEvent.getDecoder().decode(x.value());
                    OutcomeEvent p = OutcomeEvent.getDecoder().decode(y.value());
                    outcomesThatDiffer += o.getSuccess() != p.getSuccess() ? 1 : 0;
                    p.setReward(o.getReward());
                    p.setSuccess(o.getSuccess());
                    assertEquals(o, p, "an outcome differs in reward and success only, record " + i);
                    assertEquals("synthetic-fleet", o.getSource());
                }
                case VERDICTS -> {
                    VerifierSignal v = VerifierSignal.getDecoder().decode(x.value());
                    VerifierSignal w = VerifierSignal.getDecoder().decode(y.value());
                    scoresThatDiffer += v.getScore() != w.getScore() ? 1 : 0;
                    w.setScore(v.getScore());
                    assertEquals(v, w, "a verdict differs in its score only, record " + i);
                }
            }
        }
        assertTrue(outcomesThatDiffer > 20, "the truth did change: " + outcomesThatDiffer + " outcomes differ");
        assertTrue(scoresThatDiffer > 100, "and so did the verdicts: " + scoresThatDiffer);
    }

    @Test
    void theLedgerKeepsATruthThatTheOutcomesAndVerdictsReflect() {
        FleetScript script = FleetScript.generate(fleet(0.1, 0.1, 0.95), END);
        int hacks = 0;
        double goodShareOfSuccesses = 0;
        double goodShareOfFailures = 0;
        int successes = 0;
        int failures = 0;
        int checkerRight = 0;
        int checkerVerdicts = 0;
        for (SentTrajectory t : script.ledger().trajectories().values()) {
            List<Boolean> good = t.truth().goodSteps();
            assertEquals(t.steps(), good.size());
            long policySteps = t.trainable().stream().filter(p -> p).count();
            double share = 0;
            for (int i = 0; i < good.size(); i++) {
                assertFalse(good.get(i) && !t.trainable().get(i), "tool output has no quality");
                share += good.get(i) ? 1.0 / policySteps : 0;
            }
            if (t.truth().rewardHack()) {
                hacks++;
                t.outcome().ifPresent(reward -> assertEquals(1.0, reward, t.trajectoryId() + ": a hack succeeds"));
                assertTrue(share <= 0.5, t.trajectoryId() + ": most of a hack's steps are bad");
            } else if (t.outcome().isPresent()) {
                if (t.outcome().getAsDouble() > 0) {
                    successes++;
                    goodShareOfSuccesses += share;
                } else {
                    failures++;
                    goodShareOfFailures += share;
                }
            }
            for (FleetLedger.SentVerdict v : t.verdictsSent()) {
                if (v.verifierId().equals("checker")) {
                    checkerVerdicts++;
                    checkerRight += v.saidGood() == good.get(v.stepIndex()) ? 1 : 0;
                } else {
                    assertTrue(v.saidGood(), "the stamp always says good");
                }
            }
        }
        assertTrue(hacks > 10 && hacks < 60, hacks + " hacks of 300");
        assertTrue(
                goodShareOfSuccesses / successes > goodShareOfFailures / failures + 0.3, "success follows good steps");
        assertEquals(0.95, checkerRight / (double) checkerVerdicts, 0.03);
        assertNotEquals(0, checkerVerdicts);
    }

    private static boolean isMalformed(FleetScript script, FleetRecord record) {
        return script.ledger().malformed().stream().anyMatch(bad -> bad.value() == record.value());
    }

    private static List<String> fieldNames(Schema schema, List<String> names) {
        switch (schema.getType()) {
            case RECORD ->
                schema.getFields().forEach(f -> {
                    names.add(f.name());
                    fieldNames(f.schema(), names);
                });
            case UNION -> schema.getTypes().forEach(s -> fieldNames(s, names));
            case ARRAY -> fieldNames(schema.getElementType(), names);
            case MAP -> fieldNames(schema.getValueType(), names);
            default -> {}
        }
        return names;
    }
}
