package io.strawless.pipeline.assembly;

import io.strawless.connectors.serde.EncodedSteps;
import io.strawless.connectors.serde.NetworkRecords;
import io.strawless.connectors.serde.NetworkSerializer;
import io.strawless.connectors.serde.StepEventCodec;
import io.strawless.schemas.OffsetRange;
import io.strawless.schemas.OutcomeEvent;
import io.strawless.schemas.StepEvent;
import io.strawless.schemas.VerifierSignal;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import org.apache.flink.api.common.typeinfo.TypeInformation;
import org.apache.flink.core.memory.DataInputView;
import org.apache.flink.core.memory.DataOutputView;
import org.apache.flink.types.StringValue;

/**
 * Moves an {@link AssembledTrajectory} between tasks (assembly to grouping, and inside every group to
 * scoring): the steps with {@link StepEventCodec}, the one outcome and the few verdicts and offset ranges
 * with {@link NetworkRecords}. The POJO serializer Flink picks for the record wrote each step with Avro's reflective
 * writer, which profiled as the job's largest cost.
 */
public final class AssembledTrajectorySerializer extends NetworkSerializer<AssembledTrajectory> {

    private static final long serialVersionUID = 1L;

    public static final TypeInformation<AssembledTrajectory> TYPE_INFO =
            NetworkSerializer.typeInfo(AssembledTrajectory.class, new AssembledTrajectorySerializer());

    @Override
    protected NetworkSerializer<AssembledTrajectory> create() {
        return new AssembledTrajectorySerializer();
    }

    @Override
    public void serialize(AssembledTrajectory t, DataOutputView out) throws IOException {
        StringValue.writeString(t.trajectoryId(), out);
        StringValue.writeString(t.agentId(), out);
        StringValue.writeString(t.taskId(), out);
        StringValue.writeString(t.groupId(), out);
        out.writeInt(t.groupSize());
        out.writeInt(t.steps().size());
        if (t.steps() instanceof EncodedSteps encoded) { // as they left the assembler's state: copied, not encoded
            for (int i = 0; i < encoded.size(); i++) {
                steps().write(encoded.encoded(i), out);
            }
        } else {
            for (StepEvent step : t.steps()) {
                steps().write(step, out);
            }
        }
        NetworkRecords.write(t.outcome(), out);
        out.writeInt(t.verdicts().size());
        for (VerifierSignal verdict : t.verdicts()) {
            NetworkRecords.write(verdict, out);
        }
        out.writeInt(t.lineage().size());
        for (OffsetRange range : t.lineage()) {
            NetworkRecords.write(range, out);
        }
        out.writeBoolean(t.outcomeTimedOut());
        out.writeBoolean(t.verifiersTimedOut());
    }

    @Override
    public AssembledTrajectory deserialize(DataInputView in) throws IOException {
        String trajectoryId = StringValue.readString(in);
        String agentId = StringValue.readString(in);
        String taskId = StringValue.readString(in);
        String groupId = StringValue.readString(in);
        int groupSize = in.readInt();
        int stepCount = in.readInt();
        // Kept encoded: the grouping stage passes them on untouched, and scoring decodes each one once.
        List<byte[]> encoded = new ArrayList<>(stepCount);
        for (int i = 0; i < stepCount; i++) {
            encoded.add(steps().readEncoded(in));
        }
        List<StepEvent> steps = new EncodedSteps(encoded);
        OutcomeEvent outcome = NetworkRecords.readOutcome(in);
        int verdictCount = in.readInt();
        List<VerifierSignal> verdictList = new ArrayList<>(verdictCount);
        for (int i = 0; i < verdictCount; i++) {
            verdictList.add(NetworkRecords.readVerdict(in));
        }
        int rangeCount = in.readInt();
        List<OffsetRange> lineage = new ArrayList<>(rangeCount);
        for (int i = 0; i < rangeCount; i++) {
            lineage.add(NetworkRecords.readOffsetRange(in));
        }
        boolean outcomeTimedOut = in.readBoolean();
        boolean verifiersTimedOut = in.readBoolean();
        return new AssembledTrajectory(trajectoryId, agentId, taskId, groupId, groupSize, steps, outcome, verdictList,
                lineage, outcomeTimedOut, verifiersTimedOut);
    }
}
