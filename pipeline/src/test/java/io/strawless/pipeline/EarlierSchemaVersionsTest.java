package io.strawless.pipeline;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.strawless.connectors.serde.EncodedSteps;
import io.strawless.connectors.serde.InputDeserializer;
import io.strawless.connectors.serde.InputRecord;
import io.strawless.connectors.serde.InputRecord.Kind;
import io.strawless.connectors.serde.StepEventCodec;
import io.strawless.pipeline.assembly.AssembledTrajectory;
import io.strawless.pipeline.assembly.FinishedTrajectory;
import io.strawless.pipeline.grouping.GroupStateSerializers;
import io.strawless.pipeline.grouping.TrajectoryGroup;
import io.strawless.schemas.OffsetRange;
import io.strawless.schemas.OutcomeEvent;
import io.strawless.schemas.SchemaHistory;
import io.strawless.schemas.StepEvent;
import io.strawless.schemas.TerminalKind;
import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.apache.avro.Schema;
import org.apache.avro.generic.GenericData;
import org.apache.avro.generic.GenericRecord;
import org.apache.avro.message.BinaryMessageEncoder;
import org.apache.avro.specific.SpecificRecord;
import org.apache.flink.core.memory.DataInputDeserializer;
import org.apache.flink.api.common.functions.util.ListCollector;
import org.apache.flink.core.memory.DataOutputSerializer;
import org.apache.flink.util.Collector;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.junit.jupiter.api.Test;

/**
 * Records in Avro single-object encoding name their writer schema by fingerprint. Agents not yet upgraded write
 * inputs under an earlier version, a backfill replays what older agents wrote, and a savepoint taken before a schema
 * change holds the earlier fingerprint in the job's state (steps, outcomes, verdicts and offset ranges): the job
 * must read all of them with the schema history, or the inputs become dead letters and every restored trajectory
 * fails the task, which restores the same state and fails again. Today every input schema has one version, so this
 * test's resources add an earlier-looking one ({@code schema-history/<Record>/v2.avsc}, test only: without source,
 * or without observation_key and bootstrap_value) and the job's readers must resolve records written with it.
 */
class EarlierSchemaVersionsTest {

    private static final long T0 = 1_700_000_000_000L;

    @Test
    void inputsAnAgentWritesWithAnEarlierVersionAreDecodedNotDeadLettered() throws Exception {
        StepEvent step = Events.step("t1", 3, T0).setTerminal(TerminalKind.TERMINATED).setTokenIds(List.of(5, 6)).build();
        OutcomeEvent outcome = Events.outcome("t1", 1.0, 2, T0);
        InputDeserializer inputs = new InputDeserializer("agent.steps", "agent.outcomes", "agent.verdicts");
        inputs.open(null);
        List<InputRecord> read = new ArrayList<>();
        Collector<InputRecord> out = new ListCollector<>(read);
        byte[] key = "t1".getBytes(StandardCharsets.UTF_8);
        inputs.deserialize(new ConsumerRecord<>("agent.steps", 0, 5L, key, encodeWithEarlierSchema(step, "StepEvent")), out);
        inputs.deserialize(new ConsumerRecord<>("agent.outcomes", 0, 6L, key,
                encodeWithEarlierSchema(outcome, "OutcomeEvent")), out);

        assertEquals(Kind.STEP, read.get(0).kind(), "not a dead letter: " + read.get(0));
        assertEquals(step, read.get(0).getStep());
        assertEquals(Kind.OUTCOME, read.get(1).kind(), "not a dead letter: " + read.get(1));
        assertEquals(2, read.get(1).outcome.getRevision());
        assertEquals("unknown", read.get(1).outcome.getSource(), "the field the earlier version lacked gets its default");
    }

    @Test
    void inputsOfAnEarlierVersionWithAnIdThatIsNotUtf8AreDeadLettered() throws Exception {
        // Avro's reader resolves them, not the step codec: the same check must hold there.
        byte[] step = encodeWithEarlierSchema(Events.step("t?", 3, T0).build(), "StepEvent");
        byte[] outcome = encodeWithEarlierSchema(Events.outcome("t?", 1.0, 2, T0), "OutcomeEvent");
        int mark = 10 + 1 + 1; // header, the trajectory id's length, "t"
        assertEquals('?', step[mark]);
        assertEquals('?', outcome[mark]);
        step[mark] = (byte) 0xFF;
        outcome[mark] = (byte) 0xFF;
        InputDeserializer inputs = new InputDeserializer("agent.steps", "agent.outcomes", "agent.verdicts");
        inputs.open(null);
        List<InputRecord> read = new ArrayList<>();
        Collector<InputRecord> out = new ListCollector<>(read);
        byte[] key = "t1".getBytes(StandardCharsets.UTF_8);
        inputs.deserialize(new ConsumerRecord<>("agent.steps", 0, 5L, key, step), out);
        inputs.deserialize(new ConsumerRecord<>("agent.outcomes", 0, 6L, key, outcome), out);

        assertEquals(2, read.size(), "one record out for each in: " + read);
        for (InputRecord input : read) {
            assertEquals(Kind.DEAD_LETTER, input.kind(), "a dead letter: " + input);
            assertEquals(InputDeserializer.Rule.MALFORMED_UTF8.name(), input.deadLetter.getErrorClass());
        }
    }

