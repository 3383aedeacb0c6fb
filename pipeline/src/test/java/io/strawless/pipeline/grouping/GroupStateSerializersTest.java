package io.strawless.pipeline.grouping;

import static io.strawless.pipeline.Events.trajectory;
import static io.strawless.pipeline.RoundTrip.roundTrip;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNotSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.strawless.connectors.serde.EncodedSteps;
import io.strawless.connectors.serde.StepEventCodec;
import io.strawless.pipeline.DrainingKeyedProcessOperator;
import io.strawless.pipeline.Events;
import io.strawless.pipeline.JobOptions;
import io.strawless.pipeline.StringKeys;
import io.strawless.pipeline.assembly.AssembledTrajectory;
import io.strawless.pipeline.batching.ScoreAndBatch;
import io.strawless.pipeline.batching.ScoreAndBatch.PendingBatch;
import io.strawless.pipeline.credit.CreditOptions;
import io.strawless.pipeline.credit.Estimator;
import io.strawless.pipeline.grouping.GroupTrajectories.HeldMember;
import io.strawless.pipeline.grouping.GroupTrajectories.PendingGroup;
import io.strawless.schemas.OffsetRange;
import io.strawless.schemas.ScoredTrajectory;
import io.strawless.schemas.StepEvent;
import io.strawless.schemas.TrainingBatch;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.apache.flink.api.common.serialization.SerializerConfigImpl;
import org.apache.flink.api.common.state.ListStateDescriptor;
import org.apache.flink.api.common.state.MapStateDescriptor;
import org.apache.flink.api.common.state.ValueStateDescriptor;
import org.apache.flink.api.common.typeinfo.TypeInformation;
import org.apache.flink.api.common.typeinfo.Types;
import org.apache.flink.api.common.typeutils.TypeSerializerSnapshot;
import org.apache.flink.api.common.typeutils.base.StringSerializer;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.runtime.checkpoint.OperatorSubtaskState;
import org.apache.flink.runtime.state.StateBackend;
import org.apache.flink.runtime.state.VoidNamespace;
import org.apache.flink.runtime.state.hashmap.HashMapStateBackend;
import org.apache.flink.state.rocksdb.EmbeddedRocksDBStateBackend;
import org.apache.flink.streaming.api.functions.KeyedProcessFunction;
import org.apache.flink.streaming.runtime.streamrecord.StreamRecord;
import org.apache.flink.streaming.util.KeyedOneInputStreamOperatorTestHarness;
import org.apache.flink.util.Collector;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Groups wait in state in a format of their own: read back whole, and a savepoint in an earlier version of that
 * format is migrated on the heap and on RocksDB, never refused or misread. Savepoints of the layout before it (Flink's
 * POJO serializer) are restored from what that release really wrote, in {@link EarlierReleaseGroupStateTest}.
 */
class GroupStateSerializersTest {

    /** A member as it arrives from the network: its steps still encoded, with verdicts and lineage. */
    private static AssembledTrajectory member(String id, String group, double reward) throws Exception {
        AssembledTrajectory t = trajectory(id, group, 3, reward, 4);
        StepEventCodec codec = new StepEventCodec();
        List<byte[]> encoded = new ArrayList<>();
        for (StepEvent step : t.steps()) {
            encoded.add(codec.encode(step));
        }
        return new AssembledTrajectory(id, t.agentId(), t.taskId(), group, 3, new EncodedSteps(encoded), t.outcome(),
                List.of(Events.verdict(id, 0, "lint", 0.5, 90)), List.of(new OffsetRange("agent.steps", 1, 5L, 7L)),
                false);
    }

    /** {@code t} as scored after its required verifiers timed out. */
    private static AssembledTrajectory verifiersTimedOut(AssembledTrajectory t) {
        return new AssembledTrajectory(t.trajectoryId(), t.agentId(), t.taskId(), t.groupId(), t.groupSize(), t.steps(),
                t.outcome(), t.verdicts(), t.lineage(), t.outcomeTimedOut(), true);
    }

