package io.strawless.pipeline.grouping;

import static io.strawless.pipeline.Events.trajectory;
import static org.junit.jupiter.api.Assertions.assertEquals;

import io.strawless.pipeline.JobOptions;
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
import java.util.Map;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.runtime.checkpoint.OperatorSubtaskState;
import org.apache.flink.runtime.state.VoidNamespace;
import org.apache.flink.state.rocksdb.EmbeddedRocksDBStateBackend;
import org.apache.flink.streaming.api.operators.KeyedProcessOperator;
import org.apache.flink.streaming.runtime.streamrecord.StreamRecord;
import org.apache.flink.streaming.util.KeyedOneInputStreamOperatorTestHarness;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * A member read ahead of the watermark (a backfill reads partitions at different speeds) that completed after its
 * pending group's deadline is held until the watermark passes the deadline: members with earlier event times read
 * after it still join, and it is LATE, or opens the next round's group, as it would have been live. So the backfill's
 * read order gives what the live order gives: the same groups and baselines, unscored trajectories, counters and
 * books, and no state left. Each case runs on the heap and on RocksDB.
 */
class HeldPastGroupDeadlineTest {

    private static final long TTL = 10_000;
    private static final long GROUP_TIMEOUT = 1_000;
    private static final long RETENTION = 5_000;
    /** Group g1's deadline: its first member, a, completes at 100. */
    private static final long DEADLINE = 100 + GROUP_TIMEOUT;

    /** A trajectory completing at an event time, or the watermark advancing to one. */
    private sealed interface Action {}

    private record Send(AssembledTrajectory trajectory, long time) implements Action {}

    private record Advance(long watermark) implements Action {}

    /** What a run put out and left: groups as their members' ids and baseline, in the order they came. */
    private record Outputs(List<String> groups, List<UnscoredTrajectory> unscored, Map<String, Long> grouping,
            Map<String, Long> ledger, int stateLeft, int timersLeft) {}

    private static Configuration conf() {
        Configuration conf = new Configuration();
        conf.set(CreditOptions.ESTIMATOR, Estimator.GRPO);
        conf.set(JobOptions.BASELINE_TTL, Duration.ofMillis(TTL));
        conf.set(JobOptions.GROUP_TIMEOUT, Duration.ofMillis(GROUP_TIMEOUT));
        conf.set(JobOptions.FINISHED_RETENTION, Duration.ofMillis(RETENTION));
        return conf;
    }

    /** Runs the actions, then drains: the end of time's watermark, as the end of a backfill brings. */
    private static Outputs run(boolean rocksdb, List<Action> actions) throws Exception {
        RecordedMetrics metrics = new RecordedMetrics();
        try (var harness = new KeyedOneInputStreamOperatorTestHarness<>(
                new KeyedProcessOperator<>(new GroupTrajectories(conf())), AssembledTrajectory::taskId,
                StringKeys.TYPE, metrics.environment())) {
            if (rocksdb) {
                harness.setStateBackend(new EmbeddedRocksDBStateBackend());
            }
            harness.open();
            for (Action action : actions) {
                if (action instanceof Send send) {
                    harness.processElement(new StreamRecord<>(send.trajectory(), send.time()));
                } else if (action instanceof Advance advance) {
                    harness.processWatermark(advance.watermark());
                }
            }
            harness.processWatermark(Long.MAX_VALUE);
            List<String> groups = new ArrayList<>();
            for (TrajectoryGroup group : harness.extractOutputValues()) {
                groups.add(group.members().stream().map(AssembledTrajectory::trajectoryId).toList() + " baseline "
                        + group.baseline());
            }
            List<UnscoredTrajectory> unscored = new ArrayList<>();
            var side = harness.getSideOutput(GroupTrajectories.UNSCORED);
            if (side != null) {
                side.forEach(r -> unscored.add(r.getValue()));
            }
            return new Outputs(groups, unscored, metrics.counters("grouping"), metrics.counters("ledger"),
                    stateLeft(harness), harness.numEventTimeTimers());
        }
    }

