package io.strawless.connectors.trainer;

import io.strawless.schemas.SchemaHistory;
import io.strawless.schemas.TrainingBatch;
import org.apache.avro.message.BinaryMessageDecoder;
import java.io.IOException;
import org.apache.kafka.common.errors.SerializationException;
import org.apache.kafka.common.serialization.Deserializer;

/**
 * Decodes a {@code credit.batches} value (Avro single-object encoding) with the generated class's decoder,
 * which checks the {@code C3 01} header and resolves the writer schema by its fingerprint: today's schema, or
 * any older version a Strawless release wrote ({@link SchemaHistory}). Batches written before an upgrade stay
 * on the topic for its retention; a trainer that starts from the earliest offset reads them too.
 *
 * <p>A value that does not decode fails with a {@link SerializationException}; the Kafka consumer turns it
 * into a {@link org.apache.kafka.common.errors.RecordDeserializationException} naming the partition and
 * offset, after handing out the records before it.
 */
final class TrainingBatchDeserializer implements Deserializer<TrainingBatch> {

    private static final BinaryMessageDecoder<TrainingBatch> DECODER = SchemaHistory.decoder(TrainingBatch.class);

    @Override
    public TrainingBatch deserialize(String topic, byte[] value) {
        if (value == null) {
            throw new SerializationException("a record on " + topic + " has no value (null or tombstone)");
        }
        try {
            return DECODER.decode(value);
        } catch (IOException | RuntimeException e) {
            // Bad header (BadHeaderException), unknown writer schema (MissingSchemaException), or a corrupt
            // body (EOFException, AvroRuntimeException, the odd unchecked exception from garbage lengths).
            throw new SerializationException("not a TrainingBatch in Avro single-object encoding (" + value.length
                    + " bytes): " + e, e);
        }
    }
}
