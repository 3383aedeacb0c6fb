package io.strawless.ops.demo;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.strawless.connectors.KafkaOptions;
import io.strawless.ops.fleet.FleetLedger;
import io.strawless.ops.fleet.FleetLedger.SentTrajectory;
import io.strawless.ops.fleet.FleetSettings;
import io.strawless.ops.fleet.InputTopic;
import io.strawless.pipeline.JobOptions;
import io.strawless.schemas.DeadLetter;
import io.strawless.schemas.ScoredStep;
import io.strawless.schemas.ScoredTrajectory;
import io.strawless.schemas.UnscoredReason;
import io.strawless.schemas.UnscoredTrajectory;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.Base64;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.Function;
import java.util.stream.Collectors;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.configuration.CoreOptions;
import org.junit.jupiter.api.Test;

/**
 * The demo's scenario as a test: a small fleet (about 2,500 steps, some malformed records, some outcomes
 * withheld) against the real job on a local MiniCluster, checked against the fleet's ledger. Subclasses say
 * which Kafka to run against.
 */
abstract class EndToEndScenario {

    static final FleetSettings FLEET = new FleetSettings(20, 8, 320, 4, 3, 12, 0.02, 0.05, 0.2, 7);
    /** Advantages may come from float kernels (OpenCL); baselines and outcomes are small numbers. */
    private static final double TOLERANCE = 1e-5;

    /** Bootstrap servers of the Kafka cluster to run against; each run gets fresh topics. */
    abstract String bootstrapServers();

    @Test
    void everyInputEndsInExactlyOnePlaceWithTheExpectedCredit() throws Exception {
        Configuration conf = new Configuration();
        conf.set(KafkaOptions.BOOTSTRAP_SERVERS, bootstrapServers());
        // One partition per topic: the batches of a task then reach credit.batches in the order the job
        // scored them, which the baseline check relies on.
        conf.set(KafkaOptions.TOPIC_PARTITIONS, 1);
        conf.set(CoreOptions.DEFAULT_PARALLELISM, 2);

        DemoRun.Result result = DemoRun.run(conf, FLEET, line -> {});
        FleetLedger ledger = result.script().ledger();
        CreditOutput output = result.output();

        completedTrajectoriesAreScoredOnceWithTheirCredit(ledger, output, conf.get(JobOptions.BASELINE_DECAY));
        malformedRecordsAreDeadLetteredByteForByte(ledger, output, conf);
        withheldOutcomesTimeOut(ledger, output);
        countsReconcile(ledger, result, conf);
        metricBooksBalance(result, conf);
    }

    private static void completedTrajectoriesAreScoredOnceWithTheirCredit(
            FleetLedger ledger, CreditOutput output, double decay) {
        List<ScoredTrajectory> scored = output.scoredTrajectories().toList();
        Set<String> completed = ledger.trajectories().values().stream()
                .filter(t -> t.outcome().isPresent())
                .map(SentTrajectory::trajectoryId)
                .collect(Collectors.toSet());
        Map<String, Long> timesScored = scored.stream()
                .collect(Collectors.groupingBy(ScoredTrajectory::getTrajectoryId, Collectors.counting()));
        assertEquals(completed, timesScored.keySet(), "scored trajectories are exactly those whose outcome was sent");
        timesScored.forEach((id, times) -> assertEquals(1L, times, id + " is in exactly one batch"));

        // The per-task baseline, replayed in output order: a running mean that turns into an exponential moving
        // average, 0 before the task's first outcome.
        Map<String, double[]> baselines = new HashMap<>(); // task -> {mean, count}
        for (ScoredTrajectory trajectory : scored) {
            String id = trajectory.getTrajectoryId();
            SentTrajectory sent = ledger.trajectories().get(id);
            double outcome = sent.outcome().orElseThrow();
            double[] baseline = baselines.computeIfAbsent(sent.taskId(), task -> new double[] {0, 0});
            assertEquals(outcome, trajectory.getOutcomeReward(), id);
            assertEquals(sent.taskId(), trajectory.getTaskId(), id);
            assertEquals(sent.agentId(), trajectory.getAgentId(), id);
            assertEquals(sent.groupId(), trajectory.getGroupId(), id);
            assertNotNull(trajectory.getBaseline(), id + " records its baseline");
            assertEquals(baseline[0], trajectory.getBaseline(), TOLERANCE, id + " baseline");

            List<ScoredStep> steps = trajectory.getSteps();
            assertEquals(sent.steps(), steps.size(), id + " has all its steps");
            for (int i = 0; i < steps.size(); i++) {
                ScoredStep step = steps.get(i);
                boolean trainable = sent.trainable().get(i);
                assertEquals(i, step.getStepIndex(), id);
                assertEquals(trainable, step.getTrainable(), id + " step " + i);
                double expected = trainable ? outcome - baseline[0] : 0.0;
                assertEquals(expected, step.getAdvantage(), TOLERANCE, id + " step " + i + " advantage");
                if (trainable) {
                    assertEquals(outcome, step.getTargetReturn(), TOLERANCE, id + " step " + i + " target return");
                }
            }
            baseline[1] += 1;
            baseline[0] += (outcome - baseline[0]) * Math.max(1 / baseline[1], 1 - decay);
        }
    }

