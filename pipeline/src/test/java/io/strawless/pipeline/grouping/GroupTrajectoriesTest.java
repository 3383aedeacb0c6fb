package io.strawless.pipeline.grouping;

import static io.strawless.pipeline.Events.trajectory;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.strawless.pipeline.JobOptions;
import io.strawless.pipeline.JobOptions.PartialGroupPolicy;
import io.strawless.pipeline.RecordedMetrics;
import io.strawless.pipeline.StringKeys;
import io.strawless.pipeline.assembly.AssembledTrajectory;
import io.strawless.pipeline.credit.CreditOptions;
import io.strawless.pipeline.credit.Estimator;
import io.strawless.schemas.StepEvent;
import io.strawless.schemas.UnscoredReason;
import io.strawless.schemas.UnscoredTrajectory;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.apache.flink.api.common.state.MapStateDescriptor;
import org.apache.flink.api.common.typeutils.base.LongSerializer;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.runtime.checkpoint.OperatorSubtaskState;
import org.apache.flink.runtime.state.KeyedStateBackend;
import org.apache.flink.runtime.state.VoidNamespace;
import org.apache.flink.runtime.state.VoidNamespaceSerializer;
import org.apache.flink.streaming.api.operators.KeyedProcessOperator;
import org.apache.flink.streaming.runtime.streamrecord.StreamRecord;
import org.apache.flink.streaming.util.KeyedOneInputStreamOperatorTestHarness;
import org.apache.flink.streaming.util.ProcessFunctionTestHarnesses;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

class GroupTrajectoriesTest {

    private static final long TTL = 10_000;
    private static final long GROUP_TIMEOUT = 1_000;
    private static final long RETENTION = 5_000;
    private KeyedOneInputStreamOperatorTestHarness<String, AssembledTrajectory, TrajectoryGroup> harness;

    private void start(Configuration conf) throws Exception {
        conf(conf);
        conf.set(JobOptions.FINISHED_RETENTION, Duration.ofMillis(RETENTION));
        harness = ProcessFunctionTestHarnesses.forKeyedProcessFunction(
                new GroupTrajectories(conf), AssembledTrajectory::taskId, StringKeys.TYPE);
    }

    /** As {@link #start}, in a harness whose metrics the test reads. */
    private RecordedMetrics startWithMetrics(Configuration conf) throws Exception {
        conf(conf);
        conf.set(JobOptions.FINISHED_RETENTION, Duration.ofMillis(RETENTION));
        RecordedMetrics metrics = new RecordedMetrics();
        harness = new KeyedOneInputStreamOperatorTestHarness<>(new KeyedProcessOperator<>(new GroupTrajectories(conf)),
                AssembledTrajectory::taskId, StringKeys.TYPE, metrics.environment());
        harness.open();
        return metrics;
    }

    private static void conf(Configuration conf) {
        conf.set(JobOptions.BASELINE_TTL, Duration.ofMillis(TTL));
        conf.set(JobOptions.GROUP_TIMEOUT, Duration.ofMillis(GROUP_TIMEOUT));
    }

    private static Configuration grpo() {
        Configuration conf = new Configuration();
        conf.set(CreditOptions.ESTIMATOR, Estimator.GRPO);
        return conf;
    }

    /** {@code conf} with job.max-policy-lag=2: a trajectory more than 2 versions behind its task's newest is stale. */
    private static Configuration policyLagOf2(Configuration conf) {
        conf.set(JobOptions.MAX_POLICY_LAG, 2L);
        return conf;
    }

    @AfterEach
    void tearDown() throws Exception {
        if (harness != null) {
            harness.close();
        }
    }

    private void send(AssembledTrajectory t, long time) throws Exception {
        harness.processElement(new StreamRecord<>(t, time));
    }

    private List<TrajectoryGroup> groups() {
        return harness.extractOutputValues();
    }

    private List<UnscoredTrajectory> unscored() {
        var side = harness.getSideOutput(GroupTrajectories.UNSCORED);
        return side == null ? List.of() : side.stream().map(StreamRecord::getValue).toList();
    }

