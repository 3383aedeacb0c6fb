package io.strawless.ops.evaluate;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.strawless.ops.demo.CreditOutput;
import io.strawless.ops.fleet.FleetLedger;
import io.strawless.ops.fleet.FleetLedger.GroundTruth;
import io.strawless.ops.fleet.FleetLedger.SentTrajectory;
import io.strawless.ops.fleet.FleetLedger.SentVerdict;
import io.strawless.pipeline.assembly.AssembledTrajectory;
import io.strawless.pipeline.batching.ScoreAndBatch;
import io.strawless.pipeline.credit.Estimator;
import io.strawless.pipeline.grouping.TrajectoryGroup;
import io.strawless.schemas.ScoredStep;
import io.strawless.schemas.ScoredTrajectory;
import io.strawless.schemas.TrainingBatch;
import io.strawless.schemas.UnscoredReason;
import io.strawless.schemas.UnscoredTrajectory;
import java.time.Duration;
import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
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
        return scored(id, "task", suspect, advantages);
    }

    private static ScoredTrajectory scored(String id, String task, boolean suspect, double... advantages) {
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
                .setTaskId(task)
                .setOutcomeReward(1)
                .setSuccess(true)
                .setSteps(steps)
                .setSuspect(suspect)
                .setWeight(suspect ? 0 : 1)
                .build();
    }

    private static TrainingBatch batch(
            long createdAt, Map<String, Double> reliability, ScoredTrajectory... trajectories) {
        return batch("b" + createdAt, createdAt, reliability, trajectories);
    }

    private static TrainingBatch batch(
            String id, long createdAt, Map<String, Double> reliability, ScoredTrajectory... trajectories) {
        return TrainingBatch.newBuilder()
                .setBatchId(id)
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

        Evaluation run = Evaluation.of(Estimator.PROCESS, ledger(), output, 1, Duration.ofSeconds(3));

        // Good steps: a/0 (0.9). Bad: a/1 (0.5); the suspect's weigh 0, so a trainer learns nothing from them.
        assertEquals(1.0, run.stepAuc());
        assertEquals(2, run.scoredTrajectories());
        assertEquals(2, run.scoredSteps());

        // The checker called its one good step (a/0) good and two of its three bad steps bad: sensitivity 1,
        // specificity 2/3. The stamp judged bad steps only, so its balanced accuracy is undefined.
        Evaluation.VerifierEstimate checker = run.verifiers().get("checker");
        assertEquals((1 + 2.0 / 3) / 2, checker.truth(), 1e-12);
        assertEquals(0.7, checker.learnt(), "the bucket's newest batch's estimate counts");
        assertEquals(List.of(0.7), checker.learntByBucket());
        assertEquals(1, run.buckets());
        assertEquals("f", run.configFingerprint());
        assertTrue(Double.isNaN(run.verifiers().get("stamp").truth()), "the stamp judged no good step");

        Evaluation.QuarantineScore quarantine = run.quarantine();
        assertEquals(1, quarantine.caught());
        assertEquals(0, quarantine.falseAlarms());
        assertEquals(1, quarantine.hacks(), "a hack whose outcome never came could not be judged");
        assertEquals(1, quarantine.unjudgedHacks());
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

        Evaluation underFlag = Evaluation.of(Estimator.GRPO, ledger(), flagged, 1, Duration.ZERO);
        assertEquals(1.0, underFlag.stepAuc());
        assertEquals(
                Evaluation.of(Estimator.GRPO, ledger(), unscored, 1, Duration.ZERO).stepAuc(), underFlag.stepAuc());
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
                Evaluation.of(Estimator.GRPO, ledger(), output, 1, Duration.ZERO).quarantine();
        assertEquals(1, quarantine.caught());
        assertEquals(1, quarantine.falseAlarms());
        assertEquals(0.5, quarantine.precision());
        assertTrue(
                Double.isNaN(
                        Evaluation.of(Estimator.GRPO, ledger(), output, 1, Duration.ZERO).reliabilityMaxError()),
                "no batch named the verifiers");
    }

    /**
     * Each batching bucket learns its own model from its own tasks, and the buckets flush at about the same time at the
     * end: the batch made last holds whichever model happened to come last. Every bucket's final model is graded, and
     * the one furthest from the truth counts, whichever bucket flushed last.
     */
    @Test
    void everyBucketsFinalModelIsGradedWhicheverFlushedLast() {
        String first = taskOfBucket(0, 2);
        String second = taskOfBucket(1, 2);
        for (long secondFlushedAt : new long[] {2, 4}) {
            CreditOutput output = new CreditOutput(
                    List.of(
                            batch("early", 1, Map.of("checker", 0.1), scored("a", first, false, 0.9, 0.5)),
                            batch("last of the first", 3, Map.of("checker", 0.6), scored("hack", first, false, 0.5, 1)),
                            batch("last of the second", secondFlushedAt, Map.of("checker", 0.82),
                                    scored("lost", second, false, 0.1, 0.2))),
                    List.of(),
                    List.of());

            Evaluation run = Evaluation.of(Estimator.PROCESS, ledger(), output, 2, Duration.ZERO);

            Evaluation.VerifierEstimate checker = run.verifiers().get("checker");
            assertEquals(2, run.buckets());
            assertEquals(List.of(0.6, 0.82), checker.learntByBucket(), "each bucket's last batch, in bucket order");
            assertEquals(0.6, checker.learnt(), "the bucket furthest from the truth");
            assertEquals((1 + 2.0 / 3) / 2 - 0.6, checker.error(), 1e-12);
        }
    }

    @Test
    void aVerifierABucketNeverLearntHasNoError() {
        assertTrue(Double.isNaN(new Evaluation.VerifierEstimate(0.8, List.of(0.75, Double.NaN)).error()));
        assertTrue(Double.isNaN(new Evaluation.VerifierEstimate(0.8, List.of(0.75, Double.NaN)).learnt()));
        assertTrue(Double.isNaN(new Evaluation.VerifierEstimate(0.8, List.of()).error()), "no bucket made a batch");
        assertEquals(0.05, new Evaluation.VerifierEstimate(0.8, List.of(0.75, 0.77)).error(), 1e-12);
    }

    /** The evaluation finds a batch's bucket from its tasks: it must find the one the job's rule put them in. */
    @Test
    void batchesAreBucketedAsTheJobBucketsTheirGroups() {
        int maxParallelism = 128;
        for (int parallelism = 1; parallelism <= 8; parallelism++) {
            int[] bucketKeys = ScoreAndBatch.bucketKeys(parallelism, maxParallelism);
            for (int task = 0; task < 40; task++) {
                String taskId = String.format(Locale.ROOT, "task-%03d", task);
                TrainingBatch batch = batch(1, Map.of(), scored("a", taskId, false, 0.9, 0.5));
                assertEquals(ScoreAndBatch.bucketOf(group(taskId), bucketKeys),
                        bucketKeys[Evaluation.bucketOf(batch, parallelism)], taskId + " at parallelism " + parallelism);
            }
        }
        TrainingBatch mixed = batch(1, Map.of(),
                scored("a", taskOfBucket(0, 2), false, 0.9, 0.5), scored("hack", taskOfBucket(1, 2), false, 0.5, 1));
        assertThrows(IllegalStateException.class, () -> Evaluation.bucketOf(mixed, 2),
                "one batch is one bucket's: the job's bucketing changed under the evaluation");
    }

    /**
     * The quarantine compares a trajectory's outcome with its verdicts: a hack with no verdict (not put before the
     * verifiers, as under --verdict-share) is beyond it, and counts against verifier coverage, not against its recall.
     */
    @Test
    void hacksNoVerifierJudgedAreNotCountedAgainstTheRecall() {
        Map<String, SentTrajectory> trajectories = new LinkedHashMap<>(ledger().trajectories());
        trajectories.put("unjudged", sent("unjudged", OptionalDouble.of(1), List.of(false, false), true, List.of()));
        CreditOutput output = new CreditOutput(
                List.of(batch(1, Map.of(), scored("hack", true, 0.5, -1.0), scored("unjudged", false, 0.5, 0.5))),
                List.of(),
                List.of());

        Evaluation.QuarantineScore quarantine =
                Evaluation.of(Estimator.PROCESS, new FleetLedger(trajectories, List.of()), output, 1, Duration.ZERO)
                        .quarantine();

        assertEquals(1, quarantine.caught());
        assertEquals(1, quarantine.hacks(), "the one hack the quarantine could see");
        assertEquals(2, quarantine.unjudgedHacks(), "one without an outcome, one without a verdict");
        assertEquals(1.0, quarantine.recall());
        assertEquals(0, quarantine.falseAlarms());
    }

    @Test
    void aRunCarriesTheFingerprintOfItsBatches() {
        CreditOutput none = new CreditOutput(List.of(), List.of(), List.of());
        assertNull(Evaluation.of(Estimator.GRPO, ledger(), none, 1, Duration.ZERO).configFingerprint());

        TrainingBatch other = TrainingBatch.newBuilder(batch(2, Map.of(), scored("hack", false, 0.5, 1)))
                .setConfigFingerprint("g")
                .build();
        CreditOutput mixed = new CreditOutput(
                List.of(batch(1, Map.of(), scored("a", false, 0.9, 0.5)), other), List.of(), List.of());
        assertThrows(IllegalStateException.class,
                () -> Evaluation.of(Estimator.GRPO, ledger(), mixed, 1, Duration.ZERO),
                "one run's figures are of one rule");
    }

    /** A task the job's bucketing puts in bucket {@code index} of {@code parallelism}. */
    private static String taskOfBucket(int index, int parallelism) {
        int[] bucketKeys = ScoreAndBatch.bucketKeys(parallelism, 128);
        for (int task = 0; ; task++) {
            String taskId = "task-" + task;
            if (ScoreAndBatch.bucketOf(group(taskId), bucketKeys) == bucketKeys[index]) {
                return taskId;
            }
        }
    }

    private static TrajectoryGroup group(String taskId) {
        return new TrajectoryGroup(
                List.of(new AssembledTrajectory("t", "agent", taskId, null, 0, List.of(), null, List.of(), List.of())),
                0);
    }
}
