package io.strawless.pipeline.grouping;

import io.strawless.connectors.serde.EncodedSteps;
import io.strawless.connectors.serde.StateSerializer;
import io.strawless.connectors.serde.StringValues;
import io.strawless.connectors.serde.VersionedStateSerializer;
import io.strawless.pipeline.assembly.AssembledTrajectory;
import io.strawless.pipeline.grouping.GroupTrajectories.HeldMember;
import io.strawless.pipeline.grouping.GroupTrajectories.PendingGroup;
import io.strawless.schemas.OffsetRange;
import io.strawless.schemas.OutcomeEvent;
import io.strawless.schemas.SchemaHistory;
import io.strawless.schemas.VerifierSignal;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;
import org.apache.avro.message.BinaryMessageDecoder;
import org.apache.flink.core.memory.DataInputView;
import org.apache.flink.core.memory.DataOutputView;
import org.apache.flink.types.StringValue;

/**
 * How whole trajectories wait in keyed state: the groups that wait for their members ({@link GroupTrajectories}),
 * the members held past their group's deadline there ({@link HeldMember}), and the groups that wait for their batch
 * ({@code ScoreAndBatch}).
 *
 * <p>Why not Flink's POJO serializer, which kept them before: it wrote every step, outcome and verdict with Avro's
 * generic writer and read them back with its generic reader. On RocksDB that happens on every state access (a
 * group is read and written again for each member that joins it), and profiled it was most of the scoring stage's
 * time. Here the steps are written as the encodings they travel as ({@link EncodedSteps}), so a group is read
 * and written as bytes and its steps are decoded only where a stage reads them. Savepoints of the POJO layout
 * migrate ({@link StateSerializer}).
 *
 * <p>A trajectory as a group's member: its ids (trajectory, agent, task, group or null), the group size, then its
 * steps, outcome, verdicts and lineage each in Avro single-object encoding, then whether its outcome timed out and
 * (from format version 2 of {@link OfTrajectoryGroup} and 3 of {@link OfPendingGroup}) whether its required
 * verifiers did.
 * It looks like {@code AssembledTrajectorySerializer}'s on purpose, and differs on purpose: that one carries a
 * trajectory between tasks of one build (step bodies without their schema header, the rest field by field with
 * {@code NetworkRecords}, no schema named) and may change with any build; this one is read back by later builds and
 * after the schemas evolve.
 */
public final class GroupStateSerializers {

    // Records an earlier release kept (a savepoint of it) name an earlier schema version: decode with the history.
    private static final BinaryMessageDecoder<OutcomeEvent> OUTCOMES = SchemaHistory.decoder(OutcomeEvent.class);
    private static final BinaryMessageDecoder<VerifierSignal> VERDICTS = SchemaHistory.decoder(VerifierSignal.class);
    private static final BinaryMessageDecoder<OffsetRange> OFFSET_RANGES = SchemaHistory.decoder(OffsetRange.class);

    private GroupStateSerializers() {}

    /**
     * A group waiting for its batch in the scoring stage. Format version 2 added whether each member's required
     * verifiers timed out ({@link AssembledTrajectory#verifiersTimedOut}); a group of version 1 is read with none
     * that did.
     */
    public static final class OfTrajectoryGroup extends VersionedStateSerializer<TrajectoryGroup> {

        private static final long serialVersionUID = 1L;

        private static final int CURRENT_VERSION = 2;

        public OfTrajectoryGroup() {
            this(CURRENT_VERSION);
        }

        /** Reads and writes that version of the format: an earlier one restores the state of an earlier release. */
        OfTrajectoryGroup(int formatVersion) {
            super(CURRENT_VERSION, formatVersion);
        }

        @Override
        protected OfTrajectoryGroup ofVersion(int formatVersion) {
            return new OfTrajectoryGroup(formatVersion);
        }

        @Override
        public void serialize(TrajectoryGroup group, DataOutputView out) throws IOException {
            out.writeDouble(group.baseline());
            writeMembers(group.members(), formatVersion >= 2, out);
        }

        @Override
        public TrajectoryGroup deserialize(DataInputView in) throws IOException {
            double baseline = in.readDouble();
            return new TrajectoryGroup(readMembers(formatVersion >= 2, in), baseline);
        }
    }

    /**
     * A group waiting for its members in the grouping stage. Format version 2 added the members that went another way
     * ({@link PendingGroup#diverted}); a group of version 1 is read with none. Version 3 added whether each member's
     * required verifiers timed out ({@link AssembledTrajectory#verifiersTimedOut}); a group of version 1 or 2 is read
     * with none that did.
     */
    public static final class OfPendingGroup extends VersionedStateSerializer<PendingGroup> {

        private static final long serialVersionUID = 1L;

        private static final int CURRENT_VERSION = 3;

        public OfPendingGroup() {
            this(CURRENT_VERSION);
        }

        /** Reads and writes that version of the format: an earlier one restores the state of an earlier release. */
        OfPendingGroup(int formatVersion) {
            super(CURRENT_VERSION, formatVersion);
        }

        @Override
        protected OfPendingGroup ofVersion(int formatVersion) {
            return new OfPendingGroup(formatVersion);
        }

        @Override
        public void serialize(PendingGroup group, DataOutputView out) throws IOException {
            out.writeInt(group.expectedSize());
            out.writeLong(group.deadline());
            if (formatVersion >= 2) {
                out.writeInt(group.diverted().size());
                for (String trajectoryId : group.diverted()) {
                    StringValues.write(trajectoryId, out);
                }
            }
            writeMembers(group.members(), formatVersion >= 3, out);
        }

