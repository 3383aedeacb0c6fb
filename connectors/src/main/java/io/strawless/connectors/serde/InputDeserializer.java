package io.strawless.connectors.serde;

import io.strawless.connectors.serde.InputRecord.Kind;
import io.strawless.schemas.DeadLetter;
import io.strawless.schemas.OutcomeEvent;
import io.strawless.schemas.SchemaHistory;
import io.strawless.schemas.StepEvent;
import io.strawless.schemas.VerifierSignal;
import java.nio.ByteBuffer;
import java.time.Instant;
import java.util.EnumSet;
import java.util.HashMap;
import java.util.Map;
import java.util.Set;
import org.apache.avro.SchemaNormalization;
import org.apache.avro.specific.SpecificDatumReader;
import org.apache.avro.specific.SpecificRecord;
import org.apache.flink.api.common.serialization.DeserializationSchema;
import org.apache.flink.api.common.typeinfo.TypeInformation;
import org.apache.flink.connector.kafka.source.reader.deserializer.KafkaRecordDeserializationSchema;
import org.apache.flink.util.Collector;
import org.apache.kafka.clients.consumer.ConsumerRecord;

/**
 * Decodes the records of all three input topics into {@link InputRecord}s, and turns every record
 * it cannot use into a dead letter instead of failing the job.
 *
 * <p>Values are Avro single-object encoded: {@code C3 01}, the 8-byte little-endian CRC-64-AVRO
 * fingerprint of the writer schema, then the body. The fingerprint says which record type (and schema
 * version) was written; the topic says which types may arrive there; Avro's {@link SpecificDatumReader}
 * decodes the body from that writer schema into the current generated class ({@link StepEventCodec} decodes the
 * steps of the current version).
 *
 * <p>Never throws: a null value, a bad header, an unknown fingerprint, a type that does not belong on
 * the topic, a body that does not decode, holds a string that is not UTF-8 or leaves bytes over, all become
 * {@link InputRecord#ofDeadLetter} carrying the original key and value bytes and the reason.
 */
public class InputDeserializer implements KafkaRecordDeserializationSchema<InputRecord> {

    private static final long serialVersionUID = 1L;

    /** Names of the checks this class makes itself; a body Avro cannot decode is named by its exception. */
    public enum Rule {
        NULL_VALUE,
        BAD_HEADER,
        UNKNOWN_SCHEMA,
        WRONG_RECORD_TYPE,
        TRAILING_BYTES,
        UNEXPECTED_TOPIC,
        /**
         * A string that is not UTF-8 (an id, an outcome's source, a payload_ref). Avro's decoder would read each
         * malformed sequence as U+FFFD: two trajectory ids malformed in the same place would be one trajectory.
         */
        MALFORMED_UTF8
    }

    /** A writer schema this reader accepts: the input type it decodes to, and the reader that resolves it. */
    private record Writer(Kind kind, SpecificDatumReader<? extends SpecificRecord> reader) {}

    /**
     * Steps written with the current schema, nine in ten input records, are read in place by {@link StepEventCodec}
     * ({@link StepEventCodec#fields}: no decoding, the same acceptance) or, where that declines, decoded by it (Avro's
     * decoder, without the reflective reader; the same checks, the same result); the rest by Avro's reader.
     */
    private static final long CURRENT_STEP = SchemaNormalization.parsingFingerprint64(StepEvent.getClassSchema());

    private final Map<String, Set<Kind>> kindsByTopic;

    /**
     * The writer schemas this reader accepts, by fingerprint: every version of each input type in its {@link
     * SchemaHistory}, and the current one. Agents upgrade one by one, and a backfill replays what older ones wrote:
     * a record of an earlier version is resolved to today's schema, not dead-lettered. One reader per writer, reused
     * for every record (they cache their schema resolution).
     */
    private transient Map<Long, Writer> writers;

    private transient StepEventCodec steps;

    /** Topic names come from {@code KafkaOptions}; one topic may carry several types if configured so. */
    public InputDeserializer(String stepsTopic, String outcomesTopic, String verdictsTopic) {
        Map<String, Set<Kind>> kinds = new HashMap<>();
        kinds.computeIfAbsent(stepsTopic, t -> EnumSet.noneOf(Kind.class)).add(Kind.STEP);
        kinds.computeIfAbsent(outcomesTopic, t -> EnumSet.noneOf(Kind.class)).add(Kind.OUTCOME);
        kinds.computeIfAbsent(verdictsTopic, t -> EnumSet.noneOf(Kind.class)).add(Kind.VERDICT);
        this.kindsByTopic = kinds;
    }

    @Override
    public void open(DeserializationSchema.InitializationContext context) {
        steps = new StepEventCodec();
        writers = new HashMap<>();
        accept(Kind.STEP, StepEvent.class);
        accept(Kind.OUTCOME, OutcomeEvent.class);
        accept(Kind.VERDICT, VerifierSignal.class);
    }

    private void accept(Kind kind, Class<? extends SpecificRecord> type) {
        SchemaHistory.readers(type).forEach((fingerprint, reader) -> writers.put(fingerprint, new Writer(kind, reader)));
    }

