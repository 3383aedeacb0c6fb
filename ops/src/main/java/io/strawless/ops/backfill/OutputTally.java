package io.strawless.ops.backfill;

import io.strawless.connectors.KafkaOptions;
import io.strawless.connectors.StrawlessKafka;
import io.strawless.ops.KafkaAdmin;
import io.strawless.schemas.ScoredTrajectory;
import io.strawless.schemas.TrainingBatch;
import io.strawless.schemas.UnscoredTrajectory;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.SortedMap;
import java.util.SortedSet;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.concurrent.ExecutionException;
import java.util.function.Consumer;
import java.util.function.Function;
import java.util.stream.Collectors;
import org.apache.flink.configuration.ReadableConfig;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.ListOffsetsOptions;
import org.apache.kafka.clients.admin.OffsetSpec;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.IsolationLevel;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;

/**
 * What a finished backfill wrote, counted the way a trainer reads it (read_committed), one record at a time:
 * a backfill's output may be far larger than memory.
 *
 * @param estimators       the estimator and configuration fingerprint of the batches, as
 *                         {@code estimator fingerprint}: one entry unless the topic was shared
 * @param unscoredByReason unscored trajectories by reason
 */
public record OutputTally(
        long batches,
        long trajectories,
        long steps,
        SortedSet<String> estimators,
        long deadLetters,
        SortedMap<String, Long> unscoredByReason) {

    /** How long to wait for the markers of the last commits to reach every partition. */
    private static final Duration SETTLE_TIMEOUT = Duration.ofSeconds(30);

    public long unscored() {
        return unscoredByReason.values().stream().mapToLong(Long::longValue).sum();
    }

    /** Counts the output topics configured in {@code conf}. Call it once the job has ended. */
    public static OutputTally read(ReadableConfig conf) throws ExecutionException, InterruptedException {
        Counts counts = new Counts();
        read(conf, conf.get(KafkaOptions.BATCHES_TOPIC), value -> {
            TrainingBatch batch = decode(value, TrainingBatch::fromByteBuffer);
            counts.batches++;
            counts.trajectories += batch.getTrajectories().size();
            for (ScoredTrajectory trajectory : batch.getTrajectories()) {
                counts.steps += trajectory.getSteps().size();
            }
            counts.estimators.add(batch.getEstimator() + " " + batch.getConfigFingerprint());
        });
        read(conf, conf.get(KafkaOptions.DEAD_LETTERS_TOPIC), value -> counts.deadLetters++);
        read(conf, conf.get(KafkaOptions.UNSCORED_TOPIC), value -> counts.unscoredByReason.merge(
                decode(value, UnscoredTrajectory::fromByteBuffer).getReason().name(), 1L, Long::sum));
        return new OutputTally(counts.batches, counts.trajectories, counts.steps, counts.estimators, counts.deadLetters,
                counts.unscoredByReason);
    }

    private static final class Counts {
        long batches;
        long trajectories;
        long steps;
        final SortedSet<String> estimators = new TreeSet<>();
        long deadLetters;
        final SortedMap<String, Long> unscoredByReason = new TreeMap<>();
    }

    /** Hands every committed value of {@code topic} to {@code each}, partition by partition. */
    private static void read(ReadableConfig conf, String topic, Consumer<byte[]> each)
            throws ExecutionException, InterruptedException {
        Map<TopicPartition, Long> ends = settledEnds(conf, topic);
        Properties properties = StrawlessKafka.consumerProperties(conf, conf.get(KafkaOptions.GROUP_ID) + "-tally");
        properties.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, false);
        properties.put(ConsumerConfig.KEY_DESERIALIZER_CLASS_CONFIG, ByteArrayDeserializer.class.getName());
        properties.put(ConsumerConfig.VALUE_DESERIALIZER_CLASS_CONFIG, ByteArrayDeserializer.class.getName());
        try (KafkaConsumer<byte[], byte[]> consumer = new KafkaConsumer<>(properties)) {
            consumer.assign(ends.keySet());
            consumer.seekToBeginning(ends.keySet());
            while (ends.entrySet().stream().anyMatch(end -> consumer.position(end.getKey()) < end.getValue())) {
                for (ConsumerRecord<byte[], byte[]> record : consumer.poll(Duration.ofMillis(500))) {
                    if (record.offset() < ends.get(new TopicPartition(record.topic(), record.partition()))) {
                        each.accept(record.value());
                    }
                }
            }
        }
    }

    /**
     * The committed end of each partition once no transaction is left open on it: a commit returns before
     * its markers are written, and a read_committed reader stops at the first open transaction.
     */
    private static Map<TopicPartition, Long> settledEnds(ReadableConfig conf, String topic)
            throws ExecutionException, InterruptedException {
        try (Admin admin = KafkaAdmin.create(conf)) {
            Map<TopicPartition, OffsetSpec> latest = KafkaAdmin.await(conf,
                            admin.describeTopics(List.of(topic)).allTopicNames())
                    .get(topic)
                    .partitions().stream().map(p -> new TopicPartition(topic, p.partition()))
                    .collect(Collectors.toMap(Function.identity(), partition -> OffsetSpec.latest()));
            Instant deadline = Instant.now().plus(SETTLE_TIMEOUT);
            while (true) {
                Map<TopicPartition, Long> committed = offsets(conf, admin, latest, IsolationLevel.READ_COMMITTED);
                boolean settled = committed.equals(offsets(conf, admin, latest, IsolationLevel.READ_UNCOMMITTED));
                if (settled || Instant.now().isAfter(deadline)) {
                    return committed;
                }
                Thread.sleep(200);
            }
        }
    }

    private static Map<TopicPartition, Long> offsets(ReadableConfig conf, Admin admin,
            Map<TopicPartition, OffsetSpec> request, IsolationLevel isolation)
            throws ExecutionException, InterruptedException {
        return KafkaAdmin.await(conf, admin.listOffsets(request, new ListOffsetsOptions(isolation)).all()).entrySet()
                .stream()
                .collect(Collectors.toMap(Map.Entry::getKey, e -> e.getValue().offset()));
    }

    private interface Decoder<T> {
        T decode(ByteBuffer bytes) throws IOException;
    }

    private static <T> T decode(byte[] value, Decoder<T> decoder) {
        try {
            return decoder.decode(ByteBuffer.wrap(value));
        } catch (IOException e) {
            throw new UncheckedIOException("a record of the backfill's output does not decode", e);
        }
    }
}
