package io.strawless.connectors.trainer;

import io.strawless.connectors.serde.BoundedBinaryDecoder;
import io.strawless.connectors.serde.SingleObjectHeader;
import io.strawless.schemas.SchemaHistory;
import io.strawless.schemas.TrainingBatch;
import java.util.Map;
import org.apache.avro.message.BadHeaderException;
import org.apache.avro.message.MissingSchemaException;
import org.apache.avro.specific.SpecificDatumReader;
import org.apache.kafka.common.errors.SerializationException;
import org.apache.kafka.common.serialization.Deserializer;

/**
 * Decodes a {@code credit.batches} value (Avro single-object encoding): checks the {@code C3 01} header and
 * resolves the writer schema by its fingerprint, today's schema or any older version a Strawless release wrote
 * ({@link SchemaHistory}). Batches written before an upgrade stay on the topic for its retention; a trainer that
 * starts from the earliest offset reads them too.
 *
 * <p>The body is read through {@link BoundedBinaryDecoder}, as the job reads its inputs: a corrupt length or
 * count larger than the bytes left fails the record instead of allocating what it declares (Avro's own decoder
 * would try gigabytes, and the consumer does not catch the OutOfMemoryError). Avro has no checksum, so a body
 * must also end exactly at the end of the value: bytes left over mean a corrupt or foreign value.
 *
 * <p>A value that does not decode fails with a {@link SerializationException} naming the topic and the reason;
 * the Kafka consumer turns it into a {@link org.apache.kafka.common.errors.RecordDeserializationException} naming
 * the partition and offset (the {@code Deserializer} interface is never told them), after handing out the
 * records before it. A writer schema it does not know is Avro's {@link MissingSchemaException} in that
 * exception's causes: {@link BatchSubscriber#isUnknownSchema} looks for it there.
 */
final class TrainingBatchDeserializer implements Deserializer<TrainingBatch> {

    /** One reader per writer fingerprint, each resolving that version to today's schema. */
    private final Map<Long, SpecificDatumReader<TrainingBatch>> readers = SchemaHistory.readers(TrainingBatch.class);

    @Override
    public TrainingBatch deserialize(String topic, byte[] value) {
        if (value == null) {
            throw new SerializationException("a record on " + topic + " has no value (null or tombstone)");
        }
        TrainingBatch batch;
        BoundedBinaryDecoder body;
        try {
            if (!SingleObjectHeader.startsWithHeader(value)) {
                throw new BadHeaderException("expected " + SingleObjectHeader.EXPECTED);
            }
            long fingerprint = SingleObjectHeader.fingerprint(value);
            SpecificDatumReader<TrainingBatch> reader = readers.get(fingerprint);
            if (reader == null) {
                throw new MissingSchemaException(String.format(
                        "writer schema fingerprint %016x is not a known version of TrainingBatch", fingerprint));
            }
            body = new BoundedBinaryDecoder(value, SingleObjectHeader.LENGTH);
            batch = reader.read(null, body);
        } catch (Exception e) {
            // Bad header, unknown writer schema, or a corrupt body: a length or count beyond the bytes left
            // (EOFException), a string that is not UTF-8 (an IOException), a bad union or enum index
            // (AvroRuntimeException), the odd unchecked exception from a garbage value.
            throw undecodable(topic, value, e.toString(), e);
        }
        if (body.remaining() > 0) {
            throw undecodable(topic, value, body.remaining() + " bytes left over after the record", null);
        }
        return batch;
    }

    private static SerializationException undecodable(String topic, byte[] value, String reason, Exception cause) {
        return new SerializationException("not a TrainingBatch in Avro single-object encoding (" + value.length
                + " bytes on topic " + topic + "): " + reason, cause);
    }
}
