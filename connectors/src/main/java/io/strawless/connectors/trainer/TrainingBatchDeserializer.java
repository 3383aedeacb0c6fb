package io.strawless.connectors.trainer;

import io.strawless.schemas.TrainingBatch;
import java.io.IOException;
import org.apache.kafka.common.errors.SerializationException;
import org.apache.kafka.common.serialization.Deserializer;

/**
 * Decodes a {@code credit.batches} value (Avro single-object encoding) with the generated class's own
 * decoder, which checks the {@code C3 01} header and resolves the writer schema by its fingerprint.
 *
 * <p>A value that does not decode fails with a {@link SerializationException}; the Kafka consumer turns it
 * into a {@link org.apache.kafka.common.errors.RecordDeserializationException} naming the partition and
 * offset, after handing out the records before it.
 */
final class TrainingBatchDeserializer implements Deserializer<TrainingBatch> {

    @Override
    public TrainingBatch deserialize(String topic, byte[] value) {
        if (value == null) {
            throw new SerializationException("a record on " + topic + " has no value (null or tombstone)");
        }
        try {
            return TrainingBatch.getDecoder().decode(value);
        } catch (IOException | RuntimeException e) {
            // Bad header (BadHeaderException), unknown writer schema (MissingSchemaException), or a corrupt
            // body (EOFException, AvroRuntimeException, the odd unchecked exception from garbage lengths).
            throw new SerializationException("not a TrainingBatch in Avro single-object encoding (" + value.length
                    + " bytes): " + e, e);
        }
    }
}
