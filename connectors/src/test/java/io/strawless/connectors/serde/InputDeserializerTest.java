package io.strawless.connectors.serde;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.strawless.connectors.serde.InputDeserializer.Rule;
import io.strawless.connectors.serde.InputRecord.Kind;
import io.strawless.schemas.DeadLetter;
import io.strawless.schemas.OutcomeEvent;
import io.strawless.schemas.StepEvent;
import io.strawless.schemas.TrainingBatch;
import io.strawless.schemas.TerminalKind;
import io.strawless.schemas.VerifierSignal;
import java.io.EOFException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Optional;
import java.util.Random;
import org.apache.flink.api.common.functions.util.ListCollector;
import org.apache.flink.util.InstantiationUtil;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.common.header.internals.RecordHeaders;
import org.apache.kafka.common.record.TimestampType;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

class InputDeserializerTest {

    private static final String STEPS = "agent.steps";
    private static final String OUTCOMES = "agent.outcomes";
    private static final String VERDICTS = "agent.verdicts";
    private static final byte[] KEY = "traj-1".getBytes(StandardCharsets.UTF_8);

    private InputDeserializer deserializer;

    @BeforeEach
    void openShippedCopy() throws Exception {
        // Flink ships the schema to the task managers by Java serialization; test the copy it opens.
        deserializer = InstantiationUtil.clone(new InputDeserializer(STEPS, OUTCOMES, VERDICTS));
        deserializer.open(null); // the context is not used
    }

    @Test
    void decodesEachTypeOnItsTopicWithProvenance() throws Exception {
        StepEvent step = TestRecords.step("traj-1", 2);
        OutcomeEvent outcome = TestRecords.outcome("traj-1");
        VerifierSignal verdict = TestRecords.verdict("traj-1");

        InputRecord fromSteps = decode(STEPS, KEY, step.toByteBuffer().array());
        InputRecord fromOutcomes = decode(OUTCOMES, KEY, outcome.toByteBuffer().array());
        InputRecord fromVerdicts = decode(VERDICTS, KEY, verdict.toByteBuffer().array());

        assertEquals(InputRecord.ofStep(STEPS, 3, 42L, 1234L, step), fromSteps);
        assertEquals(InputRecord.ofOutcome(OUTCOMES, 3, 42L, 1234L, outcome), fromOutcomes);
        assertEquals(InputRecord.ofVerdict(VERDICTS, 3, 42L, 1234L, verdict), fromVerdicts);
        assertEquals("traj-1", fromSteps.trajectoryId());
        assertEquals(Kind.VERDICT, fromVerdicts.kind());
        assertArrayEquals(step.toByteBuffer().array(), fromSteps.encodedStep, "a step keeps the bytes it came as");
        assertEquals(StepFields.of(step), fromSteps.stepFields(), "the fields its checks read");
        assertEquals(step.getStepIndex(), fromSteps.stepIndex());
        assertTrue(fromSteps.isTerminalStep() == (step.getTerminal() != TerminalKind.NONE));
    }

    /**
     * Java reads each malformed UTF-8 sequence as U+FFFD, silently: these two trajectory ids would both read as
     * "traj-\uFFFD1", and the steps of two trajectories would be assembled into one. Both are dead letters.
     */
    @Test
    void stepsWhoseTrajectoryIdsDifferOnlyInAMalformedByteAreBothDeadLetters() throws Exception {
        byte[] step = TestRecords.step("traj-?1", 0).toByteBuffer().array();
        for (byte malformed : new byte[] {(byte) 0xFF, (byte) 0xFE}) {
            DeadLetter dead = assertDeadLetter(STEPS, withByte(step, "traj-?1", malformed), Rule.MALFORMED_UTF8.name());
            assertEquals("STEP body: the 7-byte string at byte 11 is not UTF-8 (malformed from its byte 5)",
                    dead.getErrorMessage());
        }
    }

    /**
     * Every string of a step, not only its key: the ids it is grouped and joined by, and payload_ref, through which a
     * trainer fetches the step's tokens. Read in place, the step is declined; decoded, it is a dead letter.
     */
    @Test
    void aStepWithAnyStringThatIsNotUtf8IsADeadLetter() throws Exception {
        byte[] step = StepEvent.newBuilder(TestRecords.step("traj-?", 0)).setAgentId("agent-?").setTaskId("task-?")
                .setGroupId("group-?").setPayloadRef("s3://bucket/?").setObservationKey("obs-?").build()
                .toByteBuffer().array();
        for (String field : List.of("traj-?", "agent-?", "task-?", "group-?", "s3://bucket/?", "obs-?")) {
            byte[] value = withByte(step, field, (byte) 0xC3); // a lead byte without its continuation
            assertNull(StepEventCodec.fields(value), field + " is not read in place");
            assertDeadLetter(STEPS, value, Rule.MALFORMED_UTF8.name());
        }
    }