    private void assertNothingLeftAfterTtl() throws Exception {
        harness.processWatermark(1_000_000);
        assertEquals(0, harness.numKeyedStateEntries(), "task state left behind");
        assertEquals(0, harness.numEventTimeTimers(), "timers left behind");
    }

    @Test
    void runningTaskBaselineIsAssignedBeforeTheOutcomeMovesIt() throws Exception {
        start(new Configuration()); // outcome estimator: every trajectory is its own unit
        double[] rewards = {1.0, 0.0, 1.0};
        for (int i = 0; i < rewards.length; i++) {
            send(trajectory("t" + i, "g", 3, rewards[i], 1), 100 + i);
        }
        // Baselines: 0 (nothing seen), then mean(1) = 1, then mean(1, 0) = 0.5.
        assertEquals(List.of(0.0, 1.0, 0.5), groups().stream().map(TrajectoryGroup::baseline).toList());
        assertTrue(groups().stream().allMatch(g -> g.trajectoryCount() == 1), "outcome does not wait for groups");
        assertNothingLeftAfterTtl();
    }

    @Test
    void aTaskIsForgottenBetweenOneTtlAndASixteenthMoreAfterItsLastTrajectory() throws Exception {
        start(new Configuration());
        long last = 0;
        for (int i = 0; i < 1_000; i++) {
            last = 100 + 7L * i;
            send(trajectory("t" + i, null, 0, 1.0, 1), last);
        }
        // Trajectories over 7 s, TTL 10 s: the expiry moved about 11 times, in steps of 625 ms.
        assertTrue(harness.numEventTimeTimers() <= 7_000 / (TTL / 16) + 2, "a timer per step, not per trajectory");

        harness.processWatermark(last + TTL - 1);
        assertTrue(harness.numKeyedStateEntries() > 0, "forgotten before its TTL");
        harness.processWatermark(last + TTL + TTL / 16);
        assertEquals(0, harness.numKeyedStateEntries(), "kept beyond its TTL and a sixteenth");
        assertEquals(0, harness.numEventTimeTimers());
    }

    @Test
    void baselineRecurrenceTurnsIntoAnExponentialAverage() {
        TaskBaseline b = TaskBaseline.NONE;
        for (int i = 0; i < 10; i++) {
            b = b.update(1.0, 0.9); // the first 10 outcomes: a plain mean
        }
        assertEquals(1.0, b.mean(), 1e-12);
        b = b.update(0.0, 0.9); // 11th: weight max(1/11, 0.1) = 0.1
        assertEquals(0.9, b.mean(), 1e-12);
    }

    @Test
    void groupClosesAtItsExpectedSize() throws Exception {
        start(grpo());
        send(trajectory("a", "g1", 3, 1.0, 1), 100);
        send(trajectory("b", "g1", 3, 0.0, 1), 110);
        assertTrue(groups().isEmpty());
        send(trajectory("c", "g1", 3, 1.0, 1), 120);

        assertEquals(1, groups().size());
        assertEquals(List.of("a", "b", "c"),
                groups().get(0).members().stream().map(AssembledTrajectory::trajectoryId).toList());
        assertNothingLeftAfterTtl();
    }

    @Test
    void partialGroupIsScoredAtItsTimeoutByDefault() throws Exception {
        start(grpo());
        send(trajectory("a", "g1", 4, 1.0, 1), 100);
        send(trajectory("b", "g1", 4, 0.0, 1), 110);
        harness.processWatermark(100 + GROUP_TIMEOUT - 1);
        assertTrue(groups().isEmpty());

        harness.processWatermark(100 + GROUP_TIMEOUT);

        assertEquals(2, groups().get(0).trajectoryCount());
        assertNothingLeftAfterTtl();
    }

