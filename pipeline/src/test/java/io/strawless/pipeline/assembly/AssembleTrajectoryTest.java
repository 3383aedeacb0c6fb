package io.strawless.pipeline.assembly;

import static io.strawless.pipeline.Events.in;
import static io.strawless.pipeline.Events.outcome;
import static io.strawless.pipeline.Events.overTheNetwork;
import static io.strawless.pipeline.Events.step;
import static io.strawless.pipeline.Events.terminalStep;
import static io.strawless.pipeline.Events.verdict;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.strawless.connectors.serde.EncodedSteps;
import io.strawless.connectors.serde.InputRecord;
import io.strawless.connectors.serde.StepEventCodec;
import io.strawless.pipeline.JobOptions;
import io.strawless.pipeline.RecordedMetrics;
import io.strawless.pipeline.StringKeys;
import io.strawless.schemas.DeadLetter;
import io.strawless.schemas.OffsetRange;
import io.strawless.schemas.StepEvent;
import io.strawless.schemas.TerminalKind;
import io.strawless.schemas.UnscoredReason;
import io.strawless.schemas.UnscoredTrajectory;
import io.strawless.schemas.VerifierSignal;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.apache.flink.api.common.serialization.SerializerConfigImpl;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.streaming.api.operators.KeyedProcessOperator;
import org.apache.flink.streaming.runtime.streamrecord.StreamRecord;
import org.apache.flink.streaming.util.KeyedOneInputStreamOperatorTestHarness;
import org.apache.flink.streaming.util.ProcessFunctionTestHarnesses;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

class AssembleTrajectoryTest {

    private static final long TIMEOUT = 1_000;
    private static final long RETENTION = 5_000;
    private static final long VERIFIER_TIMEOUT = 300;

    private KeyedOneInputStreamOperatorTestHarness<String, InputRecord, AssembledTrajectory> harness;

    @BeforeEach
    void setUp() throws Exception {
        start(shortWaits());
    }

    private static Configuration shortWaits() {
        Configuration conf = new Configuration();
        conf.set(JobOptions.OUTCOME_TIMEOUT, Duration.ofMillis(TIMEOUT));
        conf.set(JobOptions.FINISHED_RETENTION, Duration.ofMillis(RETENTION));
        conf.set(JobOptions.VERIFIER_TIMEOUT, Duration.ofMillis(VERIFIER_TIMEOUT));
        return conf;
    }

    private void start(Configuration conf) throws Exception {
        harness = ProcessFunctionTestHarnesses.forKeyedProcessFunction(
                new AssembleTrajectory(conf), InputRecord::trajectoryId, StringKeys.TYPE);
    }

    @AfterEach
    void tearDown() throws Exception {
        harness.close();
    }

    /** As in the job: over the network, so a step arrives as its bytes (see Events#overTheNetwork). */
    private void send(InputRecord input) throws Exception {
        harness.processElement(new StreamRecord<>(overTheNetwork(input), input.timestamp));
    }

    private List<UnscoredTrajectory> unscored() {
        var side = harness.getSideOutput(AssembleTrajectory.UNSCORED); // null until something was emitted
        return side == null ? List.of() : side.stream().map(StreamRecord::getValue).toList();
    }

    private List<DeadLetter> deadLetters() {
        var side = harness.getSideOutput(DeadLetters.TAG);
        return side == null ? List.of() : side.stream().map(StreamRecord::getValue).toList();
    }

    /** Once the finished-marker's retention has passed, the key must hold no state and no timer. */
    private void assertNothingLeft() throws Exception {
        assertTrue(harness.numKeyedStateEntries() <= 1, "only the finished marker may remain before retention");
        harness.processWatermark(1_000_000);
        assertEquals(0, harness.numKeyedStateEntries(), "keyed state left behind");
        assertEquals(0, harness.numEventTimeTimers(), "timers left behind");
    }

    @Test
    void outOfOrderStepsAndLateOutcomeAssembleInOrderAndClearState() throws Exception {
        send(in(terminalStep("t1", 2, 120)));
        send(in(step("t1", 0, 100).build()));
        send(in(verdict("t1", 1, "v1", 0.9, 125)));
        send(in(step("t1", 1, 110).build()));
        assertTrue(harness.extractOutputValues().isEmpty(), "no outcome yet");

        send(in(outcome("t1", 1.0, 0, 500)));
        assertTrue(harness.extractOutputValues().isEmpty(), "complete, but held until the watermark passes it");

        harness.processWatermark(500);

        List<AssembledTrajectory> out = harness.extractOutputValues();
        assertEquals(1, out.size());
        AssembledTrajectory t = out.get(0);
        assertEquals(List.of(0, 1, 2), t.steps().stream().map(StepEvent::getStepIndex).toList());
        assertEquals(1.0, t.outcome().getReward());
        assertEquals(1, t.verdicts().size());
        assertEquals(3, t.lineage().size(), "one offset range per input topic");
        assertNothingLeft();
    }

    @Test
    void duplicateStepIsDroppedAndHigherRevisionWins() throws Exception {
        send(in(step("t1", 0, 100).setReward(0.25).build()));
        send(in(step("t1", 0, 101).setReward(0.75).build()));
        send(in(outcome("t1", 0.0, 1, 102)));
        send(in(outcome("t1", 1.0, 0, 103))); // an older revision arriving late does not win
        send(in(terminalStep("t1", 1, 104)));
        harness.processWatermark(104);

        AssembledTrajectory t = harness.extractOutputValues().get(0);
        assertEquals(2, t.steps().size());
        assertEquals(0.25, t.steps().get(0).getReward());
        assertEquals(1, t.outcome().getRevision());
        assertNothingLeft();
    }

