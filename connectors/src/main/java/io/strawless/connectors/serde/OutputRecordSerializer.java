package io.strawless.connectors.serde;

import io.strawless.connectors.KafkaOptions;
import io.strawless.schemas.DeadLetter;
import io.strawless.schemas.StepEvent;
import io.strawless.schemas.UnscoredTrajectory;
import java.io.Serializable;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.function.Function;
import org.apache.flink.api.common.serialization.SerializationSchema;
import org.apache.flink.api.common.serialization.SerializationSchema.InitializationContext;
import org.apache.flink.connector.kafka.lineage.DefaultKafkaDatasetFacet;
import org.apache.flink.connector.kafka.lineage.DefaultKafkaDatasetIdentifier;
import org.apache.flink.connector.kafka.lineage.KafkaDatasetFacet;
import org.apache.flink.connector.kafka.lineage.KafkaDatasetFacetProvider;
import org.apache.flink.connector.kafka.sink.KafkaRecordSerializationSchema;
import org.apache.flink.metrics.Counter;
import org.apache.kafka.clients.producer.ProducerRecord;

/**
 * Turns one output of the job into its Kafka record, and keeps the record within {@code kafka.max-record-bytes}.
 *
 * <p>Why: a record over the producer's {@code max.request.size} (or the topic's {@code max.message.bytes}) fails
 * the sink's transaction, the job restores from its last checkpoint, rebuilds the same record and fails again: a
 * restart loop over one record. Training batches are closed before they could grow past the limit (the scoring
 * stage bounds their size, see {@link TrainingBatchSerializer#trajectoryBytesBound}). What else the job writes
 * describes an input it could not use, and is shrunk here, step by step, until it fits: an unscored trajectory
 * loses its steps' token ids, then its steps, outcomes and verdicts; a dead letter loses the original value, then the
 * original key. Each says what it lost and where the inputs still are, and {@code recordsTrimmed} counts them.
 *
 * <p>The record's timestamp is the stream record's (the stamping operators set it), as Flink's own builder does; and
 * it names its topic to the sink ({@link KafkaDatasetFacetProvider}), as the builder's does: the sink's pooling
 * transaction naming lists the open transactions on it.
 */
public final class OutputRecordSerializer<T> implements KafkaRecordSerializationSchema<T>, KafkaDatasetFacetProvider {

    private static final long serialVersionUID = 1L;

    /** Returns a smaller version of a record that was {@code bytes} long, key and value, over {@code maxBytes}. */
    @FunctionalInterface
    public interface Shrink<T> extends Serializable {
        T apply(T record, int bytes, int maxBytes);
    }

    /** A record's key (null for none), from the record. */
    @FunctionalInterface
    public interface Key<T> extends Function<T, byte[]>, Serializable {}

    private final String topic;
    private final Key<T> key;
    private final SerializationSchema<T> value;
    private final int maxBytes;
    private final List<Shrink<T>> shrinks;
    private transient Counter trimmed;

    private OutputRecordSerializer(String topic, Key<T> key, SerializationSchema<T> value, int maxBytes,
            List<Shrink<T>> shrinks) {
        this.topic = topic;
        this.key = key;
        this.value = value;
        this.maxBytes = maxBytes;
        this.shrinks = List.copyOf(shrinks);
    }

    /** Training batches, keyed by batch id: never shrunk, the scoring stage keeps them within the limit. */
    public static OutputRecordSerializer<io.strawless.schemas.TrainingBatch> batches(String topic, int maxBytes) {
        return new OutputRecordSerializer<>(topic, batch -> utf8(batch.getBatchId()), new TrainingBatchSerializer(),
                maxBytes, List.of());
    }

    /** Unscored trajectories, keyed by trajectory id. */
    public static OutputRecordSerializer<UnscoredTrajectory> unscored(String topic, int maxBytes) {
        return new OutputRecordSerializer<>(topic, unscored -> utf8(unscored.getTrajectoryId()),
                new SingleObjectSerializer<>(UnscoredTrajectory.class), maxBytes,
                List.of(OutputRecordSerializer::withoutTokenIds, OutputRecordSerializer::withoutInputs));
    }

    /** Dead letters, keyed by the original record's key (null stays null). */
    public static OutputRecordSerializer<DeadLetter> deadLetters(String topic, int maxBytes) {
        return new OutputRecordSerializer<>(topic, deadLetter -> bytes(deadLetter.getOriginalKey()),
                new SingleObjectSerializer<>(DeadLetter.class), maxBytes,
                List.of(OutputRecordSerializer::withoutOriginalValue, OutputRecordSerializer::withoutOriginalKey));
    }

    @Override
    public void open(InitializationContext context, KafkaSinkContext sinkContext) throws Exception {
        value.open(context);
        trimmed = context.getMetricGroup().counter("recordsTrimmed");
    }

