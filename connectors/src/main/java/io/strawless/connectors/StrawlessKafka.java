package io.strawless.connectors;

import io.strawless.connectors.KafkaOptions.StartingOffsets;
import io.strawless.connectors.KafkaOptions.TransactionNaming;
import io.strawless.connectors.serde.InputDeserializer;
import io.strawless.connectors.serde.InputRecord;
import io.strawless.connectors.serde.OutputRecordSerializer;
import io.strawless.schemas.DeadLetter;
import io.strawless.schemas.TrainingBatch;
import io.strawless.schemas.UnscoredTrajectory;
import java.util.Collection;
import java.util.Map;
import java.util.Optional;
import java.util.Properties;
import org.apache.flink.configuration.ReadableConfig;
import org.apache.flink.connector.base.DeliveryGuarantee;
import org.apache.flink.connector.kafka.sink.KafkaSink;
import org.apache.flink.connector.kafka.sink.TransactionNamingStrategy;
import org.apache.flink.connector.kafka.source.KafkaSource;
import org.apache.flink.connector.kafka.source.KafkaSourceBuilder;
import org.apache.flink.connector.kafka.source.enumerator.initializer.OffsetsInitializer;
import org.apache.kafka.clients.CommonClientConfigs;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.OffsetResetStrategy;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.common.TopicPartition;

/**
 * The job's Kafka source and sinks, and properties for plain Kafka clients, all built from
 * {@link KafkaOptions}.
 *
 * <p>Reads use {@code isolation.level=read_committed}; the three sinks write exactly once through
 * Kafka transactions committed on Flink checkpoints, so downstream readers must also read committed.
 */
public final class StrawlessKafka {

    /** Default {@code max.partition.fetch.bytes} of the input source; see {@link #inputConsumerProperties}. */
    public static final int INPUT_PARTITION_FETCH_BYTES = 64 * 1024;
    /** Default {@code fetch.min.bytes} of the input source; see {@link #inputConsumerProperties}. */
    public static final int INPUT_FETCH_MIN_BYTES = 64 * 1024;
    /** Default {@code fetch.max.wait.ms} of the input source: the longest a record waits for a fuller fetch. */
    public static final int INPUT_FETCH_MAX_WAIT_MS = 100;

    private StrawlessKafka() {}

    /**
     * One source over the steps, outcomes and verdicts topics. Records that do not decode arrive as
     * dead letters (see {@link InputDeserializer}). Bounded when {@code source.stop-timestamp} is set.
     */
    public static KafkaSource<InputRecord> inputSource(ReadableConfig conf) {
        KafkaSourceBuilder<InputRecord> builder = inputSourceBuilder(conf).setStartingOffsets(startingOffsets(conf));
        conf.getOptional(KafkaOptions.STOP_TIMESTAMP).ifPresentOrElse(
                // A bounded source discovers no partitions: its set is fixed when it starts.
                stop -> builder.setBounded(OffsetsInitializer.timestamp(stop)),
                () -> builder.setProperty("partition.discovery.interval.ms",
                        Long.toString(conf.get(KafkaOptions.PARTITION_DISCOVERY_INTERVAL).toMillis())));
        return builder.build();
    }

    /**
     * A bounded source over the input topics that reads each partition from {@code starts} up to
     * {@code stops} (offsets, exclusive), e.g. a backfill's range, looked up once so that the job reads what
     * was counted. Where a start offset is no longer retained (retention deleted it, before or while the job
     * runs) the partition goes on from its earliest retained record, not from its end (its reset strategy, which the
     * unbounded source's modes get from {@link ThenFromTheEarliestLeft}). A partition in neither map (one added since
     * they were looked up) is not read.
     */
    // flink-connector-kafka 5.0 still takes Kafka's OffsetResetStrategy, deprecated since Kafka 4.0.
    @SuppressWarnings("deprecation")
    public static KafkaSource<InputRecord> boundedInputSource(
            ReadableConfig conf, Map<TopicPartition, Long> starts, Map<TopicPartition, Long> stops) {
        return inputSourceBuilder(conf)
                .setStartingOffsets(OffsetsInitializer.offsets(starts, OffsetResetStrategy.EARLIEST))
                .setBounded(OffsetsInitializer.offsets(stops, OffsetResetStrategy.EARLIEST))
                .build();
    }

    private static KafkaSourceBuilder<InputRecord> inputSourceBuilder(ReadableConfig conf) {
        String steps = conf.get(KafkaOptions.STEPS_TOPIC);
        String outcomes = conf.get(KafkaOptions.OUTCOMES_TOPIC);
        String verdicts = conf.get(KafkaOptions.VERDICTS_TOPIC);
        return KafkaSource.<InputRecord>builder()
                .setProperties(inputConsumerProperties(conf))
                .setBootstrapServers(conf.get(KafkaOptions.BOOTSTRAP_SERVERS))
                .setGroupId(conf.get(KafkaOptions.GROUP_ID))
                .setTopics(steps, outcomes, verdicts)
                .setDeserializer(new InputDeserializer(steps, outcomes, verdicts));
    }