    @Test
    void twoDifferentOutcomesUnderOneRevisionKeepTheFirstAndDeadLetterTheOther() throws Exception {
        send(in(step("t1", 0, 100).build()));
        send(in(outcome("t1", 1.0, 0, 101)));
        send(in(outcome("t1", 1.0, 0, 101))); // a producer's retry: a copy, dropped
        send(in(outcome("t1", 0.0, 0, 102))); // the same revision, another reward
        send(in(terminalStep("t1", 1, 104)));
        harness.processWatermark(104);

        assertEquals(1.0, harness.extractOutputValues().get(0).outcome().getReward(), "the first stays");
        assertEquals(1, deadLetters().size());
        assertEquals("CONFLICTING_DUPLICATE", deadLetters().get(0).getErrorClass());
        OffsetRange outcomes = harness.extractOutputValues().get(0).lineage().stream()
                .filter(range -> range.getTopic().equals("agent.outcomes")).findFirst().orElseThrow();
        assertEquals(outcomes.getFirstOffset(), outcomes.getLastOffset(), "the copy is not in the lineage: " + outcomes);
        assertNothingLeft();
    }

    @Test
    void verdictsBeyondTheLimitAreDeadLetteredAndDoNotHoldTheTrajectoryOpen() throws Exception {
        harness.close();
        Configuration conf = shortWaits();
        conf.set(JobOptions.MAX_VERDICTS_PER_TRAJECTORY, 2);
        start(conf);

        send(in(step("t1", 0, 100).build()));
        send(in(verdict("t1", 0, "v1", 0.5, 200)));
        send(in(verdict("t1", 0, "v1", 0.6, 300)));
        send(in(verdict("t1", 0, "v1", 0.7, 400))); // a verifier scoring the step again and again

        assertEquals(List.of("TOO_MANY_VERDICTS"), deadLetters().stream().map(DeadLetter::getErrorClass).toList());
        harness.processWatermark(300 + TIMEOUT);
        assertEquals(1, unscored().size(), "timed out after the last verdict kept, not the one dead-lettered");
        assertEquals(2, unscored().get(0).getVerdicts().size());
        assertNothingLeft();
    }

