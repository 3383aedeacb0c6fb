package io.strawless.ops.demo;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.strawless.ops.fleet.FleetLedger.SentTrajectory;
import io.strawless.schemas.ScoredStep;
import io.strawless.schemas.ScoredTrajectory;
import io.strawless.schemas.TrainingBatch;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.apache.flink.configuration.Configuration;
import org.junit.jupiter.api.Test;

/**
 * The oracle's check on committed batches: clean when they hold what a correct job publishes, and a failure,
 * counted in its column, for each way they can be wrong.
 */
class ExactlyOnceCheckTest {

    private final CreditOutput correct = CorrectOutput.output();

    @Test
    void whatACorrectJobPublishesPasses() {
        ExactlyOnceCheck check = ExactlyOnceCheck.of(CorrectOutput.ledger(), correct);
        assertTrue(check.passed(), check.toString());
        long withOutcome = CorrectOutput.ledger().trajectories().values().stream()
                .filter(t -> t.outcome().isPresent())
                .mapToLong(SentTrajectory::steps)
                .sum();
        assertEquals(withOutcome, check.expectedSteps());
        assertTrue(withOutcome < CorrectOutput.ledger().validSteps(), "the fleet withheld some outcomes");
    }

    @Test
    void aLostTrajectoryFails() {
        TrainingBatch batch = correct.batches().get(0);
        List<ScoredTrajectory> kept = new ArrayList<>(batch.getTrajectories());
        ScoredTrajectory lost = kept.remove(0);
        ExactlyOnceCheck check = check(CorrectOutput.replacing(correct.batches(), 0, withTrajectories(batch, kept)));
        assertFalse(check.passed());
        assertEquals(lost.getSteps().size(), check.lostSteps(), check.toString());
        assertEquals(new ExactlyOnceCheck(check.expectedSteps(), lost.getSteps().size(), 0, 0, 0), check);
    }

    @Test
    void aBatchCommittedTwiceFails() {
        List<TrainingBatch> batches = new ArrayList<>(correct.batches());
        TrainingBatch again = batches.get(3);
        batches.add(again);
        ExactlyOnceCheck check = check(batches);
        assertFalse(check.passed());
        long steps = again.getTrajectories().stream().mapToLong(t -> t.getSteps().size()).sum();
        assertEquals(new ExactlyOnceCheck(check.expectedSteps(), 0, steps, 0, 0), check);
    }

    /** One step off by ten times the tolerance is a mismatch; off by half of it, it is not. */
    @Test
    void anAdvantageOffByMoreThanTheToleranceFails() {
        ExactlyOnceCheck off = check(withFirstAdvantageMovedBy(10 * ExactlyOnceCheck.TOLERANCE));
        assertFalse(off.passed());
        assertEquals(new ExactlyOnceCheck(off.expectedSteps(), 0, 0, 1, 0), off);

        ExactlyOnceCheck within = check(withFirstAdvantageMovedBy(ExactlyOnceCheck.TOLERANCE / 2));
        assertTrue(within.passed(), within.toString());
    }

    @Test
    void aTrajectoryWithoutOutcomeInABatchIsUnexpected() {
        SentTrajectory withheld = CorrectOutput.ledger().trajectories().values().stream()
                .filter(t -> t.outcome().isEmpty())
                .findFirst()
                .orElseThrow();
        List<ScoredStep> steps = new ArrayList<>();
        for (int i = 0; i < withheld.steps(); i++) {
            steps.add(ScoredStep.newBuilder().setStepIndex(i).setTrainable(true).setAdvantage(0).setTargetReturn(0)
                    .build());
        }
        TrainingBatch batch = correct.batches().get(0);
        List<ScoredTrajectory> trajectories = new ArrayList<>(batch.getTrajectories());
        trajectories.add(ScoredTrajectory.newBuilder(trajectories.get(0))
                .setTrajectoryId(withheld.trajectoryId())
                .setSteps(steps)
                .build());
        ExactlyOnceCheck check =
                check(CorrectOutput.replacing(correct.batches(), 0, withTrajectories(batch, trajectories)));
        assertFalse(check.passed());
        assertEquals(new ExactlyOnceCheck(check.expectedSteps(), 0, 0, 0, withheld.steps()), check);
    }

    /**
     * What the oracle models is accepted: the backend, the quarantine's and reliability model's settings (it reads the
     * suspects from the batches), and its assumed defaults given explicitly.
     */
    @Test
    void settingsTheOracleModelsAreAccepted() {
        ExactlyOnceCheck.requireModelled(Configuration.fromMap(Map.of(
                "credit.backend", "java",
                "quarantine.max-good-share-on-success", "0.2",
                "reliability.window-steps", "500",
                "job.suspect-policy", "FLAG",
                "job.outcome-timeout", "5 min",
                "job.partial-groups", "SCORE",
                "debug.inject-failure-after", "100")));
    }

    @Test
    void settingsTheOracleDoesNotModelAreRefusedWithTheirFix() {
        IllegalArgumentException credit = assertThrows(IllegalArgumentException.class, () ->
                ExactlyOnceCheck.requireModelled(Configuration.fromMap(Map.of("credit.singleton-group", "raw"))));
        assertTrue(credit.getMessage().startsWith("-D credit.singleton-group=raw: the drill scores with grpo"),
                credit.getMessage());
        IllegalArgumentException unset = assertThrows(IllegalArgumentException.class, () ->
                ExactlyOnceCheck.requireModelled(Configuration.fromMap(Map.of("job.inactivity-timeout", "5 min"))));
        assertTrue(unset.getMessage().startsWith("-D job.inactivity-timeout=5 min: the oracle expects every trajectory"
                + " whose outcome the fleet sent in a batch"), unset.getMessage());
        assertTrue(unset.getMessage().endsWith("; leave job.inactivity-timeout out"), unset.getMessage());
    }

    private ExactlyOnceCheck check(List<TrainingBatch> batches) {
        return ExactlyOnceCheck.of(
                CorrectOutput.ledger(), new CreditOutput(batches, correct.deadLetters(), correct.unscored()));
    }

    /** The batches with the first step of the first trajectory given {@code delta} more advantage. */
    private List<TrainingBatch> withFirstAdvantageMovedBy(double delta) {
        TrainingBatch batch = correct.batches().get(0);
        List<ScoredTrajectory> trajectories = new ArrayList<>(batch.getTrajectories());
        ScoredTrajectory first = trajectories.get(0);
        List<ScoredStep> steps = new ArrayList<>(first.getSteps());
        ScoredStep step = steps.get(0);
        steps.set(0, ScoredStep.newBuilder(step).setAdvantage(step.getAdvantage() + delta).build());
        trajectories.set(0, ScoredTrajectory.newBuilder(first).setSteps(steps).build());
        return CorrectOutput.replacing(correct.batches(), 0, withTrajectories(batch, trajectories));
    }

    private static TrainingBatch withTrajectories(TrainingBatch batch, List<ScoredTrajectory> trajectories) {
        return TrainingBatch.newBuilder(batch).setTrajectories(trajectories).build();
    }
}
