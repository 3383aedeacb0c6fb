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

    @Test
    void aSchemaNoReleaseWroteIsRefusedWithTheReason() {
        Schema unknown = new Schema.Parser().parse(TrainingBatch.getClassSchema().toString()
                .replaceFirst("\"fields\":\\[", "\"fields\":[{\"name\":\"extra\",\"type\":\"int\",\"default\":0},"));
        SerializationException e = assertThrows(SerializationException.class,
                () -> new TrainingBatchDeserializer().deserialize("credit.batches", writtenWith(unknown, batch())));
        assertTrue(e.getMessage().contains("MissingSchemaException"), e.getMessage());
    }
}