    @Test
    void anOutcomeOrAVerdictWithAnIdThatIsNotUtf8IsADeadLetter() throws Exception {
        byte[] outcome = OutcomeEvent.newBuilder(TestRecords.outcome("traj-?")).setSource("judge-?").build()
                .toByteBuffer().array();
        byte[] verdict = VerifierSignal.newBuilder(TestRecords.verdict("traj-?")).setVerifierId("prm-?").build()
                .toByteBuffer().array();

        DeadLetter dead = assertDeadLetter(OUTCOMES, withByte(outcome, "traj-?", (byte) 0xFF), Rule.MALFORMED_UTF8.name());
        assertTrue(dead.getErrorMessage().startsWith("OUTCOME body: "), dead.getErrorMessage());
        assertDeadLetter(OUTCOMES, withByte(outcome, "judge-?", (byte) 0xFF), Rule.MALFORMED_UTF8.name());
        assertDeadLetter(VERDICTS, withByte(verdict, "traj-?", (byte) 0xFE), Rule.MALFORMED_UTF8.name());
        // A continuation byte without its lead byte.
        dead = assertDeadLetter(VERDICTS, withByte(verdict, "prm-?", (byte) 0x80), Rule.MALFORMED_UTF8.name());
        assertTrue(dead.getErrorMessage().startsWith("VERDICT body: "), dead.getErrorMessage());
    }

    @Test
    void idsInAnyScriptAreDecoded() throws Exception {
        // The last is U+FFFD itself, well encoded: a character like any other, not a sign of malformed bytes.
        for (String id : List.of("задача-1", "traj-\uD83D\uDE80", "轨迹-1", "traj-\uFFFD1")) {
            StepEvent step = StepEvent.newBuilder(TestRecords.step(id, 0)).setAgentId(id).setTaskId(id).setGroupId(id)
                    .setPayloadRef("s3://bucket/" + id).setObservationKey(id).build();
            OutcomeEvent outcome = OutcomeEvent.newBuilder(TestRecords.outcome(id)).setSource(id).build();
            VerifierSignal verdict = VerifierSignal.newBuilder(TestRecords.verdict(id)).setVerifierId(id).build();

            InputRecord fromSteps = decode(STEPS, KEY, step.toByteBuffer().array());

            assertEquals(InputRecord.ofStep(STEPS, 3, 42L, 1234L, step), fromSteps);
            assertArrayEquals(step.toByteBuffer().array(), fromSteps.encodedStep, "read in place: " + id);
            assertEquals(id, fromSteps.trajectoryId());
            assertEquals(InputRecord.ofOutcome(OUTCOMES, 3, 42L, 1234L, outcome),
                    decode(OUTCOMES, KEY, outcome.toByteBuffer().array()));
            assertEquals(InputRecord.ofVerdict(VERDICTS, 3, 42L, 1234L, verdict),
                    decode(VERDICTS, KEY, verdict.toByteBuffer().array()));
        }
    }

    @Test
    void nullValueIsADeadLetter() {
        DeadLetter dead = deadLetter(decode(STEPS, KEY, null));
        assertEquals(Rule.NULL_VALUE.name(), dead.getErrorClass());
        assertArrayEquals(KEY, bytes(dead.getOriginalKey()));
        assertNull(dead.getOriginalValue());
    }

    @Test
    void emptyValueIsABadHeader() {
        assertDeadLetter(STEPS, new byte[0], Rule.BAD_HEADER.name());
    }

    @Test
    void flippedMagicByteIsABadHeader() throws Exception {
        byte[] value = TestRecords.step("traj-1", 0).toByteBuffer().array();
        value[1] ^= 0x10;
        DeadLetter dead = assertDeadLetter(STEPS, value, Rule.BAD_HEADER.name());
        assertTrue(dead.getErrorMessage().contains("C3 11"), dead.getErrorMessage());
    }

    @Test
    void flippedFingerprintByteIsAnUnknownSchema() throws Exception {
        byte[] value = TestRecords.step("traj-1", 0).toByteBuffer().array();
        value[5] ^= 0x01;
        assertDeadLetter(STEPS, value, Rule.UNKNOWN_SCHEMA.name());
    }

    @Test
    void foreignRecordTypeIsAnUnknownSchema() throws Exception {
        assertDeadLetter(STEPS, TestRecords.batch("batch-1").toByteBuffer().array(), Rule.UNKNOWN_SCHEMA.name());
    }

    @Test
    void outcomeOnTheStepsTopicIsTheWrongType() throws Exception {
        DeadLetter dead = assertDeadLetter(
                STEPS, TestRecords.outcome("traj-1").toByteBuffer().array(), Rule.WRONG_RECORD_TYPE.name());
        assertTrue(dead.getErrorMessage().contains("OUTCOME record on topic agent.steps"), dead.getErrorMessage());
    }

    @Test
    void truncatedBodyIsADeadLetter() throws Exception {
        byte[] value = TestRecords.step("traj-1", 0).toByteBuffer().array();
        assertDeadLetter(STEPS, Arrays.copyOf(value, value.length - 3), EOFException.class.getName());
    }

    @Test
    void flippedLengthBitIsADeadLetter() throws Exception {
        byte[] value = TestRecords.step("traj-1", 0).toByteBuffer().array();
        value[10] ^= 0x01; // the trajectory id's length, zig-zag 12 -> 13 = -7
        DeadLetter dead = deadLetter(decode(STEPS, KEY, value));
        assertArrayEquals(value, bytes(dead.getOriginalValue()));
    }