    @Override
    public void deserialize(ConsumerRecord<byte[], byte[]> record, Collector<InputRecord> out) {
        out.collect(decode(record));
    }

    private InputRecord decode(ConsumerRecord<byte[], byte[]> record) {
        byte[] value = record.value();
        if (value == null) {
            return deadLetter(record, Rule.NULL_VALUE.name(), "record has no value (null or tombstone)");
        }
        Set<Kind> expected = kindsByTopic.get(record.topic());
        if (expected == null) {
            return deadLetter(record, Rule.UNEXPECTED_TOPIC.name(),
                    "topic " + record.topic() + " is not one of the input topics " + kindsByTopic.keySet());
        }
        if (!SingleObjectHeader.startsWithHeader(value)) {
            return deadLetter(record, Rule.BAD_HEADER.name(),
                    "not Avro single-object encoded: expected " + SingleObjectHeader.EXPECTED + ", got "
                            + value.length + " bytes" + (value.length >= 2
                                    ? String.format(" starting %02X %02X", value[0], value[1]) : ""));
        }
        long fingerprint = SingleObjectHeader.fingerprint(value);
        Writer writer = writers.get(fingerprint);
        if (writer == null) {
            return deadLetter(record, Rule.UNKNOWN_SCHEMA.name(), String.format(
                    "writer schema fingerprint %016x is not a known version of %s", fingerprint, expected));
        }
        if (!expected.contains(writer.kind())) {
            return deadLetter(record, Rule.WRONG_RECORD_TYPE.name(),
                    "a " + writer.kind() + " record on topic " + record.topic() + ", which carries " + expected);
        }

        if (fingerprint == CURRENT_STEP) {
            // Most records: checked in place, passed on as their bytes (null: not plainly well formed, decode it).
            StepFields fields = StepEventCodec.fields(value);
            if (fields != null) {
                return InputRecord.ofStep(
                        record.topic(), record.partition(), record.offset(), record.timestamp(), value, fields);
            }
        }
        BoundedBinaryDecoder body = new BoundedBinaryDecoder(value, SingleObjectHeader.LENGTH);
        SpecificRecord event;
        try {
            event = fingerprint == CURRENT_STEP ? steps.read(body) : writer.reader().read(null, body);
        } catch (BoundedBinaryDecoder.MalformedUtf8Exception e) {
            return deadLetter(record, Rule.MALFORMED_UTF8.name(), writer.kind() + " body: " + e.getMessage());
        } catch (Exception e) {
            // Avro reports a corrupt body as EOFException, AvroRuntimeException (a bad union or enum
            // index...) or the odd unchecked exception from a garbage value.
            return deadLetter(record, e.getClass().getName(),
                    "undecodable " + writer.kind() + " body: " + (e.getMessage() != null ? e.getMessage() : e));
        }
        // Avro has no checksum: a body with corrupted lengths can still decode, but then rarely ends
        // exactly at the end of the value.
        if (body.remaining() > 0) {
            return deadLetter(record, Rule.TRAILING_BYTES.name(), body.remaining()
                    + " bytes left over after the " + writer.kind() + " record (of " + value.length + ")");
        }
        return withProvenance(record, event);
    }

    private static InputRecord withProvenance(ConsumerRecord<byte[], byte[]> record, SpecificRecord event) {
        String topic = record.topic();
        int partition = record.partition();
        long offset = record.offset();
        long timestamp = record.timestamp();
        if (event instanceof StepEvent step) {
            // Decoded here, a step is encoded again by the job, not passed on as it came: it came in another schema
            // version, or in bytes the in-place reader found unusual (a boolean byte other than 0 or 1, an int
            // Avro would truncate), which Avro reads as the value that the job then writes.
            return InputRecord.ofStep(topic, partition, offset, timestamp, step);
        }
        if (event instanceof OutcomeEvent outcome) {
            return InputRecord.ofOutcome(topic, partition, offset, timestamp, outcome);
        }
        if (event instanceof VerifierSignal verdict) {
            return InputRecord.ofVerdict(topic, partition, offset, timestamp, verdict);
        }
        throw new IllegalStateException("no input kind for " + event.getClass());
    }

    private static InputRecord deadLetter(
            ConsumerRecord<byte[], byte[]> record, String errorClass, String errorMessage) {
        DeadLetter deadLetter = DeadLetter.newBuilder()
                .setTopic(record.topic())
                .setPartition(record.partition())
                .setOffset(record.offset())
                .setOriginalKey(record.key() == null ? null : ByteBuffer.wrap(record.key()))
                .setOriginalValue(record.value() == null ? null : ByteBuffer.wrap(record.value()))
                .setErrorClass(errorClass)
                .setErrorMessage(errorMessage == null ? "" : errorMessage)
                // Millisecond precision, as the schema stores it, so the record equals its round trip.
                .setFailedAt(Instant.ofEpochMilli(System.currentTimeMillis()))
                .build();
        return InputRecord.ofDeadLetter(
                record.topic(), record.partition(), record.offset(), record.timestamp(), deadLetter);
    }

    @Override
    public TypeInformation<InputRecord> getProducedType() {
        return TypeInformation.of(InputRecord.class);
    }
}