    private static void malformedRecordsAreDeadLetteredByteForByte(
            FleetLedger ledger, CreditOutput output, Configuration conf) {
        List<String> sent = new ArrayList<>();
        for (FleetLedger.MalformedRecord bad : ledger.malformed()) {
            sent.add(fingerprint(bad.topic().name(conf), ByteBuffer.wrap(bad.key()), ByteBuffer.wrap(bad.value())));
        }
        List<String> deadLettered = new ArrayList<>();
        for (DeadLetter deadLetter : output.deadLetters()) {
            deadLettered.add(
                    fingerprint(deadLetter.getTopic(), deadLetter.getOriginalKey(), deadLetter.getOriginalValue()));
        }
        sent.sort(null);
        deadLettered.sort(null);
        assertEquals(sent, deadLettered, "dead letters are exactly the malformed records, bytes preserved");
    }

    /**
     * Trajectories whose outcome never came are unscored with all their steps. The job may also route
     * verifier signals there (reason LATE) when they reach it after their trajectory was scored: it reads the
     * three input topics at different speeds. Those carry neither steps nor outcomes.
     */
    private static void withheldOutcomesTimeOut(FleetLedger ledger, CreditOutput output) {
        Map<String, SentTrajectory> withheld = ledger.trajectories().values().stream()
                .filter(t -> t.outcome().isEmpty())
                .collect(Collectors.toMap(SentTrajectory::trajectoryId, Function.identity()));
        assertTrue(!withheld.isEmpty(), "the fleet withheld some outcomes");
        Map<Boolean, List<UnscoredTrajectory>> byHasSteps = output.unscored().stream()
                .collect(Collectors.partitioningBy(u -> !u.getSteps().isEmpty()));

        Map<String, UnscoredTrajectory> timedOut = byHasSteps.get(true).stream()
                .collect(Collectors.toMap(UnscoredTrajectory::getTrajectoryId, Function.identity()));
        assertEquals(byHasSteps.get(true).size(), timedOut.size(), "no trajectory is unscored twice");
        assertEquals(withheld.keySet(), timedOut.keySet(), "unscored trajectories are exactly those without outcome");
        timedOut.forEach((id, trajectory) -> {
            assertEquals(UnscoredReason.OUTCOME_TIMEOUT, trajectory.getReason(), id);
            assertEquals(withheld.get(id).steps(), trajectory.getSteps().size(), id + " keeps its steps");
        });

        for (UnscoredTrajectory straggler : byHasSteps.get(false)) {
            String id = straggler.getTrajectoryId();
            assertEquals(UnscoredReason.LATE, straggler.getReason(), id);
            assertTrue(
                    straggler.getOutcomes().isEmpty()
                            && !straggler.getVerdicts().isEmpty(),
                    id + " carries verdicts only");
            assertTrue(ledger.trajectories().get(id).outcome().isPresent(), id + " was scored before its verdict came");
        }
    }

    private static void countsReconcile(FleetLedger ledger, DemoRun.Result result, Configuration conf) {
        assertEquals(
                ledger.validSteps() + ledger.malformed(InputTopic.STEPS),
                result.recordsIn().get(InputTopic.STEPS.name(conf)),
                "every step the fleet sent is on the broker");
        assertEquals(
                ledger.outcomesSent() + ledger.malformed(InputTopic.OUTCOMES),
                result.recordsIn().get(InputTopic.OUTCOMES.name(conf)));
        assertTrue(result.reconciliation().holds(), result.reconciliation().toString());
    }

    /**
     * The job's own books (its ledger metrics) balance for each input kind, and agree with the broker on
     * what came in and with the committed topics on where it went.
     */
    private static void metricBooksBalance(DemoRun.Result result, Configuration conf) {
        assertEquals(0, result.restarts(), "a clean run does not restart");
        Map<String, JobMetrics.Book> books =
                result.metricBooks().stream().collect(Collectors.toMap(JobMetrics.Book::input, Function.identity()));
        assertEquals(Set.of("steps", "outcomes", "verdicts"), books.keySet());
        books.values().forEach(book -> assertTrue(book.holds(), book.toString()));

        JobMetrics.Book steps = books.get("steps");
        assertEquals(result.recordsIn().get(InputTopic.STEPS.name(conf)), steps.in());
        assertEquals(result.reconciliation().steps().scored(), steps.batched());
        assertEquals(result.reconciliation().steps().deadLettered(), steps.deadLettered());
        assertEquals(result.reconciliation().steps().unscored(), steps.unscored());
        JobMetrics.Book outcomes = books.get("outcomes");
        assertEquals(result.recordsIn().get(InputTopic.OUTCOMES.name(conf)), outcomes.in());
        assertEquals(result.reconciliation().outcomes().scored(), outcomes.batched());
        assertEquals(
                result.recordsIn().get(InputTopic.VERDICTS.name(conf)),
                books.get("verdicts").in());
    }

    private static String fingerprint(String topic, ByteBuffer key, ByteBuffer value) {
        return topic + "|" + base64(key) + "|" + base64(value);
    }

    private static String base64(ByteBuffer buffer) {
        if (buffer == null) {
            return "null";
        }
        byte[] bytes = new byte[buffer.remaining()];
        buffer.duplicate().get(bytes);
        return Base64.getEncoder().encodeToString(bytes);
    }
}
