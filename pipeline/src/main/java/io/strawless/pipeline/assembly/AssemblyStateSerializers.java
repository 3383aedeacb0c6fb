package io.strawless.pipeline.assembly;

import io.strawless.connectors.serde.StateSerializer;
import io.strawless.connectors.serde.VersionedStateSerializer;
import io.strawless.pipeline.StringKeys;
import io.strawless.pipeline.assembly.AssemblyProgress.Phase;
import java.io.IOException;
import org.apache.flink.core.memory.DataInputView;
import org.apache.flink.core.memory.DataOutputView;
import org.apache.flink.types.StringValue;

/**
 * The assembler's progress and finished markers as its keyed state keeps them, in a format of their own.
 *
 * <p>Flink's POJO serializer, which wrote them before, reads and writes a record's fields by reflection, boxing each
 * primitive, and builds the record through a reflective constructor call. On RocksDB the progress is read and
 * written once per input (per key and mini-batch), and profiled with inputs from 5,000 agents that serializer was
 * 15% of the assembler's Java samples. State in the POJO layout is migrated when a savepoint is restored
 * ({@link StateSerializer}).
 */
public final class AssemblyStateSerializers {

    private AssemblyStateSerializers() {}

    /**
     * An open trajectory's {@link AssemblyProgress}. Format version 2 adds its
     * {@link AssemblyProgress#trajectoryFields} after the terminal index; version 1, which the releases before wrote,
     * is read (without them) and migrated.
     */
    public static final class OfProgress extends VersionedStateSerializer<AssemblyProgress> {

        private static final long serialVersionUID = 1L;

        /** Read by ordinal: a build that reorders or adds phases must raise {@link #formatVersion}. */
        private static final Phase[] PHASES = Phase.values();

        private static final int CURRENT_VERSION = 2;

        public OfProgress() {
            this(CURRENT_VERSION);
        }

        /** Reads and writes that version of the format: an earlier one restores the state of an earlier release. */
        OfProgress(int formatVersion) {
            super(CURRENT_VERSION, formatVersion);
        }

        @Override
        protected OfProgress ofVersion(int formatVersion) {
            return new OfProgress(formatVersion);
        }

        @Override
        public void serialize(AssemblyProgress p, DataOutputView out) throws IOException {
            out.writeInt(p.distinctSteps());
            out.writeInt(p.receivedSteps().length);
            for (long word : p.receivedSteps()) {
                out.writeLong(word);
            }
            out.writeInt(p.maxIndex());
            out.writeInt(p.terminalIndex());
            if (formatVersion >= 2) {
                writeNullableBytes(p.trajectoryFields(), out);
            }
            writeNullableBytes(p.encodedOutcome(), out);
            out.writeInt(p.verdictCount());
            out.writeLong(p.latestEventTime());
            out.writeByte(p.phase().ordinal());
            out.writeLong(p.deadline());
            out.writeLong(p.timer());
            InputLineage lineage = p.lineage();
            out.writeInt(lineage.topics().length);
            for (int i = 0; i < lineage.topics().length; i++) {
                StringKeys.write(lineage.topics()[i], out);
                out.writeInt(lineage.partitions()[i]);
                out.writeLong(lineage.firstOffsets()[i]);
                out.writeLong(lineage.lastOffsets()[i]);
            }
        }

        @Override
        public AssemblyProgress deserialize(DataInputView in) throws IOException {
            int distinctSteps = in.readInt();
            long[] receivedSteps = new long[in.readInt()];
            for (int i = 0; i < receivedSteps.length; i++) {
                receivedSteps[i] = in.readLong();
            }
            int maxIndex = in.readInt();
            int terminalIndex = in.readInt();
            byte[] trajectoryFields = formatVersion >= 2 ? readNullableBytes(in) : null;
            byte[] encodedOutcome = readNullableBytes(in);
            int verdictCount = in.readInt();
            long latestEventTime = in.readLong();
            Phase phase = PHASES[in.readByte()];
            long deadline = in.readLong();
            long timer = in.readLong();
            int ranges = in.readInt();
            String[] topics = new String[ranges];
            int[] partitions = new int[ranges];
            long[] firstOffsets = new long[ranges];
            long[] lastOffsets = new long[ranges];
            for (int i = 0; i < ranges; i++) {
                topics[i] = StringValue.readString(in);
                partitions[i] = in.readInt();
                firstOffsets[i] = in.readLong();
                lastOffsets[i] = in.readLong();
            }
            return new AssemblyProgress(distinctSteps, receivedSteps, maxIndex, terminalIndex, trajectoryFields,
                    encodedOutcome, verdictCount, latestEventTime, phase, deadline, timer,
                    new InputLineage(topics, partitions, firstOffsets, lastOffsets));
        }
    }

    /** The marker a trajectory leaves when it is emitted or timed out ({@link FinishedTrajectory}). */
    public static final class OfFinished extends StateSerializer<FinishedTrajectory> {

        private static final long serialVersionUID = 1L;

        @Override
        protected StateSerializer<FinishedTrajectory> create() {
            return new OfFinished();
        }

        @Override
        protected int formatVersion() {
            return 1;
        }

        @Override
        public void serialize(FinishedTrajectory marker, DataOutputView out) throws IOException {
            writeNullableBytes(marker.encodedOutcome(), out);
            out.writeLong(marker.forgetAt());
        }

        @Override
        public FinishedTrajectory deserialize(DataInputView in) throws IOException {
            byte[] encodedOutcome = readNullableBytes(in);
            return new FinishedTrajectory(encodedOutcome, in.readLong());
        }
    }

    /** Its length, -1 for null, then its bytes. */
    private static void writeNullableBytes(byte[] bytes, DataOutputView out) throws IOException {
        if (bytes == null) {
            out.writeInt(-1);
            return;
        }
        out.writeInt(bytes.length);
        out.write(bytes);
    }

    private static byte[] readNullableBytes(DataInputView in) throws IOException {
        int length = in.readInt();
        if (length < 0) {
            return null;
        }
        byte[] bytes = new byte[length];
        in.readFully(bytes);
        return bytes;
    }
}