    /**
     * The Kafka consumer settings of the input source: the {@code kafka.client.*} passthrough, committed
     * data only, and small fetches per partition unless {@code kafka.client.max.partition.fetch.bytes}
     * says otherwise.
     *
     * <p>Why small fetches: one consumer reads all of a subtask's partitions and hands out one partition's
     * fetched data before the next's. With Kafka's default of 1 MB per partition, a backlog (a restart after
     * downtime, a backfill) is read a few thousand records of one partition at a time, so under load a
     * partition can go longer than {@code job.source-idleness} without a record: it is then taken for idle,
     * the watermark moves past it, and its records arrive late (a benchmark of 500,000 steps saw 2% of its
     * inputs routed to the unscored topic as LATE). Fetches of {@value #INPUT_PARTITION_FETCH_BYTES} bytes
     * make the consumer go round the partitions every few thousand records.
     *
     * <p>Why fuller fetches: traffic at its live pace brings each partition a few records at a time, and Kafka's
     * default answers a fetch as soon as one byte is there. The source's fetcher thread and the broker then spent
     * more CPU per step than the rest of the job (the bench's live phase, 12,500 steps/s on the heap: 113 us of
     * CPU per step, 14 of them in the fetcher thread). A fetch now waits for {@value #INPUT_FETCH_MIN_BYTES} bytes
     * or {@value #INPUT_FETCH_MAX_WAIT_MS} ms, whichever comes first: 72 us per step in the same bench, and the
     * latency, which waits for the watermark and a checkpoint anyway, within its noise.
     */
    public static Properties inputConsumerProperties(ReadableConfig conf) {
        Properties properties = KafkaOptions.clientProperties(conf);
        // Only what the agents' (possibly transactional) producers committed.
        properties.setProperty(ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed");
        properties.putIfAbsent(ConsumerConfig.MAX_PARTITION_FETCH_BYTES_CONFIG,
                Integer.toString(INPUT_PARTITION_FETCH_BYTES));
        properties.putIfAbsent(ConsumerConfig.FETCH_MIN_BYTES_CONFIG, Integer.toString(INPUT_FETCH_MIN_BYTES));
        properties.putIfAbsent(ConsumerConfig.FETCH_MAX_WAIT_MS_CONFIG, Integer.toString(INPUT_FETCH_MAX_WAIT_MS));
        return properties;
    }

    /** Exactly-once sink of training batches, keyed by batch id. */
    public static KafkaSink<TrainingBatch> batchSink(ReadableConfig conf) {
        return exactlyOnceSink(conf, "-batches", OutputRecordSerializer.batches(
                conf.get(KafkaOptions.BATCHES_TOPIC), KafkaOptions.maxRecordBytes(conf)));
    }

    /** Exactly-once sink of dead letters, keyed by the original record's key (null stays null). */
    public static KafkaSink<DeadLetter> deadLetterSink(ReadableConfig conf) {
        return exactlyOnceSink(conf, "-dead-letters", OutputRecordSerializer.deadLetters(
                conf.get(KafkaOptions.DEAD_LETTERS_TOPIC), KafkaOptions.maxRecordBytes(conf)));
    }

    /** Exactly-once sink of trajectories that could not be scored, keyed by trajectory id. */
    public static KafkaSink<UnscoredTrajectory> unscoredSink(ReadableConfig conf) {
        return exactlyOnceSink(conf, "-unscored", OutputRecordSerializer.unscored(
                conf.get(KafkaOptions.UNSCORED_TOPIC), KafkaOptions.maxRecordBytes(conf)));
    }

    /**
     * Properties for a plain {@code KafkaProducer} (the synthetic fleet, tools): bootstrap servers,
     * passthrough client settings, idempotent writes. Pass the serializers to the constructor.
     */
    public static Properties producerProperties(ReadableConfig conf) {
        Properties properties = KafkaOptions.clientProperties(conf);
        properties.setProperty(CommonClientConfigs.BOOTSTRAP_SERVERS_CONFIG, conf.get(KafkaOptions.BOOTSTRAP_SERVERS));
        properties.setProperty(ProducerConfig.ACKS_CONFIG, "all");
        properties.setProperty(ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG, "true");
        properties.setProperty(ProducerConfig.MAX_REQUEST_SIZE_CONFIG, Integer.toString(maxRequestSize(conf)));
        return properties;
    }

    /**
     * Properties for a plain {@code KafkaConsumer} that reads the job's output as a trainer does:
     * committed data only. The group is the caller's own: sharing {@code kafka.group-id} with the job
     * would mix the job's committed offsets with the reader's.
     */
    public static Properties consumerProperties(ReadableConfig conf, String groupId) {
        Properties properties = KafkaOptions.clientProperties(conf);
        properties.setProperty(CommonClientConfigs.BOOTSTRAP_SERVERS_CONFIG, conf.get(KafkaOptions.BOOTSTRAP_SERVERS));
        properties.setProperty(ConsumerConfig.GROUP_ID_CONFIG, groupId);
        properties.setProperty(ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed");
        properties.setProperty(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
        return properties;
    }

    // flink-connector-kafka 5.0 still takes Kafka's OffsetResetStrategy, deprecated since Kafka 4.0.
    @SuppressWarnings("deprecation")
    static OffsetsInitializer startingOffsets(ReadableConfig conf) {
        StartingOffsets mode = conf.get(KafkaOptions.STARTING_OFFSETS);
        Optional<Long> start = conf.getOptional(KafkaOptions.START_TIMESTAMP);
        if (mode == StartingOffsets.TIMESTAMP) {
            return new ThenFromTheEarliestLeft(OffsetsInitializer.timestamp(start.orElseThrow(() -> new IllegalArgumentException(
                    KafkaOptions.STARTING_OFFSETS.key() + "=timestamp needs " + KafkaOptions.START_TIMESTAMP.key()))));
        }
        if (start.isPresent()) {
            // Refuse rather than silently ignore a start the user asked for.
            throw new IllegalArgumentException(KafkaOptions.START_TIMESTAMP.key() + " is set but "
                    + KafkaOptions.STARTING_OFFSETS.key() + " is " + mode + "; set it to timestamp");
        }
        return switch (mode) {
            case COMMITTED_OR_EARLIEST -> OffsetsInitializer.committedOffsets(OffsetResetStrategy.EARLIEST);
            case EARLIEST -> OffsetsInitializer.earliest();
            case LATEST -> new ThenFromTheEarliestLeft(OffsetsInitializer.latest());
            case TIMESTAMP -> throw new AssertionError("handled above");
        };
    }

    /**
     * Where {@code start} says the job starts; and where a position it restored is no longer in the log (retention
     * deleted it while the job was down or behind), at the earliest record left, as with the other modes.
     *
     * <p>Why: the source's builder makes a starting mode's reset strategy the consumer's {@code auto.offset.reset}
     * for the job's whole life, and Flink's latest and timestamp modes reset to the end: a restored job would skip
     * every record still kept, without a word, rather than only those retention took.
     */
    @SuppressWarnings("deprecation")
    record ThenFromTheEarliestLeft(OffsetsInitializer start) implements OffsetsInitializer {
        @Override
        public Map<TopicPartition, Long> getPartitionOffsets(
                Collection<TopicPartition> partitions, PartitionOffsetsRetriever retriever) {
            return start.getPartitionOffsets(partitions, retriever);
        }

        @Override
        public OffsetResetStrategy getAutoOffsetResetStrategy() {
            return OffsetResetStrategy.EARLIEST;
        }
    }

    private static <T> KafkaSink<T> exactlyOnceSink(
            ReadableConfig conf, String idSuffix, OutputRecordSerializer<T> records) {
        return KafkaSink.<T>builder()
                .setKafkaProducerConfig(KafkaOptions.clientProperties(conf))
                .setBootstrapServers(conf.get(KafkaOptions.BOOTSTRAP_SERVERS))
                .setDeliveryGuarantee(DeliveryGuarantee.EXACTLY_ONCE)
                // Distinct per sink: two sinks sharing a prefix would fence each other's transactions.
                .setTransactionalIdPrefix(conf.get(KafkaOptions.TRANSACTIONAL_ID_PREFIX) + idSuffix)
                .setTransactionNamingStrategy(conf.get(KafkaOptions.TRANSACTION_NAMING) == TransactionNaming.POOLING
                        ? TransactionNamingStrategy.POOLING : TransactionNamingStrategy.INCREMENTING)
                .setProperty(ProducerConfig.TRANSACTION_TIMEOUT_CONFIG,
                        Long.toString(conf.get(KafkaOptions.TRANSACTION_TIMEOUT).toMillis()))
                .setProperty(ProducerConfig.MAX_REQUEST_SIZE_CONFIG, Integer.toString(maxRequestSize(conf)))
                .setRecordSerializer(records)
                .build();
    }

    /** The producers' {@code max.request.size}: the largest record the job writes, and a batch header's room. */
    static int maxRequestSize(ReadableConfig conf) {
        return KafkaOptions.maxRecordBytes(conf) + KafkaOptions.RECORD_OVERHEAD_BYTES;
    }
}