    /** Keys with state of each of the grouping's states (the RocksDB harness does not count state entries). */
    private static int stateLeft(KeyedOneInputStreamOperatorTestHarness<String, AssembledTrajectory, ?> harness) {
        int left = 0;
        for (String state : List.of("baseline", "baseline-expiry", "newest-policy-version",
                "newest-policy-version-from", "newest-policy-version-until", "pending-groups", "closed-groups",
                "closed-group-close-times", "next-forget", "held-past-deadline")) {
            try (var keys = harness.getOperator().getKeyedStateBackend().getKeys(state, VoidNamespace.INSTANCE)) {
                left += (int) keys.count();
            }
        }
        return left;
    }

    private static void assertSameAsLive(Outputs live, Outputs backfill) {
        assertEquals(live.groups(), backfill.groups(), "groups");
        assertEquals(live.unscored(), backfill.unscored(), "unscored");
        assertEquals(live.grouping(), backfill.grouping(), "the grouping's counters");
        assertEquals(live.ledger(), backfill.ledger(), "the books");
        for (Outputs run : List.of(live, backfill)) {
            assertEquals(0, run.stateLeft(), "state left behind");
            assertEquals(0, run.timersLeft(), "timers left behind");
        }
    }

    /** {@code t} with its steps at event time {@code time}: when it started. */
    private static AssembledTrajectory startedAt(AssembledTrajectory t, long time) {
        List<StepEvent> steps = t.steps().stream()
                .map(step -> StepEvent.newBuilder(step).setEventTime(Instant.ofEpochMilli(time)).build()).toList();
        return new AssembledTrajectory(t.trajectoryId(), t.agentId(), t.taskId(), t.groupId(), t.groupSize(), steps,
                t.outcome(), t.verdicts(), t.lineage());
    }

    private static List<String> reasons(Outputs outputs) {
        return outputs.unscored().stream().map(u -> u.getTrajectoryId() + " " + u.getReason()).toList();
    }

    /**
     * g1 of 3 opens with a at 100. c, which started with it but completed after the deadline, is read before the
     * watermark passes the deadline, and b, which completed before it, after c: b joins, and the group closes at its
     * deadline with a and b; c is LATE. Joining on arrival, c made the group whole, as it never was live; closing the
     * group on c's arrival would have made b LATE.
     */
    @ParameterizedTest(name = "RocksDB {0}")
    @ValueSource(booleans = {false, true})
    void aMemberCompletingAfterItsGroupsDeadlineReadAheadIsLateAsLive(boolean rocksdb) throws Exception {
        AssembledTrajectory a = trajectory("a", "g1", 3, 1.0, 1);
        AssembledTrajectory b = trajectory("b", "g1", 3, 0.0, 1);
        AssembledTrajectory c = trajectory("c", "g1", 3, 1.0, 1); // started at 100, as a and b
        long cCompleted = DEADLINE + 400;

        Outputs live = run(rocksdb, List.of(new Send(a, 100), new Send(b, 500), new Advance(DEADLINE),
                new Send(c, cCompleted), new Advance(cCompleted)));
        Outputs backfill = run(rocksdb, List.of(new Send(a, 100), new Send(c, cCompleted), new Send(b, 500),
                new Advance(DEADLINE), new Advance(cCompleted)));

        assertEquals(List.of("[a, b] baseline 0.0"), live.groups());
        assertEquals(List.of("c LATE"), reasons(live));
        assertEquals(1L, live.grouping().get("groupsClosedByTimeout"));
        assertSameAsLive(live, backfill);
    }

    /**
     * As above, but c started after g1's deadline: the next round's g1, which c opens once the first closed, as live;
     * it is scored against the baseline the first group left.
     */
    @ParameterizedTest(name = "RocksDB {0}")
    @ValueSource(booleans = {false, true})
    void aMemberStartingAfterItsGroupsDeadlineReadAheadOpensTheNextGroupAsLive(boolean rocksdb) throws Exception {
        AssembledTrajectory a = trajectory("a", "g1", 3, 1.0, 1);
        AssembledTrajectory b = trajectory("b", "g1", 3, 0.0, 1);
        AssembledTrajectory c = startedAt(trajectory("c", "g1", 3, 1.0, 2), DEADLINE + 100);
        long cCompleted = DEADLINE + 400;

        Outputs live = run(rocksdb, List.of(new Send(a, 100), new Send(b, 500), new Advance(DEADLINE),
                new Send(c, cCompleted), new Advance(cCompleted)));
        Outputs backfill = run(rocksdb, List.of(new Send(a, 100), new Send(c, cCompleted), new Send(b, 500),
                new Advance(DEADLINE), new Advance(cCompleted)));

        assertEquals(List.of("[a, b] baseline 0.0", "[c] baseline 0.5"), live.groups());
        assertEquals(List.of(), reasons(live));
        assertEquals(2L, live.grouping().get("groupsClosedByTimeout"));
        assertSameAsLive(live, backfill);
    }

