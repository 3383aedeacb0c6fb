package io.strawless.ops;

import io.strawless.connectors.KafkaOptions;
import io.strawless.connectors.StrawlessKafka;
import io.strawless.connectors.topics.KafkaAdmin;
import java.time.Duration;
import java.time.Instant;
import java.util.Collection;
import java.util.Map;
import java.util.Properties;
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
 * Reads what the job published the way a trainer reads it: with {@code isolation.level=read_committed}, so only
 * records of committed Kafka transactions count, from the beginning of each topic to its committed end. For the
 * tools that check a finished run (the demo, a backfill): call it once the job has stopped.
 */
public final class CommittedRecords {

    /** How long to wait for the markers of just-committed transactions to reach every partition. */
    private static final Duration SETTLE_TIMEOUT = Duration.ofSeconds(30);
    /** How long the read may make no progress before it gives up (a broker gone away), rather than wait forever. */
    private static final Duration STALL_LIMIT = Duration.ofSeconds(60);

    private CommittedRecords() {}

    /**
     * Hands every committed record of {@code topics} to {@code each}, each partition's records in offset order.
     * Waits first until no transaction is left open (at most {@link #SETTLE_TIMEOUT}), so that the committed end
     * is the real end.
     *
     * @param groupId names the reader to the broker only: it reads whole topics and commits no offsets
     */
    public static void forEach(ReadableConfig conf, String groupId, Collection<String> topics,
            Consumer<ConsumerRecord<byte[], byte[]>> each) throws ExecutionException, InterruptedException {
        Map<TopicPartition, Long> ends = settledEnds(conf, topics);
        Properties properties = StrawlessKafka.consumerProperties(conf, groupId); // read_committed
        properties.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, false);
        properties.put(ConsumerConfig.KEY_DESERIALIZER_CLASS_CONFIG, ByteArrayDeserializer.class.getName());
        properties.put(ConsumerConfig.VALUE_DESERIALIZER_CLASS_CONFIG, ByteArrayDeserializer.class.getName());
        properties.put(ConsumerConfig.MAX_POLL_RECORDS_CONFIG, 2_000);
        try (KafkaConsumer<byte[], byte[]> consumer = new KafkaConsumer<>(properties)) {
            consumer.assign(ends.keySet());
            consumer.seekToBeginning(ends.keySet());
            long lastLeft = -1;
            Instant lastProgress = Instant.now();
            long left;
            while ((left = ends.entrySet().stream()
                    .mapToLong(end -> Math.max(0, end.getValue() - consumer.position(end.getKey()))).sum()) > 0) {
                if (left != lastLeft) {
                    lastLeft = left;
                    lastProgress = Instant.now();
                } else if (Duration.between(lastProgress, Instant.now()).compareTo(STALL_LIMIT) > 0) {
                    throw new IllegalStateException("reading " + topics + " at " + conf.get(KafkaOptions.BOOTSTRAP_SERVERS)
                            + " made no progress for " + STALL_LIMIT.toSeconds() + " s with " + left + " records left to"
                            + " their committed end (is the broker still there?)");
                }
                for (ConsumerRecord<byte[], byte[]> record : consumer.poll(Duration.ofMillis(500))) {
                    // A transaction committed after the ends were taken is not part of what is counted.
                    if (record.offset() < ends.get(new TopicPartition(record.topic(), record.partition()))) {
                        each.accept(record);
                    }
                }
            }
        }
    }

    /**
     * The committed end of each partition once the last stable offset has caught up with the high watermark
     * everywhere: a commit returns before its markers are written to the partitions, and a read_committed reader
     * stops at the first open transaction. After the timeout an open transaction remains; its records are not
     * (yet) committed and not counted.
     */
    private static Map<TopicPartition, Long> settledEnds(ReadableConfig conf, Collection<String> topics)
            throws ExecutionException, InterruptedException {
        try (Admin admin = KafkaAdmin.create(conf)) {
            Map<TopicPartition, OffsetSpec> latest = KafkaAdmin.await(conf,
                            admin.describeTopics(topics).allTopicNames()).values().stream()
                    .flatMap(d -> d.partitions().stream().map(p -> new TopicPartition(d.name(), p.partition())))
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
}