    /** {@code members} as a format without {@link AssembledTrajectory#verifiersTimedOut} reads them. */
    private static List<AssembledTrajectory> withoutVerifiersTimedOut(List<AssembledTrajectory> members) {
        return members.stream().map(t -> new AssembledTrajectory(t.trajectoryId(), t.agentId(), t.taskId(), t.groupId(),
                t.groupSize(), t.steps(), t.outcome(), t.verdicts(), t.lineage(), t.outcomeTimedOut())).toList();
    }

    @Test
    void groupsReadBackWhole() throws Exception {
        AssembledTrajectory decoded = trajectory("d", "g", 3, 0.0, 2); // steps as objects, not encodings
        AssembledTrajectory ungroupedTimedOut = new AssembledTrajectory("u", "agent-1", "task-1", null, 0,
                trajectory("u", null, 0, 0.0, 1).steps(), Events.outcome("u", 0.0, 0, 100), List.of(), List.of(), true);
        TrajectoryGroup group = new TrajectoryGroup(List.of(member("a", "g", 1.0), decoded, ungroupedTimedOut,
                verifiersTimedOut(member("v", "g", 0.5))), 0.25);
        var groups = new GroupStateSerializers.OfTrajectoryGroup();
        TrajectoryGroup back = roundTrip(groups, group);
        assertEquals(group, back);
        assertInstanceOf(EncodedSteps.class, back.members().get(1).steps(), "steps come back as their encodings");
        assertEquals(group, groups.duplicate().copy(group));
        assertNotSame(group.members().get(0).outcome(), groups.copy(group).members().get(0).outcome());
        // Format version 1, which releases before the verifier-timeout mark wrote, has all else.
        assertEquals(new TrajectoryGroup(withoutVerifiersTimedOut(group.members()), 0.25),
                roundTrip(new GroupStateSerializers.OfTrajectoryGroup(1), group));

        PendingGroup pending = new PendingGroup(new ArrayList<>(List.of(member("a", "g", 1.0),
                verifiersTimedOut(member("b", "g", 0.0)))), 4, 12_345L, new ArrayList<>(List.of("stale")));
        var pendingGroups = new GroupStateSerializers.OfPendingGroup();
        assertEquals(pending, roundTrip(pendingGroups, pending));
        PendingGroup copy = pendingGroups.copy(pending);
        copy.members().add(member("c", "g", 1.0)); // grouping adds members to what it read: a copy is its own
        copy.diverted().add("other");
        assertEquals(2, pending.members().size());
        assertEquals(1, pending.diverted().size());
        // Format version 2, which releases before the verifier-timeout mark wrote, has all else; version 1, which
        // releases before diverted members were counted wrote, has all else but those too.
        List<AssembledTrajectory> unmarked = withoutVerifiersTimedOut(pending.members());
        assertEquals(new PendingGroup(unmarked, 4, 12_345L, pending.diverted()),
                roundTrip(new GroupStateSerializers.OfPendingGroup(2), pending));
        PendingGroup version1 = roundTrip(new GroupStateSerializers.OfPendingGroup(1), pending);
        assertEquals(new PendingGroup(unmarked, 4, 12_345L, List.of()), version1);
        version1.diverted().add("stale"); // read back into a list grouping can add to
    }

    /** A member held past its group's deadline comes back with its event time, and its steps as their encodings. */
    @Test
    void heldMembersReadBackWhole() throws Exception {
        var held = new GroupStateSerializers.OfHeldMember();
        for (AssembledTrajectory t : List.of(member("a", "g", 1.0), verifiersTimedOut(member("v", "g", 0.5)),
                trajectory("d", "g", 3, 0.0, 2))) {
            HeldMember value = new HeldMember(1_500, t);
            HeldMember back = roundTrip(held, value);
            assertEquals(value, back);
            assertInstanceOf(EncodedSteps.class, back.trajectory().steps(), "steps come back as their encodings");
        }
    }

