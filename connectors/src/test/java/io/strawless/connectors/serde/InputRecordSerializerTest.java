package io.strawless.connectors.serde;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.strawless.schemas.StepEvent;
import io.strawless.schemas.TerminalKind;
import java.util.ArrayList;
import java.util.List;
import org.apache.flink.api.common.serialization.SerializerConfigImpl;
import org.apache.flink.api.common.typeutils.TypeSerializer;
import org.apache.flink.api.common.typeutils.TypeSerializerSnapshot;
import org.apache.flink.core.memory.DataInputDeserializer;
import org.apache.flink.core.memory.DataOutputSerializer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import org.junit.jupiter.params.provider.MethodSource;

/** The tagged network serializer of InputRecord round-trips every kind, as the POJO serializer does. */
class InputRecordSerializerTest {

    @ParameterizedTest
    @MethodSource("io.strawless.connectors.serde.FlinkTypeInfoTest#inputRecords")
    void roundTrips(InputRecord record) throws Exception {
        TypeSerializer<InputRecord> serializer = InputRecordSerializer.TYPE_INFO.createSerializer(new SerializerConfigImpl());

        DataOutputSerializer out = new DataOutputSerializer(256);
        serializer.serialize(record, out);
        serializer.serialize(record, out); // two in a row: each read stops at its own end
        DataInputDeserializer in = new DataInputDeserializer(out.getCopyOfBuffer());
        assertEquals(record, serializer.deserialize(in));
        assertEquals(record, serializer.duplicate().deserialize(in));
        assertEquals(0, in.available());
        assertEquals(record, serializer.copy(record));

        DataOutputSerializer snapshotOut = new DataOutputSerializer(64);
        TypeSerializerSnapshot.writeVersionedSnapshot(snapshotOut, serializer.snapshotConfiguration());
        TypeSerializerSnapshot<InputRecord> restored = TypeSerializerSnapshot.readVersionedSnapshot(
                new DataInputDeserializer(snapshotOut.getCopyOfBuffer()), getClass().getClassLoader());
        assertTrue(serializer.snapshotConfiguration().resolveSchemaCompatibility(restored).isCompatibleAsIs());
    }

    /**
     * A snapshot restores its serializer with the class loader it was read with (the job's user-code loader), which
     * tools such as the State Processor API do not also make the thread's context loader.
     */
    @Test
    void aSnapshotLoadsItsSerializerWithTheClassLoaderItWasReadWith() throws Exception {
        TypeSerializer<InputRecord> serializer = InputRecordSerializer.TYPE_INFO.createSerializer(new SerializerConfigImpl());
        DataOutputSerializer snapshotOut = new DataOutputSerializer(64);
        TypeSerializerSnapshot.writeVersionedSnapshot(snapshotOut, serializer.snapshotConfiguration());
        List<String> asked = new ArrayList<>();
        ClassLoader userCode = new ClassLoader(getClass().getClassLoader()) {
            @Override
            protected Class<?> loadClass(String name, boolean resolve) throws ClassNotFoundException {
                asked.add(name);
                return super.loadClass(name, resolve);
            }
        };
        ClassLoader context = Thread.currentThread().getContextClassLoader();
        Thread.currentThread().setContextClassLoader(new ClassLoader(null) {}); // knows no Strawless class
        try {
            TypeSerializerSnapshot<InputRecord> restored = TypeSerializerSnapshot.readVersionedSnapshot(
                    new DataInputDeserializer(snapshotOut.getCopyOfBuffer()), userCode);
            assertEquals(serializer, restored.restoreSerializer());
        } finally {
            Thread.currentThread().setContextClassLoader(context);
        }
        assertTrue(asked.contains(InputRecordSerializer.class.getName()), asked.toString());
    }

    @ParameterizedTest
    @EnumSource(TerminalKind.class)
    void aStepWithItsBytesCrossesAsTheSameBytesAndArrivesWithThem(TerminalKind terminal) throws Exception {
        TypeSerializer<InputRecord> serializer = InputRecordSerializer.TYPE_INFO.createSerializer(new SerializerConfigImpl());
        StepEvent step = TestRecords.step("traj-1", 2);
        step.setTerminal(terminal);
        step.setBootstrapValue(terminal == TerminalKind.TRUNCATED ? 0.5 : null);
        byte[] encoded = new StepEventCodec().encode(step);

        DataOutputSerializer decoded = new DataOutputSerializer(256);
        serializer.serialize(InputRecord.ofStep("agent.steps", 1, 10L, 100L, step), decoded);
        DataOutputSerializer asItCame = new DataOutputSerializer(256);
        serializer.serialize(InputRecord.ofStep("agent.steps", 1, 10L, 100L, step, encoded), asItCame);
        assertArrayEquals(decoded.getCopyOfBuffer(), asItCame.getCopyOfBuffer());

        InputRecord received = serializer.deserialize(new DataInputDeserializer(asItCame.getCopyOfBuffer()));
        // What the assembler reads in place, before anything decodes the step.
        assertEquals(InputRecord.Kind.STEP, received.kind());
        assertEquals("traj-1", received.trajectoryId());
        assertEquals(2, received.stepIndex());
        assertEquals(step.getTerminal() != TerminalKind.NONE, received.isTerminalStep());
        assertEquals(step, received.getStep());
        assertArrayEquals(encoded, received.encodedStep);
    }
}
