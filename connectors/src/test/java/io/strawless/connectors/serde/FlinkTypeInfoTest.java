package io.strawless.connectors.serde;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.strawless.schemas.DeadLetter;
import io.strawless.schemas.StepEvent;
import io.strawless.schemas.TrainingBatch;
import io.strawless.schemas.UnscoredTrajectory;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.stream.Stream;
import org.apache.flink.api.common.serialization.SerializerConfigImpl;
import org.apache.flink.api.common.typeinfo.TypeInformation;
import org.apache.flink.api.common.typeutils.TypeSerializer;
import org.apache.flink.api.common.typeutils.TypeSerializerSnapshot;
import org.apache.flink.api.java.typeutils.PojoTypeInfo;
import org.apache.flink.core.memory.DataInputDeserializer;
import org.apache.flink.core.memory.DataOutputSerializer;
import org.apache.flink.formats.avro.typeutils.AvroTypeInfo;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Flink serializes what the job moves and keeps in state without Kryo: InputRecord as a POJO, the
 * Avro records with flink-avro's serializer. Generic types are switched off here, so any field that
 * fell back to Kryo would fail serializer creation.
 */
class FlinkTypeInfoTest {

    @Test
    void inputRecordIsAPojoWithAvroFields() {
        TypeInformation<InputRecord> info = TypeInformation.of(InputRecord.class);

        PojoTypeInfo<InputRecord> pojo = assertInstanceOf(PojoTypeInfo.class, info);
        assertFalse(pojo instanceof AvroTypeInfo, "InputRecord itself is a plain POJO");
        for (String field : new String[] {"step", "outcome", "verdict", "deadLetter"}) {
            assertInstanceOf(AvroTypeInfo.class, pojo.getTypeAt(field), field);
        }
    }

    static Stream<InputRecord> inputRecords() {
        return Stream.of(
                InputRecord.ofStep("agent.steps", 1, 10L, 100L, TestRecords.step("traj-1", 2)),
                // As it arrives from the network, not yet decoded: the POJO serializer carries the bytes.
                InputRecord.ofEncodedStep("agent.steps", 1, 10L, 100L, encode(TestRecords.step("traj-1", 3)), false),
                InputRecord.ofOutcome("agent.outcomes", 2, 11L, 101L, TestRecords.outcome("traj-1")),
                InputRecord.ofVerdict("agent.verdicts", 3, 12L, 102L, TestRecords.verdict("traj-1")),
                InputRecord.ofDeadLetter("agent.steps", 0, 13L, 103L, TestRecords.deadLetter(new byte[] {7}, null)));
    }

    private static byte[] encode(StepEvent step) {
        try {
            return new StepEventCodec().encode(step);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    @ParameterizedTest
    @MethodSource("inputRecords")
    void inputRecordRoundTripsThroughItsSerializer(InputRecord record) throws Exception {
        assertRoundTrip(TypeInformation.of(InputRecord.class), record);
    }

    static Stream<Object> stateRecords() {
        return Stream.of(
                TestRecords.step("traj-1", 2),
                TestRecords.batch("batch-1"),
                TestRecords.unscored("traj-1"),
                TestRecords.deadLetter(new byte[] {1, 2, 3}, new byte[] {4, 5}));
    }

    @ParameterizedTest
    @MethodSource("stateRecords")
    void avroRecordsKeptInStateUseAvroTypeInfo(Object record) throws Exception {
        TypeInformation<Object> info = TypeInformation.of((Class<Object>) record.getClass());
        assertInstanceOf(AvroTypeInfo.class, info);
        assertRoundTrip(info, record);
    }

    private static <T> void assertRoundTrip(TypeInformation<T> info, T record) throws Exception {
        SerializerConfigImpl config = new SerializerConfigImpl();
        config.setGenericTypes(false);
        TypeSerializer<T> serializer = info.createSerializer(config);

        DataOutputSerializer out = new DataOutputSerializer(256);
        serializer.serialize(record, out);
        byte[] bytes = out.getCopyOfBuffer();
        assertEquals(record, serializer.deserialize(new DataInputDeserializer(bytes)));
        assertEquals(record, serializer.copy(record));

        // The restore path of keyed state: snapshot the serializer's configuration, read it back,
        // check the current serializer accepts it, and read the old bytes with the restored serializer.
        DataOutputSerializer snapshotOut = new DataOutputSerializer(256);
        TypeSerializerSnapshot.writeVersionedSnapshot(snapshotOut, serializer.snapshotConfiguration());
        TypeSerializerSnapshot<T> restored = TypeSerializerSnapshot.readVersionedSnapshot(
                new DataInputDeserializer(snapshotOut.getCopyOfBuffer()), FlinkTypeInfoTest.class.getClassLoader());
        assertTrue(serializer.snapshotConfiguration().resolveSchemaCompatibility(restored).isCompatibleAsIs());
        assertEquals(record, restored.restoreSerializer().deserialize(new DataInputDeserializer(bytes)));
    }
}