    @Test
    void partialGroupGoesToUnscoredWhenThePolicySaysSo() throws Exception {
        Configuration conf = grpo();
        conf.set(JobOptions.PARTIAL_GROUPS, PartialGroupPolicy.UNSCORED);
        RecordedMetrics metrics = startWithMetrics(conf);
        send(trajectory("a", "g1", 4, 1.0, 1), 100);
        send(trajectory("b", "g1", 4, 0.0, 1), 100);

        harness.processWatermark(100 + GROUP_TIMEOUT);

        assertTrue(groups().isEmpty());
        assertEquals(UnscoredReason.INCOMPLETE, unscored().get(0).getReason());
        assertTrue(unscored().get(0).getDetail().contains("2 of 4"), unscored().get(0).getDetail());
        // Counted by reason where they leave, as the assembler counts its own.
        assertEquals(2, metrics.count("grouping.unscored.INCOMPLETE"));
        assertNothingLeftAfterTtl();
    }

    @Test
    void aMemberWhoseGroupSizeDisagreesIsCountedAndTheFirstMembersSizeHolds() throws Exception {
        RecordedMetrics metrics = startWithMetrics(grpo());
        send(trajectory("a", "g1", 2, 1.0, 1), 100);
        send(trajectory("b", "g1", 3, 0.0, 1), 101);

        assertEquals(List.of(List.of("a", "b")), groups().stream()
                .map(g -> g.members().stream().map(AssembledTrajectory::trajectoryId).toList()).toList());
        assertEquals(1, metrics.count("grouping.groupSizeConflicts"));
        assertEquals(1, metrics.count("grouping.groupsClosedBySize"));
        assertNothingLeftAfterTtl();
    }

    @Test
    void aGroupOfUnknownSizeClosesAtItsTimeoutWithEveryMemberScored() throws Exception {
        Configuration conf = grpo();
        conf.set(JobOptions.PARTIAL_GROUPS, PartialGroupPolicy.UNSCORED); // not partial: no size was promised
        start(conf);
        send(trajectory("a", "g1", 0, 1.0, 1), 100); // group_id without group_size
        send(trajectory("b", "g1", 0, 0.0, 1), 110);
        harness.processWatermark(100 + GROUP_TIMEOUT - 1);
        assertTrue(groups().isEmpty(), "a group of unknown size waits for its timeout");

        harness.processWatermark(100 + GROUP_TIMEOUT);

        assertEquals(1, groups().size());
        assertEquals(List.of("a", "b"), groups().get(0).members().stream().map(AssembledTrajectory::trajectoryId).toList());
        assertTrue(unscored().isEmpty());
        assertNothingLeftAfterTtl();
    }

    @Test
    void aGroupSizeNoGroupReachesWaitsForTheGroupTimeout() throws Exception {
        // Accepted at the input (it is at least 1): the wait is bounded by job.group-timeout, then the group closes
        // short of its size, as job.partial-groups says.
        start(grpo());
        send(trajectory("a", "g1", Integer.MAX_VALUE, 1.0, 1), 100);
        send(trajectory("b", "g1", Integer.MAX_VALUE, 0.0, 1), 110);
        harness.processWatermark(100 + GROUP_TIMEOUT - 1);
        assertTrue(groups().isEmpty());

        harness.processWatermark(100 + GROUP_TIMEOUT);

        assertEquals(List.of("a", "b"),
                groups().get(0).members().stream().map(AssembledTrajectory::trajectoryId).toList());
        assertNothingLeftAfterTtl();
    }

    @Test
    void closingAGroupBySizeKeepsTheTimeoutOfAnotherGroupWithTheSameDeadline() throws Exception {
        start(grpo());
        send(trajectory("a", "g1", 2, 1.0, 1), 100);
        send(trajectory("x", "g2", 3, 1.0, 1), 100); // same task, same deadline
        send(trajectory("b", "g1", 2, 0.0, 1), 120); // g1 closes by size

        harness.processWatermark(100 + GROUP_TIMEOUT);

        assertEquals(2, groups().size(), "g2 closes at its timeout, not a task TTL later");
        assertEquals(List.of("x"), groups().get(1).members().stream().map(AssembledTrajectory::trajectoryId).toList());
        assertNothingLeftAfterTtl();
    }

