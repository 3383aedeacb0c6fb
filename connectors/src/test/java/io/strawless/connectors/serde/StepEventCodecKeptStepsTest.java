package io.strawless.connectors.serde;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.strawless.schemas.StepEvent;
import io.strawless.schemas.TerminalKind;
import java.nio.ByteBuffer;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * Steps an earlier release kept in its savepoints as they came, in bytes Avro's reader accepts and the in-place
 * cursor refuses: every in-place accessor reads them as Avro's decoding does, or every restore of such a savepoint
 * would fail on the trajectory that holds one.
 */
class StepEventCodecKeptStepsTest {

    private static final int HEADER = 10;

    /** Trajectory "t1" (its length, 2, is the zig-zag varint 4) and step index 2 (also 4), terminal TRUNCATED. */
    private static final StepEvent STEP = TestRecords.step("t1", 2);

    @Test
    void aStepIndexInFiveBytesWhoseHighBitsAvroDropsReadsAsAvroReadsIt() throws Exception {
        byte[] canonical = new StepEventCodec().encode(STEP);
        int stepIndex = HEADER + 1 + "t1".length();
        assertEquals(4, canonical[stepIndex]);
        // 2, with a bit set above the 32 an int holds: Avro's reader drops it and reads 2.
        assertReadAsAvroReadsIt(replaced(canonical, stepIndex, 0x84, 0x80, 0x80, 0x80, 0x10));
    }

    @Test
    void aTrajectoryIdLengthInSixBytesReadsAsAvroReadsIt() throws Exception {
        byte[] canonical = new StepEventCodec().encode(STEP);
        assertEquals(4, canonical[HEADER]);
        // Length 2, padded to 6 bytes: Avro reads a string's length as a long (up to 10 bytes), the cursor as an int.
        assertReadAsAvroReadsIt(replaced(canonical, HEADER, 0x84, 0x80, 0x80, 0x80, 0x80, 0x00));
    }

    private static void assertReadAsAvroReadsIt(byte[] unusual) throws Exception {
        StepEvent byAvro = StepEvent.fromByteBuffer(ByteBuffer.wrap(unusual));
        assertEquals(STEP, byAvro, "Avro's reader accepts the bytes");
        assertNull(StepEventCodec.fields(unusual), "the cursor refuses them");

        assertEquals(byAvro, new StepEventCodec().decode(unusual));
        assertEquals(byAvro.getStepIndex(), StepEventCodec.stepIndex(unusual));
        assertEquals(byAvro.getTrajectoryId(), StepEventCodec.trajectoryId(unusual));
        assertEquals(byAvro.getPolicyVersion(), StepEventCodec.policyVersion(unusual));
        assertEquals(byAvro.getTerminal() != TerminalKind.NONE, StepEventCodec.isTerminal(unusual));
        byte[] fields = StepEventCodec.trajectoryFields(new StepEventCodec().encode(byAvro));
        assertArrayEquals(fields, StepEventCodec.trajectoryFields(unusual));
        assertTrue(StepEventCodec.hasTrajectoryFields(unusual, fields));
        EncodedSteps steps = new EncodedSteps(List.of(unusual));
        assertEquals(byAvro.getPolicyVersion(), steps.minPolicyVersion());
        assertEquals(byAvro.getPolicyVersion(), steps.maxPolicyVersion());
        assertBoundCoversWhatIsWritten(unusual, byAvro);
    }

    /** The bound of the encoded step is at least that of the decoded step, which is exact (BatchSizeBoundTest). */
    private static void assertBoundCoversWhatIsWritten(byte[] encoded, StepEvent decoded) {
        for (boolean processRewards : new boolean[] {false, true}) {
            long exact = TrainingBatchSerializer.trajectoryBytesBound("t1", "agent-7", "task-42", "group-1", 0,
                    List.of(decoded), processRewards);
            long bound = TrainingBatchSerializer.trajectoryBytesBound("t1", "agent-7", "task-42", "group-1", 0,
                    new EncodedSteps(List.of(encoded)), processRewards);
            assertTrue(bound >= exact, bound + " bytes counted, " + exact + " written");
        }
    }

    /** {@code bytes} with the byte at {@code at} replaced by {@code with}. */
    private static byte[] replaced(byte[] bytes, int at, int... with) {
        byte[] result = new byte[bytes.length - 1 + with.length];
        System.arraycopy(bytes, 0, result, 0, at);
        for (int i = 0; i < with.length; i++) {
            result[at + i] = (byte) with[i];
        }
        System.arraycopy(bytes, at + 1, result, at + with.length, bytes.length - at - 1);
        return result;
    }
}
