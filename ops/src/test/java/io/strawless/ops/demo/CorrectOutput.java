package io.strawless.ops.demo;

import io.strawless.ops.fleet.FleetLedger;
import io.strawless.ops.fleet.FleetLedger.MalformedRecord;
import io.strawless.ops.fleet.FleetLedger.SentTrajectory;
import io.strawless.ops.fleet.FleetRecord;
import io.strawless.ops.fleet.FleetScript;
import io.strawless.ops.fleet.FleetSettings;
import io.strawless.ops.fleet.InputTopic;
import io.strawless.pipeline.Ledger;
import io.strawless.schemas.DeadLetter;
import io.strawless.schemas.ScoredStep;
import io.strawless.schemas.ScoredTrajectory;
import io.strawless.schemas.StepEvent;
import io.strawless.schemas.TrainingBatch;
import io.strawless.schemas.UnscoredReason;
import io.strawless.schemas.UnscoredTrajectory;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collections;
import java.util.IdentityHashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import org.apache.flink.configuration.Configuration;

/**
 * What a correct job publishes for a small generated fleet, built from the fleet's ledger without a job: each
 * trajectory with an outcome scored with the oracle's advantages (one batch per group), each without one unscored
 * with its steps, each malformed record dead-lettered; and the books a correct job keeps of it. The checks' clean
 * case, which a test then spoils in one place.
 */
final class CorrectOutput {

    /** Small, with malformed records, withheld outcomes and groups of four. */
    static final FleetSettings FLEET = new FleetSettings(12, 5, 80, 4, 3, 6, 0.05, 0.1, 0.2, 3);
    static final Configuration CONF = new Configuration();

    static final FleetScript SCRIPT = FleetScript.generate(FLEET, Instant.parse("2026-11-26T18:00:00Z"));

    private CorrectOutput() {}

    static FleetLedger ledger() {
        return SCRIPT.ledger();
    }

    static CreditOutput output() {
        FleetLedger ledger = ledger();
        Map<String, double[]> advantages = ExactlyOnceCheck.expectedAdvantages(ledger, Set.of());
        Map<String, List<ScoredTrajectory>> groups = new LinkedHashMap<>();
        Map<String, List<StepEvent>> stepsSent = stepsSent();
        List<UnscoredTrajectory> unscored = new ArrayList<>();
        for (SentTrajectory sent : ledger.trajectories().values()) {
            if (sent.outcome().isPresent()) {
                groups.computeIfAbsent(sent.groupId(), group -> new ArrayList<>())
                        .add(scored(sent, advantages.get(sent.trajectoryId())));
            } else {
                unscored.add(UnscoredTrajectory.newBuilder()
                        .setTrajectoryId(sent.trajectoryId())
                        .setReason(UnscoredReason.OUTCOME_TIMEOUT)
                        .setRoutedAt(Instant.EPOCH)
                        .setSteps(stepsSent.get(sent.trajectoryId()))
                        .build());
            }
        }
        List<TrainingBatch> batches = new ArrayList<>();
        groups.forEach((group, trajectories) -> batches.add(batch(group, trajectories)));
        List<DeadLetter> deadLetters = new ArrayList<>();
        for (MalformedRecord bad : ledger.malformed()) {
            deadLetters.add(DeadLetter.newBuilder()
                    .setTopic(bad.topic().name(CONF))
                    .setPartition(0)
                    .setOffset(deadLetters.size())
                    .setErrorClass("BAD_HEADER")
                    .setErrorMessage("malformed")
                    .setFailedAt(Instant.EPOCH)
                    .build());
        }
        return new CreditOutput(batches, deadLetters, unscored);
    }

    /** Records on each input topic, by topic name, as the broker counts them. */
    static Map<String, Long> recordsIn() {
        Map<String, Long> recordsIn = new TreeMap<>();
        for (InputTopic topic : InputTopic.values()) {
            recordsIn.put(topic.name(CONF), SCRIPT.recordsOn(topic));
        }
        return recordsIn;
    }

