package io.strawless.connectors.trainer;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.strawless.schemas.OffsetRange;
import io.strawless.schemas.ScoredStep;
import io.strawless.schemas.ScoredTrajectory;
import io.strawless.schemas.SchemaHistory;
import io.strawless.schemas.TrainingBatch;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.time.Instant;
import java.util.Arrays;
import java.util.List;
import org.apache.avro.Schema;
import org.apache.avro.generic.GenericData;
import org.apache.avro.generic.GenericDatumReader;
import org.apache.avro.generic.GenericRecord;
import org.apache.avro.io.DecoderFactory;
import org.apache.avro.io.EncoderFactory;
import org.apache.avro.message.BinaryMessageEncoder;
import org.apache.avro.specific.SpecificDatumWriter;
import org.apache.kafka.common.errors.SerializationException;
import org.junit.jupiter.api.Test;

class TrainingBatchDeserializerTest {

    static TrainingBatch batch() {
        ScoredStep step = ScoredStep.newBuilder().setStepIndex(0).setTrainable(true).setAdvantage(0.5).setTargetReturn(1)
                .build();
        ScoredTrajectory trajectory = ScoredTrajectory.newBuilder().setTrajectoryId("t").setAgentId("a").setTaskId("k")
                .setOutcomeReward(1.0).setSuccess(true).setSteps(List.of(step)).build();
        return TrainingBatch.newBuilder().setBatchId("b").setCreatedAt(Instant.ofEpochMilli(1_000)).setEstimator("grpo")
                .setConfigFingerprint("grpo-x").setBackend("java").setMinPolicyVersion(1).setMaxPolicyVersion(2)
                .setLineage(List.of(new OffsetRange("agent.steps", 0, 1L, 2L))).setTrajectories(List.of(trajectory))
                .build();
    }

    /** {@code batch} as a release that wrote {@code writer} would have sent it (single-object encoding). */
    static byte[] writtenWith(Schema writer, TrainingBatch batch) throws IOException {
        ByteArrayOutputStream current = new ByteArrayOutputStream();
        var encoder = EncoderFactory.get().binaryEncoder(current, null);
        new SpecificDatumWriter<TrainingBatch>(TrainingBatch.getClassSchema()).write(batch, encoder);
        encoder.flush();
        // Read today's bytes with the old schema as the reader: the fields the old version had.
        GenericRecord old = new GenericDatumReader<GenericRecord>(TrainingBatch.getClassSchema(), writer)
                .read(null, DecoderFactory.get().binaryDecoder(current.toByteArray(), null));
        return new BinaryMessageEncoder<GenericRecord>(GenericData.get(), writer).encode(old).array();
    }

    @Test
    void readsBatchesWrittenWithEveryEarlierSchema() throws IOException {
        List<Schema> history = SchemaHistory.of("TrainingBatch");
        assertTrue(history.size() >= 3, "v1, v2, v3 at least");
        TrainingBatchDeserializer deserializer = new TrainingBatchDeserializer();
        for (int v = 0; v < history.size(); v++) {
            TrainingBatch read = deserializer.deserialize("credit.batches", writtenWith(history.get(v), batch()));
            assertEquals("b", read.getBatchId(), "v" + (v + 1));
            assertEquals(0.5, read.getTrajectories().get(0).getSteps().get(0).getAdvantage(), "v" + (v + 1));
            assertEquals("grpo-x", read.getConfigFingerprint(), "v" + (v + 1));
        }
    }

    /** A TrainingBatch schema as a release after this client's might write it: one field more. */
    static Schema newerReleasesSchema() {
        return new Schema.Parser().parse(TrainingBatch.getClassSchema().toString()
                .replaceFirst("\"fields\":\\[", "\"fields\":[{\"name\":\"extra\",\"type\":\"int\",\"default\":0},"));
    }

    @Test
    void aSchemaNoReleaseWroteIsRefusedWithTheReason() {
        SerializationException e = assertThrows(SerializationException.class, () -> new TrainingBatchDeserializer()
                .deserialize("credit.batches", writtenWith(newerReleasesSchema(), batch())));
        assertTrue(e.getMessage().contains("MissingSchemaException"), e.getMessage());
    }

    /**
     * A corrupt count (here the lineage array's, about two billion) fails the record naming what it declared,
     * instead of Avro allocating an array of that size first (an OutOfMemoryError the consumer does not catch).
     */
    @Test
    void aCorruptLengthFailsTheRecordWithoutAllocatingIt() throws IOException {
        byte[] valid = TrainingBatch.getEncoder().encode(batch()).array();
        ByteArrayOutputStream corrupt = new ByteArrayOutputStream();
        corrupt.write(valid, 0, 10); // the header of today's schema
        // batch_id "b", created_at 0, estimator, config_fingerprint and backend "", policy versions 0 and 0
        corrupt.writeBytes(new byte[] {0x02, 'b', 0, 0, 0, 0, 0, 0});
        // then the lineage array: a block of 2^31 - 16 items, as a zigzag varint
        corrupt.writeBytes(new byte[] {(byte) 0xE0, (byte) 0xFF, (byte) 0xFF, (byte) 0xFF, 0x0F});

        SerializationException e = assertThrows(SerializationException.class,
                () -> new TrainingBatchDeserializer().deserialize("credit.batches", corrupt.toByteArray()));
        assertTrue(e.getMessage().contains("array block of declared size 2147483632 with only 0 bytes left"),
                e.getMessage());
        assertTrue(e.getMessage().contains("on topic credit.batches"), e.getMessage());
    }

    /** Avro has no checksum: a value that decodes but goes on past the record is corrupt or foreign, not a batch. */
    @Test
    void bytesLeftOverAfterTheRecordAreRefused() throws IOException {
        byte[] valid = TrainingBatch.getEncoder().encode(batch()).array();
        byte[] padded = Arrays.copyOf(valid, valid.length + 3);

        assertEquals("b", new TrainingBatchDeserializer().deserialize("credit.batches", valid).getBatchId());
        SerializationException e = assertThrows(SerializationException.class,
                () -> new TrainingBatchDeserializer().deserialize("credit.batches", padded));
        assertEquals("not a TrainingBatch in Avro single-object encoding (" + padded.length + " bytes on topic"
                + " credit.batches): 3 bytes left over after the record", e.getMessage());
    }
}
