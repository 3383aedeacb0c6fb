package io.strawless.pipeline;

import static io.strawless.pipeline.RoundTrip.roundTrip;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotSame;

import io.strawless.connectors.serde.EncodedSteps;
import io.strawless.connectors.serde.StepEventCodec;
import io.strawless.pipeline.assembly.AssembledTrajectory;
import io.strawless.pipeline.assembly.AssembledTrajectorySerializer;
import io.strawless.pipeline.grouping.TrajectoryGroup;
import io.strawless.pipeline.grouping.TrajectoryGroupSerializer;
import io.strawless.schemas.OffsetRange;
import io.strawless.schemas.StepEvent;
import java.util.ArrayList;
import java.util.List;
import org.apache.flink.api.common.serialization.SerializerConfigImpl;
import org.apache.flink.api.common.typeutils.TypeSerializer;
import org.junit.jupiter.api.Test;

/** The serializers of the edges between keyed stages carry trajectories and groups whole. */
class NetworkSerializersTest {

    @Test
    void anAssembledTrajectoryCrossesWhole() throws Exception {
        AssembledTrajectory withEverything = new AssembledTrajectory("t-1", "agent-1", "task-1", "g-1", 4,
                Events.trajectory("t-1", "g-1", 4, 1.0, 3).steps(), Events.outcome("t-1", 1.0, 2, 100),
                List.of(Events.verdict("t-1", 0, "lint", 0.5, 90), Events.verdict("t-1", 2, "tests", 1.0, 95)),
                List.of(new OffsetRange("agent.steps", 3, 10L, 12L), new OffsetRange("agent.outcomes", 0, 7L, 7L)),
                false);
        AssembledTrajectory ungroupedWithoutOutcome = new AssembledTrajectory("t-2", "agent-1", "task-1", null, 0,
                Events.trajectory("t-2", null, 0, 0.0, 1).steps(), Events.outcome("t-2", 0.0, 0, 100), List.of(),
                List.of(), true);
        AssembledTrajectory withoutItsRequiredVerdicts = new AssembledTrajectory("t-3", "agent-1", "task-1", "g-1", 4,
                Events.trajectory("t-3", "g-1", 4, 1.0, 2).steps(), Events.outcome("t-3", 1.0, 0, 100),
                List.of(Events.verdict("t-3", 0, "prm", 0.5, 90)), List.of(), false, true);

        // As the assembler emits it: the steps still encoded as they waited in state, copied to the network as bytes.
        StepEventCodec codec = new StepEventCodec();
        List<byte[]> encoded = new ArrayList<>();
        for (StepEvent step : withEverything.steps()) {
            encoded.add(codec.encode(step));
        }
        AssembledTrajectory fromState = new AssembledTrajectory("t-1", "agent-1", "task-1", "g-1", 4,
                new EncodedSteps(encoded), withEverything.outcome(), withEverything.verdicts(), withEverything.lineage(),
                false);
        assertEquals(withEverything, fromState, "the encoded steps read as the steps");

        TypeSerializer<AssembledTrajectory> serializer =
                AssembledTrajectorySerializer.TYPE_INFO.createSerializer(new SerializerConfigImpl());
        for (AssembledTrajectory trajectory : List.of(withEverything, ungroupedWithoutOutcome, withoutItsRequiredVerdicts,
                fromState)) {
            assertEquals(trajectory, roundTrip(serializer, trajectory));
            AssembledTrajectory copy = serializer.copy(trajectory);
            assertEquals(trajectory, copy);
            assertNotSame(trajectory.steps().get(0), copy.steps().get(0));
        }
    }

    @Test
    void aGroupCrossesWithItsMembersInOrder() throws Exception {
        TrajectoryGroup group = new TrajectoryGroup(List.of(
                Events.trajectory("a", "g", 3, 1.0, 5),
                Events.trajectory("b", "g", 3, 0.0, 5),
                Events.trajectory("c", "g", 3, 0.5, 6)), 0.25);
        TypeSerializer<TrajectoryGroup> serializer =
                TrajectoryGroupSerializer.TYPE_INFO.createSerializer(new SerializerConfigImpl());

        assertEquals(group, roundTrip(serializer, group));
        assertEquals(group, serializer.duplicate().copy(group));
    }
}
