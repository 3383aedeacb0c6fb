package io.strawless.connectors.serde;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.strawless.schemas.DeadLetter;
import io.strawless.schemas.ScoredStep;
import io.strawless.schemas.ScoredTrajectory;
import io.strawless.schemas.TrainingBatch;
import io.strawless.schemas.StepEvent;
import io.strawless.schemas.UnscoredTrajectory;
import io.strawless.schemas.VerifierSignal;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import org.apache.flink.api.common.serialization.SerializationSchema.InitializationContext;
import org.apache.flink.metrics.Counter;
import org.apache.flink.metrics.MetricGroup;
import org.apache.flink.metrics.SimpleCounter;
import org.apache.flink.metrics.groups.UnregisteredMetricsGroup;
import org.apache.flink.util.SimpleUserCodeClassLoader;
import org.apache.flink.util.UserCodeClassLoader;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.junit.jupiter.api.Test;

/** Every record the job writes fits kafka.max-record-bytes; what had to go says so, and the rest is unchanged. */
class OutputRecordSerializerTest {

    private static final int LIMIT = 262_144;

    private final Counter trimmed = new SimpleCounter();

    private <T> ProducerRecord<byte[], byte[]> write(OutputRecordSerializer<T> serializer, T record, Long timestamp)
            throws Exception {
        serializer.open(new InitializationContext() {
            @Override
            public MetricGroup getMetricGroup() {
                return new UnregisteredMetricsGroup() {
                    @Override
                    public Counter counter(String name) {
                        assertEquals("recordsTrimmed", name);
                        return trimmed;
                    }
                };
            }

            @Override
            public UserCodeClassLoader getUserCodeClassLoader() {
                return SimpleUserCodeClassLoader.create(getClass().getClassLoader());
            }
        }, null);
        return serializer.serialize(record, null, timestamp);
    }

    private static int size(ProducerRecord<byte[], byte[]> record) {
        return (record.key() == null ? 0 : record.key().length) + record.value().length;
    }

    @Test
    void aRecordWithinTheLimitIsWrittenAsItIsWithItsTimestamp() throws Exception {
        UnscoredTrajectory unscored = TestRecords.unscored("t1");
        ProducerRecord<byte[], byte[]> record = write(OutputRecordSerializer.unscored("credit.unscored", LIMIT), unscored, 42L);

        assertEquals("credit.unscored", record.topic());
        assertEquals(42L, record.timestamp());
        assertArrayEquals("t1".getBytes(StandardCharsets.UTF_8), record.key());
        assertEquals(unscored, UnscoredTrajectory.fromByteBuffer(ByteBuffer.wrap(record.value())));
        assertNull(write(OutputRecordSerializer.unscored("u", LIMIT), unscored, -1L).timestamp(), "no timestamp: Kafka's");
        assertEquals(0, trimmed.getCount());
    }

    @Test
    void anUnscoredTrajectoryOverTheLimitLosesItsTokenIdsFirst() throws Exception {
        List<StepEvent> steps = new ArrayList<>();
        for (int i = 0; i < 12; i++) {
            steps.add(StepEvent.newBuilder(TestRecords.step("big", i)).setTokenIds(Collections.nCopies(10_000, 100_000))
                    .build()); // 30 KB each
        }
        UnscoredTrajectory big = UnscoredTrajectory.newBuilder(TestRecords.unscored("big")).setSteps(steps).build();

        ProducerRecord<byte[], byte[]> record = write(OutputRecordSerializer.unscored("u", LIMIT), big, 42L);

        assertTrue(size(record) <= LIMIT, size(record) + " bytes");
        UnscoredTrajectory written = UnscoredTrajectory.fromByteBuffer(ByteBuffer.wrap(record.value()));
        assertEquals(12, written.getSteps().size(), "the steps stay");
        assertTrue(written.getSteps().stream().allMatch(s -> s.getTokenIds() == null));
        assertEquals(big.getSteps().get(3).getPayloadRef(), written.getSteps().get(3).getPayloadRef());
        assertEquals(big.getOutcomes(), written.getOutcomes());
        assertTrue(written.getDetail().startsWith("no outcome within 10 min [its steps' token ids are left out: the record"
                + " was "), written.getDetail());
        assertTrue(written.getDetail().endsWith("more than kafka.max-record-bytes=262144; the steps are in their input"
                + " topic]"), written.getDetail());
        assertEquals(42L, record.timestamp());
        assertEquals(1, trimmed.getCount());
    }

