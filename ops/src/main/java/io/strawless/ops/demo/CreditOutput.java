package io.strawless.ops.demo;

import io.strawless.connectors.KafkaOptions;
import io.strawless.connectors.StrawlessKafka;
import io.strawless.ops.KafkaAdmin;
import io.strawless.schemas.DeadLetter;
import io.strawless.schemas.ScoredTrajectory;
import io.strawless.schemas.TrainingBatch;
import io.strawless.schemas.UnscoredTrajectory;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.ExecutionException;
import java.util.function.Function;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.apache.avro.message.BinaryMessageDecoder;
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
 * Everything the job published, read the way a trainer reads it: with {@code isolation.level=read_committed},
 * so only records of committed Kafka transactions count. Lists keep topic order: partitions in number order,
 * records in offset order.
 */
public record CreditOutput(
        List<TrainingBatch> batches, List<DeadLetter> deadLetters, List<UnscoredTrajectory> unscored) {

    /** The reader reads whole topics from the beginning; the group only names it to the broker. */
    private static final String TRAINER_GROUP = "strawless-demo-trainer";
    /** How long to wait for the markers of just-committed transactions to reach every partition. */
    private static final Duration SETTLE_TIMEOUT = Duration.ofSeconds(30);

    public Stream<ScoredTrajectory> scoredTrajectories() {
        return batches.stream().flatMap(batch -> batch.getTrajectories().stream());
    }

    public long scoredSteps() {
        return scoredTrajectories().mapToLong(t -> t.getSteps().size()).sum();
    }

    public long deadLettersFrom(String inputTopic) {
        return deadLetters.stream()
                .map(DeadLetter::getTopic)
                .filter(inputTopic::equals)
                .count();
    }

    /**
     * Reads the batch, dead-letter and unscored topics from the beginning to their committed end. Call it
     * once the job has stopped: it first waits until no transaction is left open, so that the committed end
     * is the real end.
     */
    public static CreditOutput readCommitted(ReadableConfig conf) throws ExecutionException, InterruptedException {
        String batchesTopic = conf.get(KafkaOptions.BATCHES_TOPIC);
        String deadLettersTopic = conf.get(KafkaOptions.DEAD_LETTERS_TOPIC);
        String unscoredTopic = conf.get(KafkaOptions.UNSCORED_TOPIC);
        Map<TopicPartition, Long> ends = settledEnds(conf, List.of(batchesTopic, deadLettersTopic, unscoredTopic));

        Properties properties = StrawlessKafka.consumerProperties(conf, TRAINER_GROUP); // read_committed
        properties.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, false);
        properties.put(ConsumerConfig.KEY_DESERIALIZER_CLASS_CONFIG, ByteArrayDeserializer.class.getName());
        properties.put(ConsumerConfig.VALUE_DESERIALIZER_CLASS_CONFIG, ByteArrayDeserializer.class.getName());
        properties.put(ConsumerConfig.MAX_POLL_RECORDS_CONFIG, 2_000);
        Map<TopicPartition, List<byte[]>> values = new HashMap<>();
        try (KafkaConsumer<byte[], byte[]> consumer = new KafkaConsumer<>(properties)) {
            consumer.assign(ends.keySet());
            consumer.seekToBeginning(ends.keySet());
            while (ends.entrySet().stream().anyMatch(end -> consumer.position(end.getKey()) < end.getValue())) {
                for (ConsumerRecord<byte[], byte[]> record : consumer.poll(Duration.ofMillis(500))) {
                    values.computeIfAbsent(
                                    new TopicPartition(record.topic(), record.partition()), p -> new ArrayList<>())
                            .add(record.value());
                }
            }
        }
        return new CreditOutput(
                decode(values, batchesTopic, TrainingBatch.getDecoder()),
                decode(values, deadLettersTopic, DeadLetter.getDecoder()),
                decode(values, unscoredTopic, UnscoredTrajectory.getDecoder()));
    }

    /**
     * End offsets once the last stable offset has caught up with the high watermark everywhere: a commit
     * returns before its markers are written to the partitions, and a read_committed reader stops at the
     * first open transaction.
     */
    private static Map<TopicPartition, Long> settledEnds(ReadableConfig conf, List<String> topics)
            throws ExecutionException, InterruptedException {
        try (Admin admin = KafkaAdmin.create(conf)) {
            Map<TopicPartition, OffsetSpec> latest =
                    admin.describeTopics(topics).allTopicNames().get().values().stream()
                            .flatMap(d -> d.partitions().stream().map(p -> new TopicPartition(d.name(), p.partition())))
                            .collect(Collectors.toMap(Function.identity(), partition -> OffsetSpec.latest()));
            Instant deadline = Instant.now().plus(SETTLE_TIMEOUT);
            while (true) {
                Map<TopicPartition, Long> stable = offsets(admin, latest, IsolationLevel.READ_COMMITTED);
                if (stable.equals(offsets(admin, latest, IsolationLevel.READ_UNCOMMITTED))
                        || Instant.now().isAfter(deadline)) {
                    // After the deadline an open transaction remains; its records are not (yet) committed and not
                    // counted.
                    return stable;
                }
                Thread.sleep(200);
            }
        }
    }

    private static Map<TopicPartition, Long> offsets(
            Admin admin, Map<TopicPartition, OffsetSpec> request, IsolationLevel isolation)
            throws ExecutionException, InterruptedException {
        return admin.listOffsets(request, new ListOffsetsOptions(isolation)).all().get().entrySet().stream()
                .collect(Collectors.toMap(Map.Entry::getKey, e -> e.getValue().offset()));
    }

    private static <T> List<T> decode(
            Map<TopicPartition, List<byte[]>> values, String topic, BinaryMessageDecoder<T> decoder) {
        return values.entrySet().stream()
                .filter(e -> e.getKey().topic().equals(topic))
                .sorted(Comparator.comparingInt(e -> e.getKey().partition()))
                .flatMap(e -> e.getValue().stream())
                .map(bytes -> {
                    try {
                        return decoder.decode(bytes);
                    } catch (IOException e) {
                        throw new UncheckedIOException(
                                "the job published a record of " + topic + " that does not decode", e);
                    }
                })
                .toList();
    }
}
