package io.strawless.pipeline;

import static io.strawless.pipeline.Events.in;
import static io.strawless.pipeline.Events.step;
import static io.strawless.pipeline.Events.trajectory;
import static org.junit.jupiter.api.Assertions.assertEquals;

import io.strawless.connectors.serde.InputRecord;
import io.strawless.pipeline.assembly.AssembleTrajectory;
import io.strawless.pipeline.assembly.AssembledTrajectory;
import io.strawless.pipeline.credit.CreditOptions;
import io.strawless.pipeline.credit.Estimator;
import io.strawless.pipeline.grouping.GroupTrajectories;
import io.strawless.pipeline.grouping.TrajectoryGroup;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.runtime.checkpoint.OperatorSubtaskState;
import org.apache.flink.streaming.runtime.streamrecord.StreamRecord;
import org.apache.flink.streaming.util.KeyedOneInputStreamOperatorTestHarness;
import org.junit.jupiter.api.Test;

/**
 * The gauges of open work (assembly.openTrajectories, grouping.pendingGroups) follow the state as work opens and
 * closes, and are recounted from the restored state when a task starts again.
 */
class OpenWorkTest {

    @Test
    void openTrajectoriesAreCountedAndRecountedAfterARestore() throws Exception {
        OperatorSubtaskState snapshot;
        AssembleTrajectory before = new AssembleTrajectory(new Configuration());
        try (var harness = assembly(before)) {
            harness.open();
            for (String id : new String[] {"a", "b", "c"}) {
                harness.processElement(new StreamRecord<>(in(step(id, 0, 1_000).build()), 1_000));
            }
            harness.processElement(new StreamRecord<>(in(step("a", 1, 1_001).build()), 1_001));
            assertEquals(3, before.openWork().getValue(), "a second step opens nothing");
            snapshot = harness.snapshot(1, 2_000);
        }

        AssembleTrajectory after = new AssembleTrajectory(new Configuration());
        try (var harness = assembly(after)) {
            harness.initializeState(snapshot);
            harness.open();
            assertEquals(3, after.openWork().getValue(), "recounted from the restored state");
            harness.processWatermark(Long.MAX_VALUE - 1); // every trajectory times out
            assertEquals(0, after.openWork().getValue());
        }
    }

    @Test
    void pendingGroupsAreCountedAndRecountedAfterARestore() throws Exception {
        Configuration conf = new Configuration();
        conf.set(CreditOptions.ESTIMATOR, Estimator.GRPO);
        OperatorSubtaskState snapshot;
        GroupTrajectories before = new GroupTrajectories(conf);
        try (var harness = grouping(before)) {
            harness.open();
            harness.processElement(new StreamRecord<>(trajectory("t1", "g1", 2, 1.0, 1), 100));
            harness.processElement(new StreamRecord<>(trajectory("t2", "g2", 2, 1.0, 1), 100));
            harness.processElement(new StreamRecord<>(trajectory("t3", "g3", 3, 1.0, 1), 100));
            assertEquals(3, before.openWork().getValue());
            snapshot = harness.snapshot(1, 200);
        }

        GroupTrajectories after = new GroupTrajectories(conf);
        try (var harness = grouping(after)) {
            harness.initializeState(snapshot);
            harness.open();
            assertEquals(3, after.openWork().getValue(), "recounted from the restored state");
            harness.processElement(new StreamRecord<>(trajectory("t4", "g1", 2, 0.0, 1), 150));
            assertEquals(2, after.openWork().getValue(), "g1 closed by size");
            harness.processWatermark(Long.MAX_VALUE - 1);
            assertEquals(0, after.openWork().getValue(), "the others closed by their timeout");
        }
    }

    private static KeyedOneInputStreamOperatorTestHarness<String, InputRecord, AssembledTrajectory> assembly(
            AssembleTrajectory function) throws Exception {
        return new KeyedOneInputStreamOperatorTestHarness<>(
                new DrainingKeyedProcessOperator<>(function), InputRecord::trajectoryId, StringKeys.TYPE);
    }

    private static KeyedOneInputStreamOperatorTestHarness<String, AssembledTrajectory, TrajectoryGroup> grouping(
            GroupTrajectories function) throws Exception {
        return new KeyedOneInputStreamOperatorTestHarness<>(
                new DrainingKeyedProcessOperator<>(function), AssembledTrajectory::taskId, StringKeys.TYPE);
    }
}
