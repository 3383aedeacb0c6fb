package io.strawless.connectors.serde;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.strawless.schemas.DeadLetter;
import io.strawless.schemas.OutcomeEvent;
import io.strawless.schemas.StepEvent;
import io.strawless.schemas.TrainingBatch;
import io.strawless.schemas.UnscoredTrajectory;
import io.strawless.schemas.VerifierSignal;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.stream.Stream;
import org.apache.avro.SchemaNormalization;
import org.apache.avro.message.BinaryMessageDecoder;
import org.apache.avro.specific.SpecificRecord;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/** What the sinks write is what the generated decoders (and so any Avro reader) read back. */
class SingleObjectRoundTripTest {

    static Stream<Arguments> records() {
        return Stream.of(
                Arguments.of(TestRecords.step("traj-1", 2), StepEvent.getDecoder()),
                Arguments.of(TestRecords.outcome("traj-1"), OutcomeEvent.getDecoder()),
                Arguments.of(TestRecords.verdict("traj-1"), VerifierSignal.getDecoder()),
                Arguments.of(TestRecords.batch("batch-1"), TrainingBatch.getDecoder()),
                Arguments.of(TestRecords.deadLetter(new byte[] {1, 2}, new byte[] {3}), DeadLetter.getDecoder()),
                Arguments.of(TestRecords.deadLetter(null, null), DeadLetter.getDecoder()),
                Arguments.of(TestRecords.unscored("traj-1"), UnscoredTrajectory.getDecoder()));
    }

    @ParameterizedTest
    @MethodSource("records")
    <T extends SpecificRecord> void roundTripsThroughSingleObjectEncoding(T record, BinaryMessageDecoder<T> decoder)
            throws Exception {
        @SuppressWarnings("unchecked")
        SingleObjectSerializer<T> serializer = new SingleObjectSerializer<>((Class<T>) record.getClass());
        serializer.open(null);

        byte[] bytes = serializer.serialize(record);

        assertEquals((byte) 0xC3, bytes[0]);
        assertEquals((byte) 0x01, bytes[1]);
        long fingerprint = ByteBuffer.wrap(bytes, 2, 8).order(ByteOrder.LITTLE_ENDIAN).getLong();
        assertEquals(SchemaNormalization.parsingFingerprint64(record.getSchema()), fingerprint);
        assertTrue(SingleObjectHeader.startsWithHeader(bytes));
        assertEquals(fingerprint, SingleObjectHeader.fingerprint(bytes), "the deserializers read the same fingerprint");
        assertEquals(record, decoder.decode(bytes));
    }
}
