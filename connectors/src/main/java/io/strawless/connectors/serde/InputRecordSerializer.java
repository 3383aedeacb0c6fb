package io.strawless.connectors.serde;

import io.strawless.schemas.DeadLetter;
import io.strawless.schemas.OutcomeEvent;
import io.strawless.schemas.StepEvent;
import io.strawless.schemas.VerifierSignal;
import java.io.IOException;
import org.apache.flink.api.common.serialization.SerializerConfig;
import org.apache.flink.api.common.typeinfo.TypeInformation;
import org.apache.flink.api.common.typeutils.SimpleTypeSerializerSnapshot;
import org.apache.flink.api.common.typeutils.TypeSerializer;
import org.apache.flink.api.common.typeutils.TypeSerializerSnapshot;
import org.apache.flink.core.memory.DataInputView;
import org.apache.flink.core.memory.DataOutputView;
import org.apache.flink.formats.avro.typeutils.AvroSerializer;
import org.apache.flink.types.StringValue;

/**
 * A serializer for {@link InputRecord} on the network, for the job's busiest edge (validate to assemble,
 * every input record crosses it): a kind tag, the provenance, then the one event with flink-avro's
 * AvroSerializer, as the POJO serializer would write it.
 *
 * <p>Why not the POJO serializer: its {@code deserialize} first calls {@code createInstance}, which
 * pre-fills every non-primitive field with a new instance from the field's serializer, i.e. four Avro
 * records made by reflection ({@code SpecificData.newRecord}) for each input, three of them thrown away at
 * once; profiled, that was about a fifth of the assembler's CPU. It also sets every field by reflection.
 *
 * <p>InputRecord stays a POJO for every other use (its {@code TypeInformation.of} is unchanged); this
 * serializer only moves records between tasks, it never writes state, so no savepoint depends on its format.
 */
public final class InputRecordSerializer extends TypeSerializer<InputRecord> {

    private static final long serialVersionUID = 1L;

    /** The type information that makes Flink use this serializer; pass it where the stream's type is declared. */
    public static final TypeInformation<InputRecord> TYPE_INFO = new InputRecordTypeInfo();

    private static final byte STEP = 0;
    private static final byte OUTCOME = 1;
    private static final byte VERDICT = 2;
    private static final byte DEAD_LETTER = 3;

    // AvroSerializer keeps encoder and decoder state: not thread-safe, so duplicate() makes new ones.
    private final AvroSerializer<StepEvent> steps = new AvroSerializer<>(StepEvent.class);
    private final AvroSerializer<OutcomeEvent> outcomes = new AvroSerializer<>(OutcomeEvent.class);
    private final AvroSerializer<VerifierSignal> verdicts = new AvroSerializer<>(VerifierSignal.class);
    private final AvroSerializer<DeadLetter> deadLetters = new AvroSerializer<>(DeadLetter.class);

    @Override
    public boolean isImmutableType() {
        return false;
    }

    @Override
    public TypeSerializer<InputRecord> duplicate() {
        return new InputRecordSerializer();
    }

    @Override
    public InputRecord createInstance() {
        return new InputRecord();
    }

    @Override
    public InputRecord copy(InputRecord from) {
        InputRecord to = new InputRecord();
        to.topic = from.topic;
        to.partition = from.partition;
        to.offset = from.offset;
        to.timestamp = from.timestamp;
        to.step = from.step == null ? null : steps.copy(from.step);
        to.outcome = from.outcome == null ? null : outcomes.copy(from.outcome);
        to.verdict = from.verdict == null ? null : verdicts.copy(from.verdict);
        to.deadLetter = from.deadLetter == null ? null : deadLetters.copy(from.deadLetter);
        return to;
    }

    @Override
    public InputRecord copy(InputRecord from, InputRecord reuse) {
        return copy(from);
    }

    @Override
    public int getLength() {
        return -1;
    }

    @Override
    public void serialize(InputRecord record, DataOutputView target) throws IOException {
        switch (record.kind()) {
            case STEP -> target.writeByte(STEP);
            case OUTCOME -> target.writeByte(OUTCOME);
            case VERDICT -> target.writeByte(VERDICT);
            case DEAD_LETTER -> target.writeByte(DEAD_LETTER);
        }
        StringValue.writeString(record.topic, target);
        target.writeInt(record.partition);
        target.writeLong(record.offset);
        target.writeLong(record.timestamp);
        switch (record.kind()) {
            case STEP -> steps.serialize(record.step, target);
            case OUTCOME -> outcomes.serialize(record.outcome, target);
            case VERDICT -> verdicts.serialize(record.verdict, target);
            case DEAD_LETTER -> deadLetters.serialize(record.deadLetter, target);
        }
    }

    @Override
    public InputRecord deserialize(DataInputView source) throws IOException {
        byte kind = source.readByte();
        InputRecord record = new InputRecord();
        record.topic = StringValue.readString(source);
        record.partition = source.readInt();
        record.offset = source.readLong();
        record.timestamp = source.readLong();
        switch (kind) {
            case STEP -> record.step = steps.deserialize(source);
            case OUTCOME -> record.outcome = outcomes.deserialize(source);
            case VERDICT -> record.verdict = verdicts.deserialize(source);
            case DEAD_LETTER -> record.deadLetter = deadLetters.deserialize(source);
            default -> throw new IOException("corrupt InputRecord: unknown kind tag " + kind);
        }
        return record;
    }

    @Override
    public InputRecord deserialize(InputRecord reuse, DataInputView source) throws IOException {
        return deserialize(source);
    }

    @Override
    public void copy(DataInputView source, DataOutputView target) throws IOException {
        serialize(deserialize(source), target);
    }

    @Override
    public boolean equals(Object obj) {
        return obj instanceof InputRecordSerializer;
    }

    @Override
    public int hashCode() {
        return InputRecordSerializer.class.hashCode();
    }

    @Override
    public TypeSerializerSnapshot<InputRecord> snapshotConfiguration() {
        return new Snapshot();
    }

    /** The serializer has no configuration: its snapshot only names it. */
    public static final class Snapshot extends SimpleTypeSerializerSnapshot<InputRecord> {
        public Snapshot() {
            super(InputRecordSerializer::new);
        }
    }

    /** Type information whose serializer is {@link InputRecordSerializer}. */
    private static final class InputRecordTypeInfo extends TypeInformation<InputRecord> {

        private static final long serialVersionUID = 1L;

        @Override
        public boolean isBasicType() {
            return false;
        }

        @Override
        public boolean isTupleType() {
            return false;
        }

        @Override
        public int getArity() {
            return 1;
        }

        @Override
        public int getTotalFields() {
            return 1;
        }

        @Override
        public Class<InputRecord> getTypeClass() {
            return InputRecord.class;
        }

        @Override
        public boolean isKeyType() {
            return false;
        }

        @Override
        public TypeSerializer<InputRecord> createSerializer(SerializerConfig config) {
            return new InputRecordSerializer();
        }

        @Override
        public String toString() {
            return "InputRecord(tagged)";
        }

        @Override
        public boolean equals(Object obj) {
            return obj instanceof InputRecordTypeInfo;
        }

        @Override
        public int hashCode() {
            return InputRecordTypeInfo.class.hashCode();
        }

        @Override
        public boolean canEqual(Object obj) {
            return obj instanceof InputRecordTypeInfo;
        }
    }
}