    @Test
    void aSnapshotAcceptsItsOwnStateAndMigratesThePojoLayoutOnly() {
        TypeSerializerSnapshot<TrajectoryGroup> current = new GroupStateSerializers.OfTrajectoryGroup().snapshotConfiguration();
        assertTrue(current.resolveSchemaCompatibility(current).isCompatibleAsIs());
        TypeSerializerSnapshot<TrajectoryGroup> pojo = TypeInformation.of(TrajectoryGroup.class)
                .createSerializer(new SerializerConfigImpl()).snapshotConfiguration();
        assertTrue(current.resolveSchemaCompatibility(pojo).isCompatibleAfterMigration());
        TypeSerializerSnapshot<TrajectoryGroup> network =
                TrajectoryGroupSerializer.TYPE_INFO.createSerializer(new SerializerConfigImpl()).snapshotConfiguration();
        assertTrue(current.resolveSchemaCompatibility(network).isIncompatible(), "the network format is not state");
        assertTrue(current.resolveSchemaCompatibility(new GroupStateSerializers.OfTrajectoryGroup(1).snapshotConfiguration())
                .isCompatibleAfterMigration());
        assertTrue(current.resolveSchemaCompatibility(new GroupStateSerializers.OfTrajectoryGroup(3).snapshotConfiguration())
                .isIncompatible(), "a later release's format is not read");

        TypeSerializerSnapshot<PendingGroup> pending = new GroupStateSerializers.OfPendingGroup().snapshotConfiguration();
        assertTrue(pending.resolveSchemaCompatibility(pending).isCompatibleAsIs());
        for (int earlier : List.of(1, 2)) {
            assertTrue(pending.resolveSchemaCompatibility(
                    new GroupStateSerializers.OfPendingGroup(earlier).snapshotConfiguration()).isCompatibleAfterMigration());
        }
        assertTrue(pending.resolveSchemaCompatibility(new GroupStateSerializers.OfPendingGroup(4).snapshotConfiguration())
                .isIncompatible(), "a later release's format is not read");
    }

    private static StateBackend backend(String name) {
        return name.equals("rocksdb") ? new EmbeddedRocksDBStateBackend() : new HashMapStateBackend();
    }

    /**
     * The scoring stage's pending batch as an earlier release kept it, in format version 1 of
     * {@link GroupStateSerializers.OfTrajectoryGroup}; the new stage restores it and scores it. (The POJO layout before
     * it: {@link EarlierReleaseGroupStateTest}.)
     */
    @ParameterizedTest
    @ValueSource(strings = {"hashmap", "rocksdb"})
    void aPendingBatchOfAnEarlierReleaseIsScoredAfterARestore(String backendName) throws Exception {
        var earlierRelease = new KeyedProcessFunction<Integer, TrajectoryGroup, TrainingBatch>() {
            @Override
            public void processElement(TrajectoryGroup group, Context ctx, Collector<TrainingBatch> out) throws Exception {
                getRuntimeContext().getListState(
                        new ListStateDescriptor<>("pending", new GroupStateSerializers.OfTrajectoryGroup(1))).add(group);
                getRuntimeContext().getState(new ValueStateDescriptor<>("pending-batch", PendingBatch.class))
                        .update(new PendingBatch(group.trajectoryCount(), 500, 1_000));
                ctx.timerService().registerProcessingTimeTimer(500);
            }
        };
        TrajectoryGroup group = new TrajectoryGroup(List.of(member("a", "g", 1.0), member("b", "g", 0.0)), 0.5);
        OperatorSubtaskState snapshot;
        try (var h = new KeyedOneInputStreamOperatorTestHarness<>(
                new DrainingKeyedProcessOperator<>(earlierRelease), (TrajectoryGroup g) -> 0, Types.INT)) {
            h.setStateBackend(backend(backendName));
            h.setProcessingTime(0);
            h.open();
            h.processElement(new StreamRecord<>(group));
            snapshot = h.snapshot(1, 1);
        }

        Configuration conf = new Configuration();
        conf.set(JobOptions.BATCH_MAX_TRAJECTORIES, 100);
        conf.set(JobOptions.BATCH_MAX_LATENCY, Duration.ofMillis(500));
        conf.set(CreditOptions.BACKEND, CreditOptions.Backend.JAVA);
        try (var restored = new KeyedOneInputStreamOperatorTestHarness<>(
                new DrainingKeyedProcessOperator<>(new ScoreAndBatch(conf)), (TrajectoryGroup g) -> 0, Types.INT)) {
            restored.setStateBackend(backend(backendName));
            restored.initializeState(snapshot);
            restored.setProcessingTime(0);
            restored.open();
            restored.setProcessingTime(500);
            List<TrainingBatch> batches = restored.extractOutputValues();
            assertEquals(1, batches.size());
            List<ScoredTrajectory> scored = batches.get(0).getTrajectories();
            assertEquals(List.of("a", "b"), scored.stream().map(ScoredTrajectory::getTrajectoryId).toList());
            assertEquals(3, scored.get(0).getSteps().size(), "every step migrated");
            var backend = restored.getOperator().getKeyedStateBackend(); // asked by name, which RocksDB answers
            for (String state : List.of("pending", "pending-batch")) {
                try (var keys = backend.getKeys(state, VoidNamespace.INSTANCE)) {
                    assertEquals(0, keys.count(), state + " cleared");
                }
            }
        }
    }