        @Override
        public PendingGroup deserialize(DataInputView in) throws IOException {
            int expectedSize = in.readInt();
            long deadline = in.readLong();
            List<String> diverted = new ArrayList<>();
            if (formatVersion >= 2) {
                for (int i = in.readInt(); i > 0; i--) {
                    diverted.add(StringValue.readString(in));
                }
            }
            return new PendingGroup(readMembers(formatVersion >= 3, in), expectedSize, deadline, diverted);
        }
    }

    /**
     * A member held past its group's deadline ({@link HeldMember}): its event time, then the member as a group keeps
     * it, with whether its required verifiers timed out. Version 1 is the first: an earlier release's savepoint has no
     * such state, and restores with none held.
     */
    public static final class OfHeldMember extends VersionedStateSerializer<HeldMember> {

        private static final long serialVersionUID = 1L;

        private static final int CURRENT_VERSION = 1;

        public OfHeldMember() {
            this(CURRENT_VERSION);
        }

        OfHeldMember(int formatVersion) {
            super(CURRENT_VERSION, formatVersion);
        }

        @Override
        protected OfHeldMember ofVersion(int formatVersion) {
            return new OfHeldMember(formatVersion);
        }

        @Override
        public void serialize(HeldMember held, DataOutputView out) throws IOException {
            out.writeLong(held.timestamp());
            writeMember(held.trajectory(), true, out);
        }

        @Override
        public HeldMember deserialize(DataInputView in) throws IOException {
            long timestamp = in.readLong();
            return new HeldMember(timestamp, readMember(true, in));
        }
    }

    /** {@code withVerifiersTimedOut}: the format version writes that flag (see the class comment). */
    private static void writeMembers(List<AssembledTrajectory> members, boolean withVerifiersTimedOut,
            DataOutputView out) throws IOException {
        out.writeInt(members.size());
        for (AssembledTrajectory t : members) {
            writeMember(t, withVerifiersTimedOut, out);
        }
    }

    private static void writeMember(AssembledTrajectory t, boolean withVerifiersTimedOut, DataOutputView out)
            throws IOException {
        StringValues.write(t.trajectoryId(), out);
        StringValues.write(t.agentId(), out);
        StringValues.write(t.taskId(), out);
        StringValues.write(t.groupId(), out);
        out.writeInt(t.groupSize());
        out.writeInt(t.steps().size());
        for (int i = 0; i < t.steps().size(); i++) {
            // As they arrived where they can (they mostly do): copied, not encoded again.
            writeBytes(t.steps() instanceof EncodedSteps encoded ? encoded.encoded(i)
                    : bytesOf(t.steps().get(i).toByteBuffer()), out);
        }
        writeBytes(bytesOf(t.outcome().toByteBuffer()), out);
        out.writeInt(t.verdicts().size());
        for (VerifierSignal verdict : t.verdicts()) {
            writeBytes(bytesOf(verdict.toByteBuffer()), out);
        }
        out.writeInt(t.lineage().size());
        for (OffsetRange range : t.lineage()) {
            writeBytes(bytesOf(range.toByteBuffer()), out);
        }
        out.writeBoolean(t.outcomeTimedOut());
        if (withVerifiersTimedOut) {
            out.writeBoolean(t.verifiersTimedOut());
        }
    }

    /** {@code withVerifiersTimedOut}: the format version has that flag; without it, it reads false. */
    private static List<AssembledTrajectory> readMembers(boolean withVerifiersTimedOut, DataInputView in)
            throws IOException {
        int count = in.readInt();
        List<AssembledTrajectory> members = new ArrayList<>(count);
        for (int m = 0; m < count; m++) {
            members.add(readMember(withVerifiersTimedOut, in));
        }
        return members;
    }

    private static AssembledTrajectory readMember(boolean withVerifiersTimedOut, DataInputView in) throws IOException {
        String trajectoryId = StringValue.readString(in);
        String agentId = StringValue.readString(in);
        String taskId = StringValue.readString(in);
        String groupId = StringValue.readString(in);
        int groupSize = in.readInt();
        int stepCount = in.readInt();
        List<byte[]> steps = new ArrayList<>(stepCount);
        for (int i = 0; i < stepCount; i++) {
            steps.add(readBytes(in));
        }
        OutcomeEvent outcome = OUTCOMES.decode(readBytes(in));
        int verdictCount = in.readInt();
        List<VerifierSignal> verdicts = new ArrayList<>(verdictCount);
        for (int i = 0; i < verdictCount; i++) {
            verdicts.add(VERDICTS.decode(readBytes(in)));
        }
        int rangeCount = in.readInt();
        List<OffsetRange> lineage = new ArrayList<>(rangeCount);
        for (int i = 0; i < rangeCount; i++) {
            lineage.add(OFFSET_RANGES.decode(readBytes(in)));
        }
        boolean outcomeTimedOut = in.readBoolean();
        boolean verifiersTimedOut = withVerifiersTimedOut && in.readBoolean();
        return new AssembledTrajectory(trajectoryId, agentId, taskId, groupId, groupSize,
                new EncodedSteps(steps), outcome, verdicts, lineage, outcomeTimedOut, verifiersTimedOut);
    }

    private static void writeBytes(byte[] bytes, DataOutputView out) throws IOException {
        out.writeInt(bytes.length);
        out.write(bytes);
    }

    private static byte[] readBytes(DataInputView in) throws IOException {
        byte[] bytes = new byte[in.readInt()];
        in.readFully(bytes);
        return bytes;
    }

    private static byte[] bytesOf(ByteBuffer buffer) {
        byte[] bytes = new byte[buffer.remaining()];
        buffer.get(bytes);
        return bytes;
    }
}
