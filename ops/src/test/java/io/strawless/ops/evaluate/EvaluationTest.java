package io.strawless.ops.evaluate;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.strawless.ops.demo.CreditOutput;
import io.strawless.ops.fleet.FleetLedger;
import io.strawless.ops.fleet.FleetLedger.GroundTruth;
import io.strawless.ops.fleet.FleetLedger.SentTrajectory;
import io.strawless.ops.fleet.FleetLedger.SentVerdict;
import io.strawless.pipeline.credit.Estimator;
import io.strawless.schemas.ScoredStep;
import io.strawless.schemas.ScoredTrajectory;
import io.strawless.schemas.TrainingBatch;
import io.strawless.schemas.UnscoredReason;
import io.strawless.schemas.UnscoredTrajectory;
import java.time.Duration;
import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.OptionalDouble;
import org.junit.jupiter.api.Test;

/** Grading a run: what the job published against the ledger's truth, on a fleet small enough to work out by hand. */
class EvaluationTest {

    /** Three trajectories of two policy steps; "hack" succeeded with both steps bad; "lost" never sent its outcome. */
    private static FleetLedger ledger() {
        Map<String, SentTrajectory> trajectories = new LinkedHashMap<>();
        trajectories.put(
                "a",
                sent(
                        "a",
                        OptionalDouble.of(1),
                        List.of(true, false),
                        false,
                        List.of(
                                new SentVerdict(0, "checker", true),
                                new SentVerdict(1, "checker", false),
                                new SentVerdict(1, "stamp", true))));
        trajectories.put(
                "hack",
                sent(
                        "hack",
                        OptionalDouble.of(1),
                        List.of(false, false),
                        true,
                        List.of(
                                new SentVerdict(0, "checker", false),
                                new SentVerdict(1, "checker", true),
                                new SentVerdict(0, "stamp", true))));
        trajectories.put("lost", sent("lost", OptionalDouble.empty(), List.of(false, true), true, List.of()));
        return new FleetLedger(trajectories, List.of());
    }

    private static SentTrajectory sent(
            String id, OptionalDouble outcome, List<Boolean> good, boolean hack, List<SentVerdict> verdicts) {
        return new SentTrajectory(
                id, "agent", "task", null, 0, List.of(true, true), outcome, verdicts, new GroundTruth(good, hack));
    }

    private static ScoredTrajectory scored(String id, boolean suspect, double... advantages) {
        List<ScoredStep> steps = new java.util.ArrayList<>();
        for (int i = 0; i < advantages.length; i++) {
            steps.add(ScoredStep.newBuilder()
                    .setStepIndex(i)
                    .setTrainable(true)
                    .setAdvantage(advantages[i])
                    .setTargetReturn(advantages[i])
                    .build());
        }
        return ScoredTrajectory.newBuilder()
                .setTrajectoryId(id)
                .setAgentId("agent")
                .setTaskId("task")
                .setOutcomeReward(1)
                .setSuccess(true)
                .setSteps(steps)
                .setSuspect(suspect)
                .setWeight(suspect ? 0 : 1)
                .build();
    }

    private static TrainingBatch batch(
            long createdAt, Map<String, Double> reliability, ScoredTrajectory... trajectories) {
        return TrainingBatch.newBuilder()
                .setBatchId("b" + createdAt)
                .setCreatedAt(Instant.ofEpochMilli(createdAt))
                .setEstimator("process")
                .setConfigFingerprint("f")
                .setTrajectories(List.of(trajectories))
                .setVerifierReliability(reliability)
                .build();
    }

    @Test
    void gradesCreditReliabilityAndQuarantineAgainstTheTruth() {
        CreditOutput output = new CreditOutput(
                List.of(
                        batch(2, Map.of("checker", 0.7, "stamp", 0.52), scored("hack", true, 0.5, -1.0)),
                        batch(1, Map.of("checker", 0.1), scored("a", false, 0.9, 0.5))),
                List.of(),
                List.of());

        Evaluation run = Evaluation.of(Estimator.PROCESS, ledger(), output, Duration.ofSeconds(3));

        // Good steps: a/0 (0.9). Bad: a/1 (0.5); the suspect's weigh 0, so a trainer learns nothing from them.
        assertEquals(1.0, run.stepAuc());
        assertEquals(2, run.scoredTrajectories());
        assertEquals(2, run.scoredSteps());

        // The checker called its one good step (a/0) good and two of its three bad steps bad: sensitivity 1,
        // specificity 2/3. The stamp judged bad steps only, so its balanced accuracy is undefined.
        Evaluation.VerifierEstimate checker = run.verifiers().get("checker");
        assertEquals((1 + 2.0 / 3) / 2, checker.truth(), 1e-12);
        assertEquals(0.7, checker.learnt(), "the newest batch's estimate counts");
        assertTrue(Double.isNaN(run.verifiers().get("stamp").truth()), "the stamp judged no good step");

        Evaluation.QuarantineScore quarantine = run.quarantine();
        assertEquals(1, quarantine.caught());
        assertEquals(0, quarantine.falseAlarms());
        assertEquals(1, quarantine.hacks(), "a hack whose outcome never came could not be judged");
        assertEquals(1.0, quarantine.precision());
        assertEquals(1.0, quarantine.recall());
    }

    /**
     * A suspect's credit teaches nothing (it weighs 0), so it does not count: a hack's bad steps with high credit
     * dragged every estimator's AUC down under job.suspect-policy=FLAG, and not under UNSCORED, though a trainer gets
     * the same signal either way.
     */
    @Test
    void stepsThatWeighNothingAreNotRanked() {
        CreditOutput flagged = new CreditOutput(
                List.of(batch(1, Map.of(), scored("a", false, 0.9, 0.5), scored("hack", true, 2.0, 2.0))),
                List.of(),
                List.of());
        CreditOutput unscored = new CreditOutput(
                List.of(batch(1, Map.of(), scored("a", false, 0.9, 0.5))),
                List.of(),
                List.of(UnscoredTrajectory.newBuilder()
                        .setTrajectoryId("hack")
                        .setReason(UnscoredReason.SUSPECT)
                        .setRoutedAt(Instant.EPOCH)
                        .build()));

        Evaluation underFlag = Evaluation.of(Estimator.GRPO, ledger(), flagged, Duration.ZERO);
        assertEquals(1.0, underFlag.stepAuc());
        assertEquals(Evaluation.of(Estimator.GRPO, ledger(), unscored, Duration.ZERO).stepAuc(), underFlag.stepAuc());
        assertEquals(2, underFlag.scoredSteps());
    }

    @Test
    void suspectsSentToTheUnscoredTopicCountAndSoDoFalseAlarms() {
        UnscoredTrajectory quarantined = UnscoredTrajectory.newBuilder()
                .setTrajectoryId("hack")
                .setReason(UnscoredReason.SUSPECT)
                .setRoutedAt(Instant.EPOCH)
                .build();
        CreditOutput output = new CreditOutput(
                List.of(batch(1, Map.of(), scored("a", true, 0.9, 0.5))), List.of(), List.of(quarantined));

        Evaluation.QuarantineScore quarantine =
                Evaluation.of(Estimator.GRPO, ledger(), output, Duration.ZERO).quarantine();
        assertEquals(1, quarantine.caught());
        assertEquals(1, quarantine.falseAlarms());
        assertEquals(0.5, quarantine.precision());
        assertTrue(
                Double.isNaN(
                        Evaluation.of(Estimator.GRPO, ledger(), output, Duration.ZERO).reliabilityMaxError()),
                "no batch named the verifiers");
    }
}