    @Override
    public ProducerRecord<byte[], byte[]> serialize(T element, KafkaSinkContext context, Long timestamp) {
        byte[] keyBytes = key.apply(element);
        byte[] valueBytes = value.serialize(element);
        int bytes = size(keyBytes, valueBytes);
        for (int i = 0; i < shrinks.size() && bytes > maxBytes; i++) {
            element = shrinks.get(i).apply(element, bytes, maxBytes);
            keyBytes = key.apply(element);
            valueBytes = value.serialize(element);
            bytes = size(keyBytes, valueBytes);
            if (i == 0) {
                trimmed.inc();
            }
        }
        if (bytes > maxBytes) {
            // The producer would refuse it and the job would fail on it after every restore; this says why, and how
            // to get past it, where the producer's RecordTooLargeException would not.
            throw new IllegalStateException("a record for " + topic + " is " + bytes + " bytes, more than "
                    + KafkaOptions.MAX_RECORD_BYTES.key() + "=" + maxBytes + ", which the job should have kept it within"
                    + " (please report it): raise " + KafkaOptions.MAX_RECORD_BYTES.key() + ", and " + topic
                    + "'s max.message.bytes with it, to get past it");
        }
        return new ProducerRecord<>(topic, null, timestamp == null || timestamp < 0 ? null : timestamp, keyBytes,
                valueBytes);
    }

    @Override
    public Optional<KafkaDatasetFacet> getKafkaDatasetFacet() {
        return Optional.of(new DefaultKafkaDatasetFacet(DefaultKafkaDatasetIdentifier.ofTopics(List.of(topic))));
    }

    private static int size(byte[] key, byte[] value) {
        return (key == null ? 0 : key.length) + value.length;
    }

    static UnscoredTrajectory withoutTokenIds(UnscoredTrajectory unscored, int bytes, int maxBytes) {
        List<StepEvent> steps = new ArrayList<>(unscored.getSteps().size());
        for (StepEvent step : unscored.getSteps()) {
            steps.add(step.getTokenIds() == null ? step : StepEvent.newBuilder(step).setTokenIds(null).build());
        }
        return UnscoredTrajectory.newBuilder(unscored)
                .setSteps(steps)
                .setDetail(unscored.getDetail() + " [its steps' token ids are left out: the record was " + bytes
                        + " bytes, more than " + KafkaOptions.MAX_RECORD_BYTES.key() + "=" + maxBytes
                        + "; the steps are in their input topic]")
                .build();
    }

    static UnscoredTrajectory withoutInputs(UnscoredTrajectory unscored, int bytes, int maxBytes) {
        return UnscoredTrajectory.newBuilder(unscored)
                .setSteps(List.of())
                .setOutcomes(List.of())
                .setVerdicts(List.of())
                .setDetail(unscored.getDetail() + " [its " + unscored.getSteps().size() + " steps, "
                        + unscored.getOutcomes().size() + " outcomes and " + unscored.getVerdicts().size()
                        + " verdicts are left out: still " + bytes + " bytes without token ids, more than "
                        + KafkaOptions.MAX_RECORD_BYTES.key() + "=" + maxBytes + "; they are in their input topics]")
                .build();
    }

    static DeadLetter withoutOriginalValue(DeadLetter deadLetter, int bytes, int maxBytes) {
        int valueBytes = deadLetter.getOriginalValue() == null ? 0 : deadLetter.getOriginalValue().remaining();
        return DeadLetter.newBuilder(deadLetter)
                .setOriginalValue(null)
                .setErrorMessage(deadLetter.getErrorMessage() + " [the original value (" + valueBytes
                        + " bytes) is left out: the record was " + bytes + " bytes, more than "
                        + KafkaOptions.MAX_RECORD_BYTES.key() + "=" + maxBytes + "; it is at offset "
                        + deadLetter.getOffset() + " of " + deadLetter.getTopic() + "-" + deadLetter.getPartition() + "]")
                .build();
    }

    static DeadLetter withoutOriginalKey(DeadLetter deadLetter, int bytes, int maxBytes) {
        return DeadLetter.newBuilder(deadLetter)
                .setOriginalKey(null)
                .setErrorMessage(deadLetter.getErrorMessage() + " [the original key is left out too: still " + bytes
                        + " bytes]")
                .build();
    }

    private static byte[] utf8(String key) {
        return key.getBytes(StandardCharsets.UTF_8);
    }

    private static byte[] bytes(ByteBuffer buffer) {
        if (buffer == null) {
            return null;
        }
        byte[] copy = new byte[buffer.remaining()];
        buffer.duplicate().get(copy);
        return copy;
    }
}
