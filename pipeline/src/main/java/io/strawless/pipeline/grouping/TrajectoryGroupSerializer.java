package io.strawless.pipeline.grouping;

import io.strawless.connectors.serde.NetworkSerializer;
import io.strawless.pipeline.assembly.AssembledTrajectory;
import io.strawless.pipeline.assembly.AssembledTrajectorySerializer;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import org.apache.flink.api.common.typeinfo.TypeInformation;
import org.apache.flink.core.memory.DataInputView;
import org.apache.flink.core.memory.DataOutputView;

/** Moves a {@link TrajectoryGroup} from grouping to scoring: its members as {@link AssembledTrajectorySerializer} writes them. */
public final class TrajectoryGroupSerializer extends NetworkSerializer<TrajectoryGroup> {

    private static final long serialVersionUID = 1L;

    public static final TypeInformation<TrajectoryGroup> TYPE_INFO =
            NetworkSerializer.typeInfo(TrajectoryGroup.class, new TrajectoryGroupSerializer());

    private final AssembledTrajectorySerializer members = new AssembledTrajectorySerializer();

    @Override
    protected NetworkSerializer<TrajectoryGroup> create() {
        return new TrajectoryGroupSerializer();
    }

    @Override
    public void serialize(TrajectoryGroup group, DataOutputView out) throws IOException {
        out.writeDouble(group.baseline());
        out.writeInt(group.members().size());
        for (AssembledTrajectory member : group.members()) {
            members.serialize(member, out);
        }
    }

    @Override
    public TrajectoryGroup deserialize(DataInputView in) throws IOException {
        double baseline = in.readDouble();
        int count = in.readInt();
        List<AssembledTrajectory> list = new ArrayList<>(count);
        for (int i = 0; i < count; i++) {
            list.add(members.deserialize(in));
        }
        return new TrajectoryGroup(list, baseline);
    }
}