    /**
     * A group waiting for members in an earlier release's layout (format version 1 or 2 of
     * {@link GroupStateSerializers.OfPendingGroup}) closes when its last member arrives after a restore. (The POJO
     * layout before them: {@link EarlierReleaseGroupStateTest}.)
     */
    @ParameterizedTest
    @CsvSource({"hashmap, version1", "rocksdb, version1", "hashmap, version2", "rocksdb, version2"})
    void aPendingGroupOfAnEarlierReleaseClosesAfterARestore(String backendName, String layout) throws Exception {
        var earlierRelease = new KeyedProcessFunction<String, AssembledTrajectory, TrajectoryGroup>() {
            @Override
            public void processElement(AssembledTrajectory t, Context ctx, Collector<TrajectoryGroup> out) throws Exception {
                var pending = getRuntimeContext().getMapState(new MapStateDescriptor<>("pending-groups",
                        StringSerializer.INSTANCE,
                        new GroupStateSerializers.OfPendingGroup(layout.equals("version1") ? 1 : 2)));
                PendingGroup group = pending.get(t.groupId());
                if (group == null) {
                    group = new PendingGroup(new ArrayList<>(), t.groupSize(), 10_000, new ArrayList<>());
                    ctx.timerService().registerEventTimeTimer(10_000);
                }
                group.members().add(t);
                pending.put(t.groupId(), group);
            }
        };
        OperatorSubtaskState snapshot;
        try (var h = new KeyedOneInputStreamOperatorTestHarness<>(
                new DrainingKeyedProcessOperator<>(earlierRelease), AssembledTrajectory::taskId, StringKeys.TYPE)) {
            h.setStateBackend(backend(backendName));
            h.open();
            h.processElement(new StreamRecord<>(member("a", "g", 1.0), 100));
            h.processElement(new StreamRecord<>(member("b", "g", 0.0), 100));
            snapshot = h.snapshot(1, 1);
        }

        Configuration grpo = new Configuration();
        grpo.set(CreditOptions.ESTIMATOR, Estimator.GRPO); // group-relative: members wait for their group
        GroupTrajectories grouping = new GroupTrajectories(grpo);
        try (var restored = new KeyedOneInputStreamOperatorTestHarness<>(
                new DrainingKeyedProcessOperator<>(grouping), AssembledTrajectory::taskId, StringKeys.TYPE)) {
            restored.setStateBackend(backend(backendName));
            restored.initializeState(snapshot);
            restored.open();
            assertEquals(1, grouping.openWork().getValue(), "the pending group recounted");
            restored.processElement(new StreamRecord<>(member("c", "g", 0.5), 200));
            List<TrajectoryGroup> closed = restored.extractOutputValues();
            assertEquals(1, closed.size(), "closed by size with the members from before the restore");
            assertEquals(List.of("a", "b", "c"),
                    closed.get(0).members().stream().map(AssembledTrajectory::trajectoryId).toList());
            assertEquals(member("a", "g", 1.0), closed.get(0).members().get(0), "read back whole");
        }
    }
}