    @Test
    void aMemberThatCompletesAfterItsGroupClosedIsLateNotASecondGroup() throws Exception {
        start(grpo());
        send(trajectory("a", "g1", 2, 1.0, 1), 100);
        send(trajectory("b", "g1", 2, 0.0, 1), 110);
        send(trajectory("c", "g1", 2, 1.0, 1), 120); // one sample more than group_size said
        send(trajectory("x", "g2", 4, 1.0, 1), 130);
        harness.processWatermark(130 + GROUP_TIMEOUT); // g2 closes partial, scored (job.partial-groups=SCORE)
        send(trajectory("y", "g2", 4, 0.0, 1), 130 + GROUP_TIMEOUT + 500);

        assertEquals(List.of(List.of("a", "b"), List.of("x")), groups().stream()
                .map(g -> g.members().stream().map(AssembledTrajectory::trajectoryId).toList()).toList());
        assertEquals(List.of("c", "y"), unscored().stream().map(UnscoredTrajectory::getTrajectoryId).toList());
        assertTrue(unscored().stream().allMatch(u -> u.getReason() == UnscoredReason.LATE));
        assertTrue(unscored().get(0).getDetail().contains("group g1 had already closed"), unscored().get(0).getDetail());
        assertNothingLeftAfterTtl();
    }

    @Test
    void aGroupWhoseFirstMemberCompletedBehindTheWatermarkWaitsItsTimeoutFromTheWatermark() throws Exception {
        // The first member completed at event time 100 (its outcome came late within its own wait), when the
        // watermark was at 10,000 already: its group waits job.group-timeout from the watermark, not from 100, so
        // its sibling, completing at 10,500, joins it instead of coming LATE to a group closed at once.
        start(grpo());
        harness.processWatermark(10_000);
        send(trajectory("a", "g1", 2, 1.0, 1), 100);
        harness.processWatermark(10_001);
        assertTrue(groups().isEmpty(), "the group waits");
        send(trajectory("b", "g1", 2, 0.0, 1), 10_500);

        assertEquals(List.of(List.of("a", "b")), groups().stream()
                .map(g -> g.members().stream().map(AssembledTrajectory::trajectoryId).toList()).toList());
        assertTrue(unscored().isEmpty(), unscored().toString());
        assertNothingLeftAfterTtl();
    }