    /** The books of a job that ran start to end in one attempt on {@link #output()}. */
    static List<JobMetrics.Book> books() {
        FleetLedger ledger = ledger();
        CreditOutput output = output();
        Reconciliation balance = Reconciliation.of(recordsIn(), output, CONF);
        long verdictsUnscored = ledger.trajectories().values().stream()
                .filter(t -> t.outcome().isEmpty())
                .mapToLong(SentTrajectory::verdicts)
                .sum();
        return List.of(
                book(Ledger.Kind.STEPS, balance.steps().in(), balance.steps().scored(),
                        balance.steps().deadLettered(), balance.steps().unscored()),
                book(Ledger.Kind.OUTCOMES, balance.outcomes().in(), balance.outcomes().scored(),
                        balance.outcomes().deadLettered(), balance.outcomes().unscored()),
                book(Ledger.Kind.VERDICTS, SCRIPT.recordsOn(InputTopic.VERDICTS),
                        ledger.verdictsSent() - verdictsUnscored, ledger.malformed(InputTopic.VERDICTS),
                        verdictsUnscored));
    }

    /** A run's result on {@code output} with {@code books}, as {@link DemoRun#run} returns it. */
    static DemoRun.Result result(
            CreditOutput output, DemoRun.Faults faults, long restarts, List<JobMetrics.Book> books) {
        Map<String, Long> recordsIn = recordsIn();
        return new DemoRun.Result(SCRIPT, recordsIn, output, Reconciliation.of(recordsIn, output, CONF),
                Duration.ofSeconds(10), faults, restarts, 0, books);
    }

    static DemoSummary summary(DemoRun.Result result) {
        return DemoSummary.of(result, FLEET, 2, Duration.ofSeconds(20), CONF);
    }

    /** {@code batches} with one of them replaced. */
    static List<TrainingBatch> replacing(List<TrainingBatch> batches, int index, TrainingBatch batch) {
        List<TrainingBatch> replaced = new ArrayList<>(batches);
        replaced.set(index, batch);
        return replaced;
    }

    private static JobMetrics.Book book(Ledger.Kind kind, long in, long batched, long deadLettered, long unscored) {
        return new JobMetrics.Book(Ledger.metricName(kind), in, batched, deadLettered, unscored, 0);
    }

    private static ScoredTrajectory scored(SentTrajectory sent, double[] advantages) {
        List<ScoredStep> steps = new ArrayList<>();
        for (int i = 0; i < sent.steps(); i++) {
            steps.add(ScoredStep.newBuilder()
                    .setStepIndex(i)
                    .setTrainable(sent.trainable().get(i))
                    .setAdvantage(advantages[i])
                    .setTargetReturn(advantages[i])
                    .build());
        }
        return ScoredTrajectory.newBuilder()
                .setTrajectoryId(sent.trajectoryId())
                .setAgentId(sent.agentId())
                .setTaskId(sent.taskId())
                .setGroupId(sent.groupId())
                .setOutcomeReward(sent.outcome().getAsDouble())
                .setSuccess(sent.outcome().getAsDouble() > 0)
                .setSteps(steps)
                .build();
    }

    private static TrainingBatch batch(String group, List<ScoredTrajectory> trajectories) {
        return TrainingBatch.newBuilder()
                .setBatchId("batch-" + group)
                .setCreatedAt(Instant.EPOCH)
                .setEstimator("grpo")
                .setConfigFingerprint("grpo-none-test")
                .setTrajectories(trajectories)
                .build();
    }

    /** The step records the fleet sent, decoded, by trajectory id; the malformed ones left out. */
    private static Map<String, List<StepEvent>> stepsSent() {
        Set<byte[]> malformed = Collections.newSetFromMap(new IdentityHashMap<>());
        ledger().malformed().forEach(bad -> malformed.add(bad.value()));
        Map<String, List<StepEvent>> steps = new LinkedHashMap<>();
        for (FleetRecord record : SCRIPT.records()) {
            if (record.topic() == InputTopic.STEPS && !malformed.contains(record.value())) {
                try {
                    StepEvent step = StepEvent.getDecoder().decode(record.value());
                    steps.computeIfAbsent(step.getTrajectoryId().toString(), id -> new ArrayList<>()).add(step);
                } catch (IOException e) {
                    throw new UncheckedIOException(e);
                }
            }
        }
        return steps;
    }
}