    @Test
    void aNegativeVerdictLimitIsRefused() {
        Configuration conf = shortWaits();
        conf.set(JobOptions.MAX_VERDICTS_PER_TRAJECTORY, -1);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> new AssembleTrajectory(conf));
        assertTrue(e.getMessage().contains(JobOptions.MAX_VERDICTS_PER_TRAJECTORY.key()), e.getMessage());
    }

    /**
     * A straggler let in by job.allowed-lateness after its trajectory's marker was forgotten would open a trajectory
     * of its own, and be unscored under a misleading reason instead of LATE.
     */
    @Test
    void anAllowedLatenessLongerThanTheFinishedRetentionIsRefused() {
        Configuration conf = shortWaits();
        conf.set(JobOptions.ALLOWED_LATENESS, Duration.ofMillis(RETENTION + 1));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> new AssembleTrajectory(conf));
        assertTrue(e.getMessage().contains(JobOptions.ALLOWED_LATENESS.key())
                && e.getMessage().contains(JobOptions.FINISHED_RETENTION.key()), e.getMessage());

        conf.set(JobOptions.ALLOWED_LATENESS, Duration.ofMillis(RETENTION));
        new AssembleTrajectory(conf); // as long as the retention is fine
    }

    /**
     * An outcome revision replaces the outcome but moves no wait: a judge that re-published one every few minutes
     * would otherwise hold a trajectory with a lost step open for as long as it did.
     */
    @Test
    void outcomeRevisionsDoNotHoldAnOpenTrajectoryOpen() throws Exception {
        send(in(step("t1", 0, 100).build())); // its terminal step is lost
        send(in(outcome("t1", 0.0, 0, 200)));
        send(in(outcome("t1", 0.5, 1, 200 + TIMEOUT / 2)));
        harness.processWatermark(200 + TIMEOUT - 1);
        send(in(outcome("t1", 1.0, 2, 200 + TIMEOUT - 1)));
        assertTrue(unscored().isEmpty(), "the wait counts from the first outcome");

        harness.processWatermark(200 + TIMEOUT);

        assertEquals(List.of(UnscoredReason.INCOMPLETE), unscored().stream().map(UnscoredTrajectory::getReason)
                .toList(), "timed out after the first outcome, not after the newest revision");
        assertEquals(2, unscored().get(0).getOutcomes().get(0).getRevision(), "with the newest revision");
        assertNothingLeft();
    }

    @Test
    void missingOutcomeTimesOutAsOutcomeTimeout() throws Exception {
        send(in(step("t1", 0, 100).build()));
        send(in(terminalStep("t1", 1, 200)));
        harness.processWatermark(200 + TIMEOUT - 1);
        assertTrue(unscored().isEmpty(), "the timer must not fire before the timeout");

        harness.processWatermark(200 + TIMEOUT);

        assertEquals(1, unscored().size());
        UnscoredTrajectory u = unscored().get(0);
        assertEquals(UnscoredReason.OUTCOME_TIMEOUT, u.getReason());
        assertEquals("t1", u.getTrajectoryId());
        assertEquals(2, u.getSteps().size());
        assertTrue(harness.extractOutputValues().isEmpty());
        assertNothingLeft();
    }

    @Test
    void gapInStepsTimesOutAsIncomplete() throws Exception {
        send(in(step("t1", 0, 100).build()));
        send(in(terminalStep("t1", 2, 200)));
        send(in(outcome("t1", 1.0, 0, 300)));

        harness.processWatermark(300 + TIMEOUT);

        UnscoredTrajectory u = unscored().get(0);
        assertEquals(UnscoredReason.INCOMPLETE, u.getReason());
        assertEquals(1, u.getOutcomes().size());
        assertNothingLeft();
    }

    /**
     * Outcomes that come hours later (a human review) need a long job.outcome-timeout; job.inactivity-timeout keeps
     * the trajectories of crashed agents, whose steps never complete, from waiting that long too.
     */
    @Test
    void stepsMissingWaitForTheInactivityTimeoutAndAMissingOutcomeForTheOutcomeTimeout() throws Exception {
        harness.close();
        Configuration conf = shortWaits();
        conf.set(JobOptions.OUTCOME_TIMEOUT, Duration.ofMillis(10 * TIMEOUT));
        conf.set(JobOptions.INACTIVITY_TIMEOUT, Duration.ofMillis(TIMEOUT));
        start(conf);

        send(in(step("crashed", 0, 100).build())); // no terminal step: steps incomplete
        send(in(step("reviewed", 0, 100).build()));
        send(in(terminalStep("reviewed", 1, 200))); // steps complete, its outcome comes late
        send(in(step("stalled", 0, 100).build()));
        harness.processWatermark(100 + TIMEOUT);

        assertEquals(List.of("crashed", "stalled"), unscored().stream().map(UnscoredTrajectory::getTrajectoryId)
                .sorted().toList());
        assertEquals("no terminal step within " + TIMEOUT + " ms (1 steps)", unscored().get(0).getDetail());
        send(in(outcome("reviewed", 1.0, 0, 200 + 5 * TIMEOUT)));
        harness.processWatermark(200 + 5 * TIMEOUT); // the outcome, long after the steps, still counts
        assertEquals(List.of("reviewed"), harness.extractOutputValues().stream()
                .map(AssembledTrajectory::trajectoryId).toList());

        send(in(step("unreviewed", 0, 100_000).build()));
        send(in(terminalStep("unreviewed", 1, 100_100)));
        harness.processWatermark(100_100 + 10 * TIMEOUT - 1);
        assertEquals(2, unscored().size(), "still waiting for its outcome");
        harness.processWatermark(100_100 + 10 * TIMEOUT);
        assertEquals(UnscoredReason.OUTCOME_TIMEOUT, unscored().get(2).getReason());
        assertNothingLeft();
    }

    @Test
    void outcomeWithoutStepsTimesOutAsUnknownTrajectory() throws Exception {
        send(in(outcome("ghost", 1.0, 0, 100)));

        harness.processWatermark(100 + TIMEOUT);

        assertEquals(UnscoredReason.UNKNOWN_TRAJECTORY, unscored().get(0).getReason());
        assertNothingLeft();
    }

    @Test
    void eachInputPushesTheDeadlineForward() throws Exception {
        send(in(step("t1", 0, 100).build()));
        send(in(terminalStep("t1", 1, 900)));

        harness.processWatermark(100 + TIMEOUT);
        assertTrue(unscored().isEmpty(), "a newer input restarted the wait");
        assertEquals(1, harness.numEventTimeTimers(), "the early timer fired and moved to the new deadline");

        harness.processWatermark(900 + TIMEOUT);
        assertEquals(1, unscored().size());
        assertNothingLeft();
    }

    @Test
    void outcomeRevisionAfterScoringIsRoutedAsLateRevisionWithBothValues() throws Exception {
        send(in(terminalStep("t1", 0, 100)));
        send(in(outcome("t1", 0.0, 0, 110)));
        harness.processWatermark(110);
        assertEquals(1, harness.extractOutputValues().size());

        send(in(outcome("t1", 1.0, 1, 2_000)));

        UnscoredTrajectory u = unscored().get(0);
        assertEquals(UnscoredReason.LATE_REVISION, u.getReason());
        assertEquals(List.of(0.0, 1.0), u.getOutcomes().stream().map(o -> o.getReward()).toList());
        assertEquals(1, harness.extractOutputValues().size(), "never scored twice");
        assertNothingLeft();
    }

    @Test
    void stragglersOfAFinishedTrajectoryAreLate() throws Exception {
        send(in(step("t1", 0, 100).build()));
        send(in(terminalStep("t1", 1, 100)));
        harness.processWatermark(100 + TIMEOUT); // times out without outcome

        send(in(verdict("t1", 0, "v1", 1.0, 150)));
        send(in(outcome("t1", 1.0, 0, 160)));

        List<UnscoredTrajectory> out = unscored();
        assertEquals(List.of(UnscoredReason.OUTCOME_TIMEOUT, UnscoredReason.LATE, UnscoredReason.LATE),
                out.stream().map(UnscoredTrajectory::getReason).toList());
        assertEquals(1, out.get(2).getOutcomes().size(), "the straggler travels with its reason");
        assertNothingLeft();
    }

    @Test
    void inputBehindTheWatermarkDoesNotOpenATrajectory() throws Exception {
        harness.processWatermark(10_000);

        send(in(step("old", 0, 5_000).build()));

        assertEquals(UnscoredReason.LATE, unscored().get(0).getReason());
        assertEquals(0, harness.numKeyedStateEntries());
        assertEquals(0, harness.numEventTimeTimers());
    }

    /**
     * A trajectory let in by job.allowed-lateness waits its timeouts from the watermark: counted from its own event
     * times, its deadline had passed when it opened, and the next watermark split it into an INCOMPLETE record and
     * LATE fragments while its inputs were still coming.
     */
    @Test
    void aTrajectoryLetInByTheAllowedLatenessWaitsItsTimeoutsFromTheWatermark() throws Exception {
        harness.close();
        Configuration conf = shortWaits();
        conf.set(JobOptions.ALLOWED_LATENESS, Duration.ofMillis(10_000));
        conf.set(JobOptions.FINISHED_RETENTION, Duration.ofMillis(10_000));
        conf.set(JobOptions.INACTIVITY_TIMEOUT, Duration.ofMillis(1_000));
        start(conf);
        harness.processWatermark(100_000);

        send(in(step("replayed", 0, 95_000).build()));
        harness.processWatermark(100_001);
        send(in(terminalStep("replayed", 1, 95_010)));
        harness.processWatermark(100_002);
        send(in(outcome("replayed", 1.0, 0, 95_020)));
        harness.processWatermark(100_003);

        assertEquals(List.of(), unscored().stream().map(UnscoredTrajectory::getReason).toList());
        assertEquals(List.of("replayed"), harness.extractOutputValues().stream()
                .map(AssembledTrajectory::trajectoryId).toList());
        assertEquals(2, harness.extractOutputValues().get(0).steps().size());

        send(in(step("abandoned", 0, 95_000).build()));
        harness.processWatermark(100_004); // its deadline from its own event time (96,000) has passed
        assertEquals(List.of(), unscored(), "still waiting for its next step");
        harness.processWatermark(100_003 + 1_000);
        assertEquals(List.of(UnscoredReason.INCOMPLETE), unscored().stream().map(UnscoredTrajectory::getReason)
                .toList(), "its inactivity timeout, counted from the watermark it opened behind");
        harness.processWatermark(1_000_000); // both markers' retention passes
        assertEquals(0, harness.numKeyedStateEntries(), "keyed state left behind");
        assertEquals(0, harness.numEventTimeTimers(), "timers left behind");
    }

    @Test
    void allowedLatenessOpensTrajectoriesBeforeTheFirstWatermarkAndWithinItsBound() throws Exception {
        harness.close();
        Configuration conf = new Configuration();
        conf.set(JobOptions.ALLOWED_LATENESS, Duration.ofMillis(1_000));
        start(conf);

        send(in(step("first", 0, 100).build())); // no watermark yet
        harness.processWatermark(10_000);
        send(in(step("within", 0, 9_500).build()));
        send(in(step("beyond", 0, 8_500).build()));

        assertEquals(List.of("beyond"), unscored().stream().map(UnscoredTrajectory::getTrajectoryId).toList());
        assertEquals(UnscoredReason.LATE, unscored().get(0).getReason());
    }

    @Test
    void conflictingDuplicateIsDeadLetteredAndTheFirstCopyKept() throws Exception {
        send(in(step("t1", 0, 100).setReward(0.25).build()));
        send(in(step("t1", 0, 100).setReward(0.75).build()));

        DeadLetter dead = deadLetters().get(0);
        assertEquals("CONFLICTING_DUPLICATE", dead.getErrorClass());
        assertEquals(0.75, StepEvent.fromByteBuffer(dead.getOriginalValue()).getReward(), "original bytes kept");
        assertEquals("t1", java.nio.charset.StandardCharsets.UTF_8.decode(dead.getOriginalKey()).toString());

        send(in(terminalStep("t1", 1, 110)));
        send(in(outcome("t1", 1.0, 0, 120)));
        harness.processWatermark(120);
        assertEquals(0.25, harness.extractOutputValues().get(0).steps().get(0).getReward());
        assertNothingLeft();
    }

    @Test
    void aStepIsKeptAndDeadLetteredAsTheBytesItCameAsAndTheSameStepEncodedOtherwiseIsADuplicate() throws Exception {
        StepEvent first = step("t1", 0, 100).build();
        byte[] otherwise = withTwoByteIndex(first);
        assertEquals(first, new StepEventCodec().decode(otherwise));
        // The harness copies what the operator emits with the output's serializer: the job's, which carries the
        // steps' encodings as they are.
        harness.close();
        harness = new KeyedOneInputStreamOperatorTestHarness<>(
                new KeyedProcessOperator<>(new AssembleTrajectory(shortWaits())), InputRecord::trajectoryId,
                StringKeys.TYPE);
        harness.setup(AssembledTrajectorySerializer.TYPE_INFO.createSerializer(new SerializerConfigImpl()));
        harness.open();

        send(InputRecord.ofStep("agent.steps", 0, 1, 100, first, otherwise));
        send(in(first)); // the producer's retry, encoded canonically
        assertTrue(deadLetters().isEmpty(), "the same step, so a duplicate, not a conflict");
        StepEvent conflicting = step("t1", 0, 100).setReward(0.75).build();
        byte[] conflictingBytes = withTwoByteIndex(conflicting);
        send(InputRecord.ofStep("agent.steps", 0, 2, 100, conflicting, conflictingBytes));
        assertArrayEquals(conflictingBytes, deadLetters().get(0).getOriginalValue().array(), "dead-lettered as it came");

        send(in(terminalStep("t1", 1, 110)));
        send(in(outcome("t1", 1.0, 0, 120)));
        harness.processWatermark(120);
        AssembledTrajectory t = harness.extractOutputValues().get(0);
        assertArrayEquals(otherwise, ((EncodedSteps) t.steps()).encoded(0), "kept as it came, not encoded again");
        assertEquals(first, t.steps().get(0));
        assertNothingLeft();
    }

    /**
     * The step's encoding with its index 0 written as a two-byte varint (0x80 0x00) instead of one: Avro reads it
     * as 0, and another producer's encoder may well write it so. After the 10-byte header, the id "t1" takes 3.
     */
    private static byte[] withTwoByteIndex(StepEvent step) throws Exception {
        return withTwoByteVarint(step, 13);
    }

    /** The step's encoding with the one-byte varint at {@code at} written in two bytes: Avro reads the same value. */
    private static byte[] withTwoByteVarint(StepEvent step, int at) throws Exception {
        byte[] canonical = new StepEventCodec().encode(step);
        assertTrue(canonical[at] >= 0, "a one-byte varint at " + at);
        byte[] otherwise = new byte[canonical.length + 1];
        System.arraycopy(canonical, 0, otherwise, 0, at);
        otherwise[at] = (byte) (0x80 | canonical[at]);
        otherwise[at + 1] = 0x00;
        System.arraycopy(canonical, at + 1, otherwise, at + 2, canonical.length - at - 1);
        return otherwise;
    }

    /** A step of task-1's group g1 of 4, by agent-1. */
    private static StepEvent.Builder grouped(String trajectoryId, int index, long eventTime) {
        return step(trajectoryId, index, eventTime).setGroupId("g1").setGroupSize(4);
    }

    @Test
    void aStepThatDisagreesWithItsTrajectoryOnAgentTaskOrGroupIsDeadLetteredAndTheTrajectoryKeepsItsOwn()
            throws Exception {
        send(in(grouped("t1", 0, 100).build()));
        send(in(grouped("t1", 1, 110).setTaskId("task-2").build()));
        send(in(grouped("t1", 1, 110).setGroupId("g2").setGroupSize(3).build()));
        send(in(grouped("t1", 1, 110).setGroupId(null).setGroupSize(null).build()));
        send(in(grouped("t1", 1, 110).setAgentId("agent-2").build()));

        assertEquals(List.of(
                "step 1 disagrees with the steps of its trajectory already received: task_id \"task-2\""
                        + " (theirs: \"task-1\"); the trajectory keeps theirs",
                "step 1 disagrees with the steps of its trajectory already received: group_id \"g2\" (theirs:"
                        + " \"g1\"), group_size 3 (theirs: 4); the trajectory keeps theirs",
                "step 1 disagrees with the steps of its trajectory already received: group_id null (theirs:"
                        + " \"g1\"), group_size null (theirs: 4); the trajectory keeps theirs",
                "step 1 disagrees with the steps of its trajectory already received: agent_id \"agent-2\" (theirs:"
                        + " \"agent-1\"); the trajectory keeps theirs"),
                deadLetters().stream().map(DeadLetter::getErrorMessage).toList());
        assertTrue(deadLetters().stream().allMatch(d -> d.getErrorClass().equals("CONFLICTING_TRAJECTORY_FIELDS")));

        send(in(grouped("t1", 1, 110).build()));
        send(in(grouped("t1", 2, 120).setTerminal(TerminalKind.TERMINATED).build()));
        send(in(outcome("t1", 1.0, 0, 130)));
        harness.processWatermark(130);

        AssembledTrajectory t = harness.extractOutputValues().get(0);
        assertEquals(List.of("agent-1", "task-1", "g1", 4),
                List.of(t.agentId(), t.taskId(), t.groupId(), t.groupSize()));
        assertEquals(3, t.steps().size());
        assertEquals(4, deadLetters().size());
        assertNothingLeft();
    }

    @Test
    void theFirstStepToArriveSaysWhatItsTrajectoryIsNotStepZero() throws Exception {
        // Before, the trajectory took step 0's task and group whatever its other steps said.
        send(in(grouped("t1", 1, 110).setTaskId("task-2").setTerminal(TerminalKind.TERMINATED).build()));
        send(in(grouped("t1", 0, 100).build()));
        send(in(outcome("t1", 1.0, 0, 120)));
        harness.processWatermark(120 + TIMEOUT);

        assertEquals(List.of("CONFLICTING_TRAJECTORY_FIELDS"),
                deadLetters().stream().map(DeadLetter::getErrorClass).toList(),
                "step 0 names task-1, the step already received task-2");
        assertTrue(harness.extractOutputValues().isEmpty(), "never scored under either task");
        assertEquals(UnscoredReason.INCOMPLETE, unscored().get(0).getReason());
        assertNothingLeft();
    }

    @Test
    void aStepWhoseTrajectoryFieldsAreOnlyEncodedOtherwiseIsKept() throws Exception {
        StepEvent second = grouped("t1", 1, 110).build();
        // agent_id's length, after the header, the id "t1" and the one-byte index: another producer's writer.
        byte[] otherwise = withTwoByteVarint(second, 14);
        assertEquals(second, new StepEventCodec().decode(otherwise));

        send(in(grouped("t1", 0, 100).build()));
        send(InputRecord.ofStep("agent.steps", 0, 1, 110, second, otherwise));
        send(in(grouped("t1", 2, 120).setTerminal(TerminalKind.TERMINATED).build()));
        send(in(outcome("t1", 1.0, 0, 130)));
        harness.processWatermark(130);

        assertTrue(deadLetters().isEmpty(), "the same fields: " + deadLetters());
        assertEquals(3, harness.extractOutputValues().get(0).steps().size());
        assertNothingLeft();
    }

    @Test
    void aGroupSizeWithoutAGroupIsNotHeldAgainstAStep() throws Exception {
        // A proto3 or Go producer writes 0 for a size not set; without a group_id it means nothing.
        send(in(step("t1", 0, 100).setGroupSize(0).build()));
        send(in(step("t1", 1, 110).setTerminal(TerminalKind.TERMINATED).build()));
        send(in(outcome("t1", 1.0, 0, 120)));
        harness.processWatermark(120);

        assertTrue(deadLetters().isEmpty(), "no group, no size to disagree on: " + deadLetters());
        assertEquals(2, harness.extractOutputValues().get(0).steps().size());
        assertNothingLeft();
    }

    @Test
    void stepAfterTheTerminalStepIsDeadLettered() throws Exception {
        send(in(terminalStep("t1", 1, 100)));
        send(in(step("t1", 2, 110).build()));

        assertEquals("STEP_AFTER_TERMINAL", deadLetters().get(0).getErrorClass());
        send(in(step("t1", 0, 120).build()));
        send(in(outcome("t1", 1.0, 0, 130)));
        harness.processWatermark(130);
        assertEquals(2, harness.extractOutputValues().get(0).steps().size());
        assertNothingLeft();
    }

    @Test
    void stepsAfterTheTerminalOneDoNotHoldTheCompleteTrajectoryBack() throws Exception {
        send(in(step("t1", 0, 100).build()));
        send(in(terminalStep("t1", 1, 110)));
        send(in(outcome("t1", 1.0, 0, 120)));
        send(in(step("t1", 2, 5_000).build())); // an agent that goes on after its terminal step
        send(in(outcome("t1", 0.0, -1, 6_000))); // and an older outcome revision, late: kept out

        harness.processWatermark(120);

        assertEquals(1, harness.extractOutputValues().size(), "complete at 120, whatever came after");
        OffsetRange steps = harness.extractOutputValues().get(0).lineage().stream()
                .filter(range -> range.getTopic().equals("agent.steps")).findFirst().orElseThrow();
        assertEquals(1, steps.getLastOffset() - steps.getFirstOffset(), "the lineage names the two steps kept: " + steps);
        assertEquals("STEP_AFTER_TERMINAL", deadLetters().get(0).getErrorClass());
    }

    /**
     * job.verifier-timeout-policy=SCORE, the default: once the verifier timeout passes, the trajectory is scored with
     * the verdicts that came and marked, so that a trainer can tell it missed its quorum; the verdict it waited for,
     * coming after, is LATE.
     */
    @Test
    void requiredVerifiersHoldTheTrajectoryUntilTheirTimeoutThenItIsScoredAndMarked() throws Exception {
        harness.close();
        Configuration conf = new Configuration();
        conf.set(JobOptions.OUTCOME_TIMEOUT, Duration.ofMillis(TIMEOUT));
        conf.set(JobOptions.FINISHED_RETENTION, Duration.ofMillis(RETENTION));
        conf.set(JobOptions.VERIFIER_TIMEOUT, Duration.ofMillis(VERIFIER_TIMEOUT));
        conf.set(JobOptions.REQUIRED_VERIFIERS, List.of("prm"));
        start(conf);

        send(in(step("t1", 0, 100).build()));
        send(in(terminalStep("t1", 1, 100)));
        send(in(outcome("t1", 1.0, 0, 200)));
        send(in(verdict("t1", 0, "prm", 0.9, 210)));
        assertTrue(harness.extractOutputValues().isEmpty(), "step 1 has no prm verdict yet");

        harness.processWatermark(200 + VERIFIER_TIMEOUT);

        AssembledTrajectory t = harness.extractOutputValues().get(0);
        assertEquals(1, t.verdicts().size(), "scored with the verdicts that came");
        assertTrue(t.verifiersTimedOut(), "marked: it missed its quorum");
        assertFalse(t.outcomeTimedOut());
        assertTrue(unscored().isEmpty());

        send(in(verdict("t1", 1, "prm", 0.8, 200 + VERIFIER_TIMEOUT + 10)));
        assertEquals(List.of(UnscoredReason.LATE), unscored().stream().map(UnscoredTrajectory::getReason).toList(),
                "the verdict it waited for came after it was scored");
        assertNothingLeft();
    }

    /**
     * job.verifier-timeout-policy=UNSCORED: a trajectory that missed its quorum goes to the unscored topic as
     * INCOMPLETE, with everything that arrived for it and a detail naming what it lacked, and the books count it as
     * unscored; its marker routes what comes after as LATE.
     */
    @Test
    void requiredVerifiersThatTimeOutSendTheTrajectoryToUnscoredWhenThePolicySaysSo() throws Exception {
        harness.close();
        Configuration conf = shortWaits();
        conf.set(JobOptions.REQUIRED_VERIFIERS, List.of("tests", "prm"));
        conf.set(JobOptions.VERIFIER_TIMEOUT_POLICY, JobOptions.VerifierTimeoutPolicy.UNSCORED);
        RecordedMetrics metrics = new RecordedMetrics();
        harness = new KeyedOneInputStreamOperatorTestHarness<>(new KeyedProcessOperator<>(new AssembleTrajectory(conf)),
                InputRecord::trajectoryId, StringKeys.TYPE, metrics.environment());
        harness.open();

        send(in(step("t1", 0, 100).build()));
        send(in(step("t1", 1, 100).setTrainable(false).build())); // tool output: no verifier judges it
        send(in(step("t1", 2, 100).build()));
        send(in(terminalStep("t1", 3, 100)));
        send(in(outcome("t1", 1.0, 0, 200)));
        send(in(verdict("t1", 0, "prm", 0.9, 210)));
        send(in(verdict("t1", 0, "tests", 1.0, 210)));
        send(in(verdict("t1", 2, "prm", 0.4, 210)));
        harness.processWatermark(200 + VERIFIER_TIMEOUT - 1);
        assertTrue(unscored().isEmpty(), "still waiting for its verifiers");

        harness.processWatermark(200 + VERIFIER_TIMEOUT);

        assertTrue(harness.extractOutputValues().isEmpty(), "not scored");
        assertEquals(1, unscored().size());
        UnscoredTrajectory u = unscored().get(0);
        assertEquals(UnscoredReason.INCOMPLETE, u.getReason());
        assertEquals("2 of 3 trainable steps lack required verdicts (missing prm on 1, tests on 2) after "
                + VERIFIER_TIMEOUT + " ms (job.verifier-timeout)", u.getDetail());
        assertEquals(List.of(0, 1, 2, 3), u.getSteps().stream().map(StepEvent::getStepIndex).toList());
        assertEquals(1, u.getOutcomes().size());
        assertEquals(3, u.getVerdicts().size());
        assertEquals(1, metrics.count("assembly.verifierTimeouts"));
        assertEquals(1, metrics.count("assembly.unscored.INCOMPLETE"));
        assertEquals(0, metrics.count("assembly.trajectoriesAssembled"));
        assertEquals(List.of(4L, 1L, 3L), List.of(metrics.count("ledger.steps.unscored"),
                metrics.count("ledger.outcomes.unscored"), metrics.count("ledger.verdicts.unscored")));

        send(in(verdict("t1", 3, "tests", 1.0, 200 + VERIFIER_TIMEOUT + 10)));
        send(in(outcome("t1", 0.0, 1, 200 + VERIFIER_TIMEOUT + 10)));
        assertEquals(List.of(UnscoredReason.INCOMPLETE, UnscoredReason.LATE, UnscoredReason.LATE),
                unscored().stream().map(UnscoredTrajectory::getReason).toList(),
                "the marker routes stragglers; no outcome was scored, so a revision is LATE too");
        assertNothingLeft();
    }

    @Test
    void requiredVerifiersCompleteTheTrajectoryAsSoonAsTheyArrive() throws Exception {
        harness.close();
        Configuration conf = new Configuration();
        conf.set(JobOptions.REQUIRED_VERIFIERS, List.of("prm"));
        start(conf);

        send(in(terminalStep("t1", 0, 100)));
        send(in(outcome("t1", 1.0, 0, 200)));
        assertTrue(harness.extractOutputValues().isEmpty());
        send(in(verdict("t1", 0, "prm", 0.9, 210)));
        harness.processWatermark(210);

        assertEquals(1, harness.extractOutputValues().size());
        assertFalse(harness.extractOutputValues().get(0).verifiersTimedOut(), "its quorum came");
    }

    @Test
    void verdictReadAfterCompletionButBeforeTheWatermarkIsAttached() throws Exception {
        send(in(terminalStep("t1", 0, 100)));
        send(in(outcome("t1", 1.0, 0, 200)));
        // The verdicts topic is read more slowly: its signal (made at 150) arrives after the outcome.
        send(in(verdict("t1", 0, "prm", 0.9, 150)));
        harness.processWatermark(200);

        assertEquals(1, harness.extractOutputValues().get(0).verdicts().size());
        assertTrue(unscored().isEmpty());
        assertNothingLeft();
    }

    @Test
    void outcomeRevisionBeforeTheWatermarkSupersedesWithoutLateRevision() throws Exception {
        send(in(terminalStep("t1", 0, 100)));
        send(in(outcome("t1", 0.0, 0, 200)));
        send(in(outcome("t1", 1.0, 1, 210)));
        harness.processWatermark(210);

        assertEquals(1, harness.extractOutputValues().get(0).outcome().getRevision());
        assertTrue(unscored().isEmpty());
        assertNothingLeft();
    }
    @Test
    void emitOnCompletionScoresAtOnceAndLaterSignalsAreLate() throws Exception {
        harness.close();
        Configuration conf = new Configuration();
        conf.set(JobOptions.OUTCOME_TIMEOUT, Duration.ofMillis(TIMEOUT));
        conf.set(JobOptions.FINISHED_RETENTION, Duration.ofMillis(RETENTION));
        conf.set(JobOptions.EMIT_ON_COMPLETION, true);
        start(conf);

        send(in(step("t1", 0, 100).build()));
        send(in(terminalStep("t1", 1, 110)));
        assertTrue(harness.extractOutputValues().isEmpty(), "no outcome yet");
        send(in(outcome("t1", 1.0, 0, 200)));
        assertEquals(1, harness.extractOutputValues().size(), "complete: scored without a watermark");
        assertEquals(1, harness.numEventTimeTimers(), "only the finished marker's timer is left");

        send(in(verdict("t1", 0, "prm", 0.9, 150)));
        send(in(outcome("t1", 0.0, 1, 210)));
        assertEquals(List.of(UnscoredReason.LATE, UnscoredReason.LATE_REVISION),
                unscored().stream().map(UnscoredTrajectory::getReason).toList());
        assertNothingLeft();
    }
    @Test
    void aTimedOutOutcomeIsScoredOnTheVerdictsWhenThePolicySaysSo() throws Exception {
        harness.close();
        Configuration conf = new Configuration();
        conf.set(JobOptions.OUTCOME_TIMEOUT, Duration.ofMillis(TIMEOUT));
        conf.set(JobOptions.FINISHED_RETENTION, Duration.ofMillis(RETENTION));
        conf.set(JobOptions.OUTCOME_TIMEOUT_POLICY, JobOptions.OutcomeTimeoutPolicy.PROCESS_ONLY);
        conf.set(io.strawless.pipeline.credit.CreditOptions.ESTIMATOR, io.strawless.pipeline.credit.Estimator.PROCESS);
        start(conf);

        send(in(step("judged", 0, 100).build()));
        send(in(terminalStep("judged", 1, 110)));
        send(in(verdict("judged", 0, "prm", 0.9, 120)));
        send(in(terminalStep("unjudged", 0, 100)));
        send(in(terminalStep("judgedWhole", 0, 100)));
        send(in(VerifierSignal.newBuilder(verdict("judgedWhole", 0, "rater", 0.9, 110)).setStepIndex(null).build()));
        send(in(step("judgedTool", 0, 100).setTrainable(false).build()));
        send(in(terminalStep("judgedTool", 1, 105)));
        send(in(verdict("judgedTool", 0, "prm", 0.9, 110))); // a verdict of a tool's output: no process reward
        harness.processWatermark(120 + TIMEOUT);

        List<AssembledTrajectory> emitted = harness.extractOutputValues();
        assertEquals(1, emitted.size(), "only the trajectory with a verdict of a step is scored");
        assertEquals("judged", emitted.get(0).trajectoryId());
        assertTrue(emitted.get(0).outcomeTimedOut());
        assertEquals(List.of(), emitted.get(0).outcomesReceived());
        // A verdict of the whole trajectory, or of a tool's output, gives no step a process reward: it would be
        // scored on nothing.
        assertEquals(List.of("judgedTool", "judgedWhole", "unjudged"), unscored().stream()
                .map(UnscoredTrajectory::getTrajectoryId).sorted().toList());
        assertTrue(unscored().stream().allMatch(u -> u.getReason() == UnscoredReason.OUTCOME_TIMEOUT),
                "no verdict of a trainable step: unscored");
        assertEquals(2, unscored().stream().mapToInt(u -> u.getVerdicts().size()).sum(), "with their verdicts");

        send(in(outcome("judged", 1.0, 0, 120 + TIMEOUT + 10)));
        assertEquals(UnscoredReason.LATE, unscored().get(3).getReason(), "its outcome, after all, is late");
        harness.processWatermark(1_000_000); // both markers' retention passes
        assertEquals(0, harness.numKeyedStateEntries(), "keyed state left behind");
        assertEquals(0, harness.numEventTimeTimers(), "timers left behind");
    }

    /**
     * A trajectory scored on its verdicts alone must meet job.required-verifiers as one with an outcome must: short
     * of them, it goes to the unscored topic under job.verifier-timeout-policy=UNSCORED, and is marked
     * verifiers_timed_out under SCORE. It escaped the quorum before, and told the trainer it had met it.
     */
    @ParameterizedTest
    @EnumSource(JobOptions.VerifierTimeoutPolicy.class)
    void aTrajectoryScoredWithoutItsOutcomeMustMeetTheVerifierQuorumToo(JobOptions.VerifierTimeoutPolicy policy)
            throws Exception {
        harness.close();
        Configuration conf = new Configuration();
        conf.set(JobOptions.OUTCOME_TIMEOUT, Duration.ofMillis(TIMEOUT));
        conf.set(JobOptions.FINISHED_RETENTION, Duration.ofMillis(RETENTION));
        conf.set(JobOptions.OUTCOME_TIMEOUT_POLICY, JobOptions.OutcomeTimeoutPolicy.PROCESS_ONLY);
        conf.set(JobOptions.REQUIRED_VERIFIERS, List.of("prm"));
        conf.set(JobOptions.VERIFIER_TIMEOUT_POLICY, policy);
        conf.set(io.strawless.pipeline.credit.CreditOptions.ESTIMATOR, io.strawless.pipeline.credit.Estimator.PROCESS);
        RecordedMetrics metrics = new RecordedMetrics();
        harness = new KeyedOneInputStreamOperatorTestHarness<>(new KeyedProcessOperator<>(new AssembleTrajectory(conf)),
                InputRecord::trajectoryId, StringKeys.TYPE, metrics.environment());
        harness.open();

        send(in(step("quorate", 0, 100).build()));
        send(in(terminalStep("quorate", 1, 110)));
        send(in(verdict("quorate", 0, "prm", 0.9, 120)));
        send(in(verdict("quorate", 1, "prm", 0.2, 120)));
        send(in(step("short", 0, 100).build()));
        send(in(terminalStep("short", 1, 110)));
        send(in(verdict("short", 0, "other", 0.9, 120))); // judged, but not by the required verifier
        harness.processWatermark(120 + TIMEOUT);

        Map<String, AssembledTrajectory> emitted = new HashMap<>();
        harness.extractOutputValues().forEach(t -> emitted.put(t.trajectoryId(), t));
        assertTrue(emitted.get("quorate").outcomeTimedOut());
        assertFalse(emitted.get("quorate").verifiersTimedOut(), "its required verifier judged every trainable step");
        assertEquals(1, metrics.count("assembly.verifierTimeouts"), "the short one missed its quorum");
        if (policy == JobOptions.VerifierTimeoutPolicy.UNSCORED) {
            assertEquals(Set.of("quorate"), emitted.keySet());
            assertEquals(1, unscored().size());
            UnscoredTrajectory u = unscored().get(0);
            assertEquals("short", u.getTrajectoryId());
            assertEquals(UnscoredReason.INCOMPLETE, u.getReason());
            assertEquals("no outcome within " + TIMEOUT + " ms (job.outcome-timeout), and 2 of 2 trainable steps"
                    + " lack required verdicts (missing prm on 2)", u.getDetail());
            assertEquals(1, u.getVerdicts().size(), "with its verdict");
        } else {
            assertEquals(Set.of("quorate", "short"), emitted.keySet());
            assertTrue(emitted.get("short").verifiersTimedOut(), "scored, and marked as short of its quorum");
            assertTrue(unscored().isEmpty());
        }
        harness.processWatermark(1_000_000); // both markers' retention passes
        assertEquals(0, harness.numKeyedStateEntries(), "keyed state left behind");
        assertEquals(0, harness.numEventTimeTimers(), "timers left behind");
    }
}