    @Test
    // A task expiry that stepped a TTL at a time to the end of time hung inside Flink's timer loop, which no interrupt
    // stops: the timeout runs the test in a thread of its own, so that the test fails instead.
    @Timeout(value = 60, unit = TimeUnit.SECONDS, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
    void aGroupOpenedWhenADrainHasEndedTimeClosesThenAndLeavesNothing() throws Exception {
        // A member that completes after a drain's watermark (the end of time): its group opens with its wait over at
        // once, closes, is remembered and forgotten at the end of time, and the task's state goes with it.
        start(grpo());
        harness.processWatermark(Long.MAX_VALUE);
        send(trajectory("a", "g1", 2, 1.0, 1), 100);
        harness.processWatermark(Long.MAX_VALUE);

        assertEquals(List.of(List.of("a")), groups().stream()
                .map(g -> g.members().stream().map(AssembledTrajectory::trajectoryId).toList()).toList());
        assertEquals(0, harness.numKeyedStateEntries(), "task state left behind");
        assertEquals(0, harness.numEventTimeTimers(), "timers left behind");
    }

    /**
     * A group that closes during a drain is remembered until the end of time; an earlier close's memory, due to be
     * forgotten first, must not hide it: the pass that forgot the earlier one took the end of time for none left.
     */
    @Test
    void aGroupClosedDuringADrainIsForgottenAfterAnEarlierOne() throws Exception {
        start(grpo());
        send(trajectory("a", "g1", 2, 1.0, 1), 100);
        harness.processWatermark(100 + GROUP_TIMEOUT); // forgotten a retention later
        send(startedAt(trajectory("c", "g1", 2, 1.0, 2), 1_200), 1_500); // the next round's g1
        harness.processWatermark(Long.MAX_VALUE); // closes at 2,500, while the watermark is at the end of time

        assertEquals(List.of(List.of("a"), List.of("c")), groups().stream()
                .map(g -> g.members().stream().map(AssembledTrajectory::trajectoryId).toList()).toList());
        assertEquals(0, harness.numKeyedStateEntries(), "task state left behind");
        assertEquals(0, harness.numEventTimeTimers(), "timers left behind");
    }

    @Test
    void aGroupIdUsedAgainByALaterRoundOpensANewGroup() throws Exception {
        start(grpo());
        send(trajectory("a", "g1", 2, 1.0, 1), 100);
        send(trajectory("b", "g1", 2, 0.0, 1), 120); // closes at 120
        // A sampler that numbers its groups per round: the next round's g1 began after the first closed.
        send(startedAt(trajectory("c", "g1", 2, 1.0, 2), 130), 150);
        send(startedAt(trajectory("d", "g1", 2, 0.0, 2), 130), 160);

        assertEquals(List.of(List.of("a", "b"), List.of("c", "d")), groups().stream()
                .map(g -> g.members().stream().map(AssembledTrajectory::trajectoryId).toList()).toList());
        assertTrue(unscored().isEmpty());
        assertNothingLeftAfterTtl();
    }

    @Test
    void aGroupClosedAtItsTimeoutIsLateOnlyForMembersThatStartedBeforeItsDeadline() throws Exception {
        start(grpo());
        send(trajectory("a", "g1", 2, 1.0, 1), 100);
        send(trajectory("x", "g2", 2, 1.0, 1), 100);
        // The watermark passes the deadlines (1,100) far behind: a mini-batch of the assembler, a backfill's read.
        long watermark = 4_000;
        harness.processWatermark(watermark);
        // The next round's g1 started at 2,000, after the close, though before that watermark.
        send(startedAt(trajectory("c", "g1", 2, 1.0, 2), 2_000), watermark + 100);
        send(startedAt(trajectory("d", "g1", 2, 0.0, 2), 2_000), watermark + 200);
        // g2's y started before the deadline: it is LATE for as long as the memory is kept, a retention from the
        // watermark at the close, which is past a retention from the deadline.
        long pastARetentionFromTheDeadline = 100 + GROUP_TIMEOUT + RETENTION + RETENTION / 16;
        harness.processWatermark(pastARetentionFromTheDeadline);
        send(startedAt(trajectory("y", "g2", 2, 0.0, 1), 1_000), pastARetentionFromTheDeadline + 1);

        assertEquals(List.of(List.of("a"), List.of("x"), List.of("c", "d")), groups().stream()
                .map(g -> g.members().stream().map(AssembledTrajectory::trajectoryId).toList()).toList());
        assertEquals(List.of("y"), unscored().stream().map(UnscoredTrajectory::getTrajectoryId).toList());
        assertEquals(UnscoredReason.LATE, unscored().get(0).getReason());
        assertNothingLeftAfterTtl();
    }

    /**
     * State of a release before the close times kept, for each closed group, only the time its memory is kept from:
     * that time stands in for the close's, as it did then.
     */
    @Test
    void aGroupThatAnEarlierReleaseClosedIsLateUpToTheTimeItKept() throws Exception {
        start(grpo());
        send(trajectory("a", "g1", 2, 1.0, 1), 100);
        harness.processWatermark(4_000); // kept from 4,000; closed at 1,100
        KeyedStateBackend<String> backend = harness.getOperator().getKeyedStateBackend();
        backend.setCurrentKey("task-1");
        backend.getPartitionedState(VoidNamespace.INSTANCE, VoidNamespaceSerializer.INSTANCE, new MapStateDescriptor<>(
                "closed-group-close-times", StringKeys.Serializer.INSTANCE, LongSerializer.INSTANCE)).clear();

        send(startedAt(trajectory("c", "g1", 2, 1.0, 2), 2_000), 4_100);

        assertEquals(List.of("c"), unscored().stream().map(UnscoredTrajectory::getTrajectoryId).toList());
        assertEquals(UnscoredReason.LATE, unscored().get(0).getReason());
        assertNothingLeftAfterTtl();
    }

    /** {@code t} with its steps at event time {@code time}. */
    private static AssembledTrajectory startedAt(AssembledTrajectory t, long time) {
        List<StepEvent> steps = t.steps().stream()
                .map(step -> StepEvent.newBuilder(step).setEventTime(Instant.ofEpochMilli(time)).build()).toList();
        return new AssembledTrajectory(t.trajectoryId(), t.agentId(), t.taskId(), t.groupId(), t.groupSize(), steps,
                t.outcome(), t.verdicts(), t.lineage());
    }

    @Test
    void aClosedGroupIsForgottenEvenAfterARestoreWithAnotherRetention() throws Exception {
        start(grpo());
        send(trajectory("a", "g1", 1, 1.0, 1), 100);
        OperatorSubtaskState snapshot = harness.snapshot(0, 0);
        harness.close();

        Configuration longer = grpo();
        longer.set(JobOptions.FINISHED_RETENTION, Duration.ofMillis(RETENTION * 3 / 2)); // another step: 468 ms
        conf(longer);
        harness = new KeyedOneInputStreamOperatorTestHarness<>(
                new KeyedProcessOperator<>(new GroupTrajectories(longer)), AssembledTrajectory::taskId, StringKeys.TYPE);
        harness.setup();
        harness.initializeState(snapshot);
        harness.open();
        assertNothingLeftAfterTtl();
    }

    @Test
    void aClosedGroupIsForgottenAfterTheFinishedRetention() throws Exception {
        start(grpo());
        send(trajectory("a", "g1", 1, 1.0, 1), 100);
        harness.processWatermark(100 + RETENTION + RETENTION / 16);
        // Forgotten: a member now opens a group again (the assembler has forgotten its trajectories too by then).
        send(trajectory("b", "g1", 1, 1.0, 1), 100 + RETENTION + RETENTION / 16 + 1);
        assertEquals(2, groups().size());
        assertTrue(unscored().isEmpty());
        assertNothingLeftAfterTtl();
    }

    @Test
    void aTrajectorySentAgainWhileItsGroupWaitsIsScoredOnce() throws Exception {
        start(grpo());
        send(trajectory("a", "g1", 3, 1.0, 1), 100);
        send(trajectory("a", "g1", 3, 1.0, 1), 110);
        send(trajectory("b", "g1", 3, 0.0, 1), 120);
        assertTrue(groups().isEmpty(), "a copy is not a member");
        send(trajectory("c", "g1", 3, 0.0, 1), 130);

        assertEquals(List.of("a", "b", "c"),
                groups().get(0).members().stream().map(AssembledTrajectory::trajectoryId).toList());
        assertEquals(UnscoredReason.LATE, unscored().get(0).getReason());
        assertNothingLeftAfterTtl();
    }

    @Test
    void groupingSettingsThatCannotWorkAreRefused() {
        Configuration ttl = new Configuration();
        ttl.set(JobOptions.BASELINE_TTL, Duration.ZERO);
        assertTrue(assertThrows(IllegalArgumentException.class, () -> new GroupTrajectories(ttl)).getMessage()
                .startsWith("baseline.ttl must be positive"));
        Configuration decay = new Configuration();
        decay.set(JobOptions.BASELINE_DECAY, 1.5);
        assertTrue(assertThrows(IllegalArgumentException.class, () -> new GroupTrajectories(decay)).getMessage()
                .startsWith("baseline.decay must be within [0, 1]"));
        Configuration lag = new Configuration();
        lag.set(JobOptions.MAX_POLICY_LAG, -1L);
        assertTrue(assertThrows(IllegalArgumentException.class, () -> new GroupTrajectories(lag)).getMessage()
                .startsWith("job.max-policy-lag must be 0 or more"));
    }

    @Test
    void staleTrajectoriesAreRoutedToUnscored() throws Exception {
        start(policyLagOf2(new Configuration()));

        send(trajectory("new", null, 0, 1.0, 10), 100);
        send(trajectory("ok", null, 0, 1.0, 8), 101);
        send(trajectory("old", null, 0, 1.0, 7), 102);

        assertEquals(List.of("new", "ok"), groups().stream().map(g -> g.members().get(0).trajectoryId()).toList());
        assertEquals(UnscoredReason.STALE, unscored().get(0).getReason());
        assertEquals("old", unscored().get(0).getTrajectoryId());
        assertEquals("oldest policy_version 7 is more than 2 behind 10, the newest of the task, first seen in"
                + " trajectory new (job.max-policy-lag)", unscored().get(0).getDetail());
        assertNothingLeftAfterTtl();
    }

    /**
     * One trajectory with a far too high policy_version makes its task's later trajectories stale for baseline.ttl,
     * not for as long as the task has traffic: the stale trajectories kept the task's state alive, and with it the
     * bad version, before. A version that trajectories keep carrying holds on.
     */
    @Test
    void aFarTooHighPolicyVersionIsForgottenATtlAfterTheLastTrajectoryThatCarriedIt() throws Exception {
        start(policyLagOf2(new Configuration()));

        send(trajectory("typo", null, 0, 1.0, 1_000_000), 100);
        long time = 100;
        List<String> collected = new ArrayList<>();
        while (time < 100 + 3 * TTL) {
            time += 500;
            send(trajectory("t" + time, null, 0, 1.0, 5), time);
            harness.processWatermark(time);
        }
        groups().forEach(g -> collected.add(g.members().get(0).trajectoryId()));

        assertEquals("typo", collected.get(0));
        String firstCollectedAgain = collected.get(1);
        long at = Long.parseLong(firstCollectedAgain.substring(1));
        assertTrue(at > 100 + TTL && at <= 100 + TTL + TTL / 16 + 500,
                "stale for one TTL (up to a sixteenth more) after the bad version, then scored: from " + at);
        assertEquals((100 + 3 * TTL - at) / 500 + 1, collected.size() - 1, "every trajectory after that one");
        assertTrue(unscored().stream().allMatch(u -> u.getReason() == UnscoredReason.STALE));

        // The version the task's trajectories carry now holds for as long as they keep carrying it.
        send(trajectory("old", null, 0, 1.0, 2), time + 1);
        assertEquals("old", unscored().get(unscored().size() - 1).getTrajectoryId());
        assertNothingLeftAfterTtl();
    }

    /** A group of 3 under job.max-policy-lag=2: two fresh members, one stale (policy 7 against 10). */
    private void sendAGroupWithAStaleMember() throws Exception {
        send(trajectory("a", "g1", 3, 1.0, 10), 100);
        send(trajectory("c", "g1", 3, 0.5, 7), 105);
        assertTrue(groups().isEmpty(), "b has not come yet");
        send(trajectory("b", "g1", 3, 0.0, 10), 110);
    }

    @Test
    void aStaleMemberCountsTowardsItsGroupsSize() throws Exception {
        start(policyLagOf2(grpo()));

        sendAGroupWithAStaleMember();

        // Closed as soon as every member is accounted for, not at the group timeout.
        assertEquals(List.of(List.of("a", "b")), groups().stream()
                .map(g -> g.members().stream().map(AssembledTrajectory::trajectoryId).toList()).toList());
        assertEquals(List.of(UnscoredReason.STALE), unscored().stream().map(UnscoredTrajectory::getReason).toList());
        send(trajectory("c", "g1", 3, 0.5, 7), 120); // the stale one sent again: no second group, no LATE
        assertEquals(1, groups().size());
        assertEquals(List.of(UnscoredReason.STALE, UnscoredReason.STALE),
                unscored().stream().map(UnscoredTrajectory::getReason).toList());
        assertNothingLeftAfterTtl();
    }

    /**
     * A member that completed before its task's newest version came is judged again when its group closes: scored,
     * it would depend on the order in which members complete whether the trainer gets an off-policy trajectory.
     */
    @Test
    void aMemberThatWentStaleWhileItsGroupWaitedIsNotScored() throws Exception {
        start(policyLagOf2(grpo()));

        send(trajectory("c", "g1", 3, 0.5, 7), 100); // the newest version of the task so far
        send(trajectory("a", "g1", 3, 1.0, 10), 105);
        send(trajectory("b", "g1", 3, 0.0, 10), 110);

        assertEquals(List.of(List.of("a", "b")), groups().stream()
                .map(g -> g.members().stream().map(AssembledTrajectory::trajectoryId).toList()).toList());
        assertEquals(List.of("c"), unscored().stream().map(UnscoredTrajectory::getTrajectoryId).toList());
        assertEquals(UnscoredReason.STALE, unscored().get(0).getReason());
        assertEquals("oldest policy_version 7 is more than 2 behind 10, the newest of the task, first seen in"
                + " trajectory a (job.max-policy-lag)", unscored().get(0).getDetail());
        assertNothingLeftAfterTtl();
    }

    @Test
    void aGroupShortOfAStaleMemberIsPartial() throws Exception {
        Configuration conf = policyLagOf2(grpo());
        conf.set(JobOptions.PARTIAL_GROUPS, PartialGroupPolicy.UNSCORED);
        start(conf);

        sendAGroupWithAStaleMember();

        assertTrue(groups().isEmpty());
        List<UnscoredTrajectory> incomplete = unscored().stream()
                .filter(u -> u.getReason() == UnscoredReason.INCOMPLETE).toList();
        assertEquals(List.of("a", "b"), incomplete.stream().map(UnscoredTrajectory::getTrajectoryId).toList());
        assertEquals("group g1 had 2 of 3 trajectories; 1 went another way (STALE, or scored without its outcome)"
                + " (job.partial-groups=UNSCORED)", incomplete.get(0).getDetail());
        assertNothingLeftAfterTtl();
    }

    @Test
    void aStaleMemberThatComesFirstIsCountedAndAStaleDuplicateOnce() throws Exception {
        start(policyLagOf2(grpo()));
        send(trajectory("x", "g0", 1, 1.0, 10), 90); // the task's newest policy: 10

        send(trajectory("c", "g1", 3, 0.5, 7), 100);
        send(trajectory("c", "g1", 3, 0.5, 7), 101);
        send(trajectory("a", "g1", 3, 1.0, 10), 110);
        assertEquals(1, groups().size(), "only g0: c counted once, g1 waits for b");
        send(trajectory("b", "g1", 3, 0.0, 10), 120);

        assertEquals(List.of("a", "b"), groups().get(1).members().stream().map(AssembledTrajectory::trajectoryId).toList());
        assertNothingLeftAfterTtl();
    }

    @Test
    void aGroupWhoseEveryMemberIsStaleClosesWithNothingToScore() throws Exception {
        start(policyLagOf2(grpo()));
        send(trajectory("x", "g0", 1, 1.0, 10), 90);
        send(trajectory("c", "g1", 2, 0.5, 7), 100);
        send(trajectory("d", "g1", 2, 0.5, 7), 100);

        assertEquals(1, groups().size(), "only g0");
        send(trajectory("e", "g1", 2, 0.5, 10), 110); // started before g1 closed: LATE, not a group of one
        assertEquals(UnscoredReason.LATE, unscored().get(2).getReason());
        assertNothingLeftAfterTtl();
    }

    @Test
    void aMemberScoredWithoutItsOutcomeCountsTowardsItsGroupsSize() throws Exception {
        Configuration conf = new Configuration();
        conf.set(CreditOptions.ESTIMATOR, Estimator.PROCESS); // with its default group baseline
        start(conf);
        AssembledTrajectory t = trajectory("t", "g1", 2, 0.0, 1);
        AssembledTrajectory timedOut = new AssembledTrajectory("t", t.agentId(), t.taskId(), "g1", 2, t.steps(),
                t.outcome(), List.of(), List.of(), true); // job.outcome-timeout-policy=PROCESS_ONLY

        send(trajectory("a", "g1", 2, 1.0, 1), 100);
        send(timedOut, 110);

        assertEquals(List.of(List.of("t"), List.of("a")), groups().stream()
                .map(g -> g.members().stream().map(AssembledTrajectory::trajectoryId).toList()).toList(),
                "t scored alone, and g1 closed without waiting for its timeout");
        assertNothingLeftAfterTtl();
    }
}
