package io.strawless.ops.demo;

import io.strawless.connectors.KafkaOptions;
import io.strawless.ops.CommittedRecords;
import io.strawless.schemas.DeadLetter;
import io.strawless.schemas.ScoredTrajectory;
import io.strawless.schemas.TrainingBatch;
import io.strawless.schemas.UnscoredTrajectory;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutionException;
import java.util.stream.Stream;
import org.apache.avro.message.BinaryMessageDecoder;
import org.apache.flink.configuration.ReadableConfig;
import org.apache.kafka.common.TopicPartition;

/**
 * Everything the job published, read the way a trainer reads it: with {@code isolation.level=read_committed},
 * so only records of committed Kafka transactions count. Lists keep topic order: partitions in number order,
 * records in offset order.
 */
public record CreditOutput(
        List<TrainingBatch> batches, List<DeadLetter> deadLetters, List<UnscoredTrajectory> unscored) {

    /** The reader reads whole topics from the beginning; the group only names it to the broker. */
    private static final String TRAINER_GROUP = "strawless-demo-trainer";

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
     * once the job has stopped (see {@link CommittedRecords}).
     */
    public static CreditOutput readCommitted(ReadableConfig conf) throws ExecutionException, InterruptedException {
        String batchesTopic = conf.get(KafkaOptions.BATCHES_TOPIC);
        String deadLettersTopic = conf.get(KafkaOptions.DEAD_LETTERS_TOPIC);
        String unscoredTopic = conf.get(KafkaOptions.UNSCORED_TOPIC);
        Map<TopicPartition, List<byte[]>> values = new HashMap<>();
        CommittedRecords.forEach(conf, TRAINER_GROUP, List.of(batchesTopic, deadLettersTopic, unscoredTopic),
                record -> values.computeIfAbsent(
                                new TopicPartition(record.topic(), record.partition()), p -> new ArrayList<>())
                        .add(record.value()));
        return new CreditOutput(
                decode(values, batchesTopic, TrainingBatch.getDecoder()),
                decode(values, deadLettersTopic, DeadLetter.getDecoder()),
                decode(values, unscoredTopic, UnscoredTrajectory.getDecoder()));
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