    @Test
    void stepsAnEarlierReleaseKeptAreRead() throws Exception {
        StepEvent step = Events.step("t1", 3, T0).setTerminal(TerminalKind.TERMINATED).setTokenIds(List.of(5, 6)).build();
        byte[] earlier = encodeWithEarlierSchema(step, "StepEvent");

        assertEquals(3, StepEventCodec.stepIndex(earlier));
        assertTrue(StepEventCodec.isTerminal(earlier));
        assertEquals("t1", StepEventCodec.trajectoryId(earlier));
        byte[] fields = StepEventCodec.trajectoryFields(new StepEventCodec().encode(step));
        assertArrayEquals(fields, StepEventCodec.trajectoryFields(earlier));
        assertTrue(StepEventCodec.hasTrajectoryFields(earlier, fields));
        assertEquals(step, new StepEventCodec().decode(earlier));
        assertEquals(step, new EncodedSteps(List.of(earlier)).get(0));
    }

    @Test
    void anOutcomeAFinishedMarkerKeptIsRead() throws Exception {
        OutcomeEvent outcome = Events.outcome("t1", 1.0, 2, T0);
        byte[] earlier = encodeWithEarlierSchema(outcome, "OutcomeEvent");

        OutcomeEvent read = new FinishedTrajectory(earlier, T0).scoredOutcome();

        assertEquals(2, read.getRevision());
        assertEquals("unknown", read.getSource(), "the field the earlier version lacked gets its default");
    }

    @Test
    void aGroupWaitingInStateIsRead() throws Exception {
        StepEvent step = Events.step("t1", 0, T0).setTerminal(TerminalKind.TERMINATED).build();
        OutcomeEvent outcome = Events.outcome("t1", 1.0, 0, T0);
        AssembledTrajectory member = new AssembledTrajectory("t1", "agent-1", "task-1", "g", 2,
                new EncodedSteps(List.of(encodeWithEarlierSchema(step, "StepEvent"))), outcome, List.of(),
                List.of(new OffsetRange("agent.steps", 0, 1L, 1L)));
        GroupStateSerializers.OfTrajectoryGroup serializer = new GroupStateSerializers.OfTrajectoryGroup();
        DataOutputSerializer out = new DataOutputSerializer(256);
        serializer.serialize(new TrajectoryGroup(List.of(member), 0.5), out);
        // As an earlier release wrote it: the outcome under its earlier schema.
        byte[] written = replaceLengthPrefixed(out.getCopyOfBuffer(), outcome.toByteBuffer(),
                encodeWithEarlierSchema(outcome, "OutcomeEvent"));

        TrajectoryGroup read = serializer.deserialize(new DataInputDeserializer(written));

        AssembledTrajectory readMember = read.members().get(0);
        assertEquals("unknown", readMember.outcome().getSource());
        assertEquals(1.0, readMember.outcome().getReward());
        assertEquals(step, readMember.steps().get(0));
        assertNull(readMember.steps().get(0).getObservationKey());
    }

    /**
     * {@code record} in single-object encoding under the test's earlier version of its schema: the last one in the
     * history, which the test resources add.
     */
    private static byte[] encodeWithEarlierSchema(SpecificRecord record, String name) throws Exception {
        List<Schema> history = SchemaHistory.of(name);
        Schema earlier = history.get(history.size() - 1);
        assertTrue(earlier.getDoc().startsWith("TEST ONLY"), "the test's earlier version of " + name);
        GenericRecord generic = new GenericData.Record(earlier);
        for (Schema.Field field : earlier.getFields()) {
            Object value = record.get(record.getSchema().getField(field.name()).pos());
            if (value instanceof Instant instant) {
                value = instant.toEpochMilli();
            } else if (value instanceof Enum<?> symbol) {
                value = new GenericData.EnumSymbol(field.schema(), symbol.name());
            }
            generic.put(field.name(), value);
        }
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        new BinaryMessageEncoder<GenericRecord>(GenericData.get(), earlier).encode(generic, bytes);
        return bytes.toByteArray();
    }

    /** {@code bytes} with the int-length-prefixed {@code from} replaced by {@code to}, prefixed by its own length. */
    private static byte[] replaceLengthPrefixed(byte[] bytes, ByteBuffer from, byte[] to) {
        byte[] needle = new byte[from.remaining()];
        from.get(needle);
        for (int i = 4; i + needle.length <= bytes.length; i++) {
            if (Arrays.equals(bytes, i, i + needle.length, needle, 0, needle.length)) {
                ByteBuffer replaced = ByteBuffer.allocate(bytes.length - needle.length + to.length);
                replaced.put(bytes, 0, i - 4).putInt(to.length).put(to).put(bytes, i + needle.length,
                        bytes.length - i - needle.length);
                return replaced.array();
            }
        }
        throw new AssertionError("the outcome's encoding is not in the serialized group");
    }
}