    /** A member held when a savepoint is taken is held after the restore, and released as before it. */
    @ParameterizedTest(name = "RocksDB {0}")
    @ValueSource(booleans = {false, true})
    void aHeldMemberOutlivesARestore(boolean rocksdb) throws Exception {
        AssembledTrajectory a = trajectory("a", "g1", 3, 1.0, 1);
        AssembledTrajectory b = trajectory("b", "g1", 3, 0.0, 1);
        AssembledTrajectory c = trajectory("c", "g1", 3, 1.0, 1);
        OperatorSubtaskState savepoint;
        try (var harness = harness(rocksdb)) {
            harness.open();
            harness.processElement(new StreamRecord<>(a, 100));
            harness.processElement(new StreamRecord<>(c, DEADLINE + 400));
            savepoint = harness.snapshot(0, 0);
        }
        try (var harness = harness(rocksdb)) {
            harness.initializeState(savepoint);
            harness.open();
            harness.processElement(new StreamRecord<>(b, 500));
            harness.processWatermark(Long.MAX_VALUE);

            assertEquals(List.of(List.of("a", "b")), harness.extractOutputValues().stream()
                    .map(g -> g.members().stream().map(AssembledTrajectory::trajectoryId).toList()).toList());
            assertEquals(List.of("c " + UnscoredReason.LATE), harness.getSideOutput(GroupTrajectories.UNSCORED)
                    .stream().map(r -> r.getValue().getTrajectoryId() + " " + r.getValue().getReason()).toList());
            assertEquals(0, stateLeft(harness), "state left behind");
            assertEquals(0, harness.numEventTimeTimers(), "timers left behind");
        }
    }

    private static KeyedOneInputStreamOperatorTestHarness<String, AssembledTrajectory, TrajectoryGroup> harness(
            boolean rocksdb) throws Exception {
        var harness = new KeyedOneInputStreamOperatorTestHarness<>(
                new KeyedProcessOperator<>(new GroupTrajectories(conf())), AssembledTrajectory::taskId,
                StringKeys.TYPE);
        if (rocksdb) {
            harness.setStateBackend(new EmbeddedRocksDBStateBackend());
        }
        return harness;
    }

    /**
     * A drain (the end of time's watermark) while a member is held: the group closes at its deadline, the member is
     * then LATE or opens the next round's group, which closes in the same drain, and nothing is left, state or timers.
     */
    @ParameterizedTest(name = "RocksDB {0}, started after the deadline {1}")
    @CsvSource({"false, false", "false, true", "true, false", "true, true"})
    void aDrainWithAHeldMemberLeavesNothing(boolean rocksdb, boolean startedAfterTheDeadline) throws Exception {
        AssembledTrajectory a = trajectory("a", "g1", 3, 1.0, 1);
        AssembledTrajectory c = trajectory("c", "g1", 3, 0.0, 1);
        if (startedAfterTheDeadline) {
            c = startedAt(c, DEADLINE + 100);
        }
        long cCompleted = DEADLINE + 400;

        Outputs live = run(rocksdb, List.of(new Send(a, 100), new Advance(DEADLINE), new Send(c, cCompleted)));
        Outputs backfill = run(rocksdb, List.of(new Send(a, 100), new Send(c, cCompleted)));

        assertEquals(startedAfterTheDeadline ? List.of("[a] baseline 0.0", "[c] baseline 1.0")
                : List.of("[a] baseline 0.0"), live.groups());
        assertEquals(startedAfterTheDeadline ? List.of() : List.of("c " + UnscoredReason.LATE), reasons(live));
        assertSameAsLive(live, backfill);
    }
}