    @Test
    void thenItsStepsOutcomesAndVerdicts() throws Exception {
        List<VerifierSignal> verdicts = new ArrayList<>();
        for (int i = 0; i < 20_000; i++) {
            verdicts.add(TestRecords.verdict("many"));
        }
        UnscoredTrajectory many = UnscoredTrajectory.newBuilder(TestRecords.unscored("many")).setVerdicts(verdicts).build();

        ProducerRecord<byte[], byte[]> record = write(OutputRecordSerializer.unscored("u", LIMIT), many, 42L);

        assertTrue(size(record) <= LIMIT, size(record) + " bytes");
        UnscoredTrajectory written = UnscoredTrajectory.fromByteBuffer(ByteBuffer.wrap(record.value()));
        assertEquals(List.of(), written.getVerdicts());
        assertEquals(List.of(), written.getSteps());
        assertEquals(many.getReason(), written.getReason());
        assertTrue(written.getDetail().contains("[its 2 steps, 1 outcomes and 20000 verdicts are left out"), written.getDetail());
        assertEquals(1, trimmed.getCount(), "one record trimmed, however many steps it took");
    }

    /** The scoring stage keeps batches within the limit; one that is not fails here with what to do, not in Kafka. */
    @Test
    void aBatchOverTheLimitFailsWithTheSettingToRaise() throws Exception {
        TrainingBatch batch = TestRecords.batch("b1");
        ScoredTrajectory big = TrainingBatch.newBuilder(batch).build().getTrajectories().get(0);
        List<ScoredStep> steps = new ArrayList<>();
        for (int i = 0; i < 10; i++) {
            steps.add(ScoredStep.newBuilder(big.getSteps().get(0)).setTokenIds(Collections.nCopies(10_000, 100_000))
                    .build());
        }
        TrainingBatch tooBig = TrainingBatch.newBuilder(batch)
                .setTrajectories(List.of(ScoredTrajectory.newBuilder(big).setSteps(steps).build())).build();

        IllegalStateException e = assertThrows(IllegalStateException.class,
                () -> write(OutputRecordSerializer.batches("credit.batches", LIMIT), tooBig, 1L));

        assertTrue(e.getMessage().startsWith("a record for credit.batches is 3"), e.getMessage());
        assertTrue(e.getMessage().endsWith("raise kafka.max-record-bytes, and credit.batches's max.message.bytes with it,"
                + " to get past it"), e.getMessage());
    }

    @Test
    void aDeadLetterOverTheLimitLosesTheOriginalBytesAndSaysWhereTheyAre() throws Exception {
        byte[] value = new byte[300_000];
        DeadLetter deadLetter = TestRecords.deadLetter("k".getBytes(StandardCharsets.UTF_8), value);

        ProducerRecord<byte[], byte[]> record = write(OutputRecordSerializer.deadLetters("credit.dlq", LIMIT), deadLetter, 7L);

        assertTrue(size(record) <= LIMIT, size(record) + " bytes");
        assertArrayEquals("k".getBytes(StandardCharsets.UTF_8), record.key(), "the key stays");
        DeadLetter written = DeadLetter.fromByteBuffer(ByteBuffer.wrap(record.value()));
        assertNull(written.getOriginalValue());
        assertTrue(written.getErrorMessage().startsWith("not Avro [the original value (300000 bytes) is left out:"
                + " the record was "), written.getErrorMessage());
        assertTrue(written.getErrorMessage().endsWith("it is at offset 99 of agent.steps-3]"), written.getErrorMessage());

        DeadLetter hugeKey = TestRecords.deadLetter(new byte[300_000], new byte[10]);
        record = write(OutputRecordSerializer.deadLetters("credit.dlq", LIMIT), hugeKey, 7L);
        assertNull(record.key());
        written = DeadLetter.fromByteBuffer(ByteBuffer.wrap(record.value()));
        assertNull(written.getOriginalKey());
        assertTrue(written.getErrorMessage().contains("[the original key is left out too"), written.getErrorMessage());
    }
}
