package io.strawless.pipeline.assembly;

import io.strawless.connectors.serde.InputRecord;
import io.strawless.connectors.serde.StateSerializer;
import io.strawless.connectors.serde.StringValues;
import io.strawless.connectors.serde.VersionedStateSerializer;
import io.strawless.pipeline.assembly.AssemblyProgress.Phase;
import io.strawless.schemas.VerifierSignal;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import org.apache.flink.api.common.typeutils.TypeSerializerSnapshot;
import org.apache.flink.api.common.typeutils.base.TypeSerializerSingleton;
import org.apache.flink.core.memory.DataInputView;
import org.apache.flink.core.memory.DataOutputView;
import org.apache.flink.formats.avro.typeutils.AvroSerializer;
import org.apache.flink.types.StringValue;

/**
 * The assembler's progress, finished markers and held inputs as its keyed state keeps them, in a format of their
 * own, and the verdicts waiting in it, in flink-avro's ({@link OfVerdict}).
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
                StringValues.write(lineage.topics()[i], out);
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

    /**
     * An input held past its trajectory's deadline ({@link HeldInput}): a kind tag, its event time and provenance, then
     * the one event, as the rest of the trajectory's state keeps it (a step's and an outcome's single-object
     * encodings, a verdict as {@link OfVerdict} writes it). Version 1 is the first: an earlier release's savepoint
     * has no such state, and restores with none held.
     */
    public static final class OfHeldInput extends VersionedStateSerializer<HeldInput> {

        private static final long serialVersionUID = 1L;

        private static final int CURRENT_VERSION = 1;

        private static final byte STEP = 0;
        private static final byte OUTCOME = 1;
        private static final byte VERDICT = 2;

        public OfHeldInput() {
            this(CURRENT_VERSION);
        }

        OfHeldInput(int formatVersion) {
            super(CURRENT_VERSION, formatVersion);
        }

        @Override
        protected OfHeldInput ofVersion(int formatVersion) {
            return new OfHeldInput(formatVersion);
        }

        @Override
        public void serialize(HeldInput held, DataOutputView out) throws IOException {
            InputRecord input = held.input();
            out.writeByte(switch (input.kind()) {
                case STEP -> STEP;
                case OUTCOME -> OUTCOME;
                case VERDICT -> VERDICT;
                case DEAD_LETTER -> throw new IllegalArgumentException("dead letters are routed before assembly");
            });
            out.writeLong(held.eventTime());
            StringValues.write(input.topic, out);
            out.writeInt(input.partition);
            out.writeLong(input.offset);
            out.writeLong(input.timestamp);
            switch (input.kind()) {
                case STEP -> {
                    out.writeBoolean(input.isTerminalStep());
                    writeNullableBytes(input.encodedStep != null ? input.encodedStep : steps().encode(input.getStep()),
                            out);
                }
                case OUTCOME -> writeNullableBytes(FinishedTrajectory.encode(input.outcome), out);
                case VERDICT -> OfVerdict.INSTANCE.serialize(input.verdict, out);
                case DEAD_LETTER -> throw new IllegalArgumentException("dead letters are routed before assembly");
            }
        }

        @Override
        public HeldInput deserialize(DataInputView in) throws IOException {
            byte kind = in.readByte();
            long eventTime = in.readLong();
            String topic = StringValue.readString(in);
            int partition = in.readInt();
            long offset = in.readLong();
            long timestamp = in.readLong();
            InputRecord input = switch (kind) {
                case STEP -> {
                    boolean terminal = in.readBoolean();
                    yield InputRecord.ofEncodedStep(topic, partition, offset, timestamp, readNullableBytes(in),
                            terminal);
                }
                case OUTCOME -> InputRecord.ofOutcome(topic, partition, offset, timestamp,
                        FinishedTrajectory.decode(readNullableBytes(in)));
                case VERDICT -> InputRecord.ofVerdict(topic, partition, offset, timestamp,
                        OfVerdict.INSTANCE.deserialize(in));
                default -> throw new IOException("corrupt held input in state: unknown kind tag " + kind);
            };
            return new HeldInput(eventTime, input);
        }
    }

    /**
     * A verdict waiting in an open trajectory's state, in exactly the bytes flink-avro's {@code AvroSerializer} writes
     * (its {@code DataOutputEncoder}: ints, longs and doubles at full width, a string as an int length and its UTF-8
     * bytes, a union as an int branch then the value), built in one buffer and written with one call.
     *
     * <p>Why: Avro's generic writer wrote each field with a call or several into the heap snapshot's stream, a byte
     * at a time for every int; in a JFR profile of the bench (2026-11-27) that was a tenth of the snapshot thread's
     * samples. The bytes are {@code AvroSerializer}'s and so is the snapshot, so savepoints restore in either
     * direction (an earlier release's, and this build's into an earlier one).
     */
    public static final class OfVerdict extends TypeSerializerSingleton<VerifierSignal> {

        private static final long serialVersionUID = 1L;

        public static final OfVerdict INSTANCE = new OfVerdict();

        private static final int NULL = 0;
        private static final int PRESENT = 1;

        @Override
        public void serialize(VerifierSignal verdict, DataOutputView out) throws IOException {
            byte[] trajectoryId = verdict.getTrajectoryId().getBytes(StandardCharsets.UTF_8);
            byte[] verifierId = verdict.getVerifierId().getBytes(StandardCharsets.UTF_8);
            // Allocated per call: the task thread and the snapshot thread write at once, and a verdict is small.
            ByteBuffer buffer = ByteBuffer.allocate(4 + trajectoryId.length + 8 + 4 + verifierId.length + 8 + 12 + 8);
            buffer.putInt(trajectoryId.length).put(trajectoryId);
            if (verdict.getStepIndex() == null) {
                buffer.putInt(NULL);
            } else {
                buffer.putInt(PRESENT).putInt(verdict.getStepIndex());
            }
            buffer.putInt(verifierId.length).put(verifierId);
            // doubleToLongBits, as DataOutput.writeDouble writes it: one NaN for every NaN.
            buffer.putLong(Double.doubleToLongBits(verdict.getScore()));
            if (verdict.getConfidence() == null) {
                buffer.putInt(NULL);
            } else {
                buffer.putInt(PRESENT).putLong(Double.doubleToLongBits(verdict.getConfidence()));
            }
            buffer.putLong(verdict.getEventTime().toEpochMilli());
            out.write(buffer.array(), 0, buffer.position());
        }

        @Override
        public VerifierSignal deserialize(DataInputView in) throws IOException {
            String trajectoryId = readString(in);
            Integer stepIndex = union(in) == NULL ? null : in.readInt();
            String verifierId = readString(in);
            double score = in.readDouble();
            Double confidence = union(in) == NULL ? null : in.readDouble();
            return new VerifierSignal(trajectoryId, stepIndex, verifierId, score, confidence,
                    Instant.ofEpochMilli(in.readLong()));
        }

        @Override
        public VerifierSignal deserialize(VerifierSignal reuse, DataInputView in) throws IOException {
            return deserialize(in);
        }

        @Override
        public void copy(DataInputView in, DataOutputView out) throws IOException {
            serialize(deserialize(in), out);
        }

        /** A new record of the same fields: ids and the event time are immutable. */
        @Override
        public VerifierSignal copy(VerifierSignal from) {
            return new VerifierSignal(from.getTrajectoryId(), from.getStepIndex(), from.getVerifierId(),
                    from.getScore(), from.getConfidence(), from.getEventTime());
        }

        @Override
        public VerifierSignal copy(VerifierSignal from, VerifierSignal reuse) {
            return copy(from);
        }

        @Override
        public boolean isImmutableType() {
            return false;
        }

        @Override
        public VerifierSignal createInstance() {
            return new VerifierSignal();
        }

        @Override
        public int getLength() {
            return -1;
        }

        /**
         * {@code AvroSerializer}'s for {@link VerifierSignal}: the bytes are its, so a restore reads the state with
         * either serializer, and this one writes what comes after.
         */
        @Override
        public TypeSerializerSnapshot<VerifierSignal> snapshotConfiguration() {
            return new AvroSerializer<>(VerifierSignal.class).snapshotConfiguration(); // once per checkpoint
        }

        private static String readString(DataInputView in) throws IOException {
            byte[] bytes = new byte[in.readInt()];
            in.readFully(bytes);
            return new String(bytes, StandardCharsets.UTF_8);
        }

        private static int union(DataInputView in) throws IOException {
            int branch = in.readInt();
            if (branch != NULL && branch != PRESENT) {
                throw new IOException("corrupt verdict in state: union branch " + branch);
            }
            return branch;
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