    @Test
    void bytesAfterTheRecordAreTrailingBytes() throws Exception {
        byte[] value = TestRecords.step("traj-1", 0).toByteBuffer().array();
        assertDeadLetter(STEPS, Arrays.copyOf(value, value.length + 2), Rule.TRAILING_BYTES.name());
    }

    @Test
    void hugeDeclaredLengthIsADeadLetterNotAnAllocation() throws Exception {
        byte[] header = Arrays.copyOf(TestRecords.step("traj-1", 0).toByteBuffer().array(), 10);
        // Zig-zag varint of 2^30: a string "length" of a gigabyte in a 15-byte value.
        byte[] value = Arrays.copyOf(header, 15);
        System.arraycopy(new byte[] {(byte) 0x80, (byte) 0x80, (byte) 0x80, (byte) 0x80, 0x08}, 0, value, 10, 5);
        DeadLetter dead = assertDeadLetter(STEPS, value, EOFException.class.getName());
        assertTrue(dead.getErrorMessage().contains("declared size 1073741824"), dead.getErrorMessage());
    }

    @Test
    void recordFromAnotherTopicIsUnexpected() throws Exception {
        assertDeadLetter("elsewhere", TestRecords.step("traj-1", 0).toByteBuffer().array(), Rule.UNEXPECTED_TOPIC.name());
    }

    @Test
    void randomCorruptionNeverThrowsAndKeepsTheBytes() throws Exception {
        byte[] valid = TestRecords.step("traj-1", 2).toByteBuffer().array();
        Random random = new Random(42);
        int deadLetters = 0;
        for (int i = 0; i < 10_000; i++) {
            byte[] value = Arrays.copyOf(valid, random.nextInt(valid.length + 8));
            for (int flips = random.nextInt(4); flips > 0; flips--) {
                int at = 10 + random.nextInt(Math.max(1, value.length - 10));
                if (at < value.length) {
                    value[at] ^= (byte) (1 << random.nextInt(8));
                }
            }
            InputRecord decoded = decode(STEPS, KEY, value);
            if (decoded.kind() == Kind.DEAD_LETTER) {
                deadLetters++;
                assertArrayEquals(value, bytes(decoded.deadLetter.getOriginalValue()));
            } else { // read in place or decoded, the step Avro reads, and the fields its checks read
                StepEvent byAvro = StepEvent.fromByteBuffer(ByteBuffer.wrap(value));
                assertEquals(InputRecord.ofStep(STEPS, 3, 42L, 1234L, byAvro), decoded);
                assertEquals(StepFields.of(byAvro), decoded.stepFields());
            }
        }
        assertTrue(deadLetters > 5_000, "most corruptions are caught: " + deadLetters);
    }

    private DeadLetter assertDeadLetter(String topic, byte[] value, String errorClass) {
        InputRecord decoded = decode(topic, KEY, value);
        DeadLetter dead = deadLetter(decoded);
        assertEquals(errorClass, dead.getErrorClass(), dead.getErrorMessage());
        assertEquals(topic, dead.getTopic());
        assertEquals(3, dead.getPartition());
        assertEquals(42L, dead.getOffset());
        assertArrayEquals(KEY, bytes(dead.getOriginalKey()));
        assertArrayEquals(value, bytes(dead.getOriginalValue()));
        assertTrue(!dead.getErrorMessage().isBlank());
        return dead;
    }

    private static DeadLetter deadLetter(InputRecord decoded) {
        assertEquals(Kind.DEAD_LETTER, decoded.kind(), () -> "expected a dead letter: " + decoded);
        assertEquals(decoded.topic, decoded.deadLetter.getTopic());
        return decoded.deadLetter;
    }

    private InputRecord decode(String topic, byte[] key, byte[] value) {
        List<InputRecord> out = new ArrayList<>();
        ConsumerRecord<byte[], byte[]> record = new ConsumerRecord<>(topic, 3, 42L, 1234L, TimestampType.CREATE_TIME,
                key.length, value == null ? -1 : value.length, key, value, new RecordHeaders(), Optional.empty());
        deserializer.deserialize(record, new ListCollector<>(out));
        assertEquals(1, out.size());
        return out.get(0);
    }

    /** A copy of {@code value} with the '?' of the first occurrence of {@code string} replaced by {@code b}. */
    private static byte[] withByte(byte[] value, String string, byte b) {
        byte[] bytes = string.getBytes(StandardCharsets.UTF_8);
        for (int i = 0; i + bytes.length <= value.length; i++) {
            if (Arrays.equals(value, i, i + bytes.length, bytes, 0, bytes.length)) {
                byte[] copy = value.clone();
                copy[i + string.indexOf('?')] = b;
                return copy;
            }
        }
        throw new AssertionError(string + " is not in the value");
    }

    private static byte[] bytes(ByteBuffer buffer) {
        byte[] copy = new byte[buffer.remaining()];
        buffer.duplicate().get(copy);
        return copy;
    }
}
