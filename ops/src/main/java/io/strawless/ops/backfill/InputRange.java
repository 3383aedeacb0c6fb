package io.strawless.ops.backfill;

import io.strawless.connectors.KafkaOptions;
import io.strawless.connectors.StrawlessKafka;
import io.strawless.connectors.topics.KafkaAdmin;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.ExecutionException;
import java.util.function.Function;
import java.util.stream.Collectors;
import org.apache.flink.configuration.ReadableConfig;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.ListOffsetsOptions;
import org.apache.kafka.clients.admin.ListOffsetsResult.ListOffsetsResultInfo;
import org.apache.kafka.clients.admin.OffsetSpec;
import org.apache.kafka.clients.admin.TopicDescription;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.common.IsolationLevel;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;

/**
 * The stretch of the input topics a backfill reads, and how far its job has got through it.
 *
 * <p>The stretch of each partition is looked up once, here, and the job's source is given its offsets (see
 * {@link io.strawless.connectors.StrawlessKafka#boundedInputSource}), so that the job reads what was counted:
 * the first offset at or after {@code source.start-timestamp}, up to the first offset at or after {@code
 * source.stop-timestamp} (the end of the partition where no record is that late), both as a read_committed
 * reader sees them. The job's source commits its position to the backfill's consumer group on each completed
 * checkpoint, so the position reported here is "read and checkpointed".
 */
final class InputRange implements AutoCloseable {

    /**
     * @param read        input records read and checkpointed
     * @param target      input records in the range
     * @param reachedUpTo about how far in time the job has read: the Kafka timestamp of the last record read
     *                    in the partition that is furthest behind
     */
    record Position(long read, long target, Instant reachedUpTo) {
        double fraction() {
            return target == 0 ? 1 : (double) read / target;
        }
    }

    /**
     * A topic whose partitions no longer hold the start of the range: retention (or a DeleteRecords) removed
     * their records before {@code completeFrom}, which may have lain in the range.
     *
     * @param completeFrom the latest, over those partitions, of the timestamp of their first retained record:
     *                     the topic holds all its records of the range from there on
     */
    record RetentionGap(String topic, List<Integer> partitions, Instant completeFrom) {}

    private static final Duration PEEK_TIMEOUT = Duration.ofSeconds(2);

    private final ReadableConfig conf;
    private final Instant from;
    private final Instant to;
    private final Instant lookedUpAt;
    private final String groupId;
    private final Admin admin;
    private final KafkaConsumer<byte[], byte[]> peeker;
    private final Map<TopicPartition, Long> starts;
    private final Map<TopicPartition, Long> stops;
    private final List<RetentionGap> retentionGaps;

    private InputRange(ReadableConfig jobConf) throws ExecutionException, InterruptedException {
        this.conf = jobConf;
        this.from = Instant.ofEpochMilli(jobConf.get(KafkaOptions.START_TIMESTAMP));
        this.to = Instant.ofEpochMilli(jobConf.get(KafkaOptions.STOP_TIMESTAMP));
        this.groupId = jobConf.get(KafkaOptions.GROUP_ID);
        this.admin = KafkaAdmin.create(jobConf);
        try {
            List<TopicPartition> partitions = partitionsOf(List.of(jobConf.get(KafkaOptions.STEPS_TOPIC),
                    jobConf.get(KafkaOptions.OUTCOMES_TOPIC), jobConf.get(KafkaOptions.VERDICTS_TOPIC)));
            ListOffsetsOptions committedOnly = new ListOffsetsOptions(IsolationLevel.READ_COMMITTED);
            Map<TopicPartition, Long> earliest = offsets(list(partitions, OffsetSpec.earliest(), committedOnly));
            this.lookedUpAt = Instant.now();
            // One snapshot of the ends bounds both lookups: each taken with a lookup of its own, a record that came in
            // between could put a partition's start past its stop, or skip a record of the range.
            Map<TopicPartition, Long> ends = offsets(list(partitions, OffsetSpec.latest(), committedOnly));
            Map<TopicPartition, ListOffsetsResultInfo> atFrom =
                    list(partitions, OffsetSpec.forTimestamp(from.toEpochMilli()), committedOnly);
            this.starts = offsetsAt(partitions, atFrom, ends, null);
            this.stops = offsetsAt(partitions, list(partitions, OffsetSpec.forTimestamp(to.toEpochMilli()),
                    committedOnly), ends, starts);
            this.retentionGaps = retentionGaps(partitions, earliest, atFrom);
            // Its own group name, never committed to: it only looks at single records.
            Properties consumerProperties = StrawlessKafka.consumerProperties(jobConf, groupId + "-progress");
            consumerProperties.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, false);
            consumerProperties.put(ConsumerConfig.MAX_POLL_RECORDS_CONFIG, 50);
            consumerProperties.put(ConsumerConfig.KEY_DESERIALIZER_CLASS_CONFIG, ByteArrayDeserializer.class.getName());
            consumerProperties.put(ConsumerConfig.VALUE_DESERIALIZER_CLASS_CONFIG,
                    ByteArrayDeserializer.class.getName());
            this.peeker = new KafkaConsumer<>(consumerProperties);
        } catch (ExecutionException | InterruptedException | RuntimeException e) {
            admin.close();
            throw e;
        }
    }

    /** The admin client the range reads the topics with, open until it closes: for other questions to the cluster. */
    Admin admin() {
        return admin;
    }

    /** The range of the backfill configured in {@code jobConf}, as the input topics hold it now. */
    static InputRange of(ReadableConfig jobConf) throws ExecutionException, InterruptedException {
        return new InputRange(jobConf);
    }

    /** Input records in the range, by topic. */
    Map<String, Long> recordsByTopic() {
        Map<String, Long> records = new LinkedHashMap<>();
        stops.forEach((partition, stop) -> records.merge(partition.topic(), stop - starts.get(partition), Long::sum));
        return records;
    }

    long target() {
        return recordsByTopic().values().stream().mapToLong(Long::longValue).sum();
    }

    Instant from() {
        return from;
    }

    Instant to() {
        return to;
    }

    /** When the range was looked up: records produced later are not in it, whatever their timestamps. */
    Instant lookedUpAt() {
        return lookedUpAt;
    }

    /** The first offset of the range in each input partition. */
    Map<TopicPartition, Long> starts() {
        return Collections.unmodifiableMap(starts);
    }

    /** The offset after the range in each input partition. */
    Map<TopicPartition, Long> stops() {
        return Collections.unmodifiableMap(stops);
    }

    /** The topics that may have lost records of the range to retention before it was looked up. */
    List<RetentionGap> retentionGaps() {
        return retentionGaps;
    }

    /** How far the job has read and checkpointed. Synchronized: the progress line and the run both ask. */
    synchronized Position position() throws ExecutionException, InterruptedException {
        Map<TopicPartition, OffsetAndMetadata> committed =
                KafkaAdmin.await(conf, admin.listConsumerGroupOffsets(groupId).partitionsToOffsetAndMetadata());
        long read = 0;
        Map<TopicPartition, Long> unfinished = new HashMap<>();
        for (Map.Entry<TopicPartition, Long> stop : stops.entrySet()) {
            TopicPartition partition = stop.getKey();
            long start = starts.get(partition);
            OffsetAndMetadata mark = committed.get(partition);
            long position = Math.max(start, Math.min(stop.getValue(), mark == null ? start : mark.offset()));
            read += position - start;
            if (position < stop.getValue()) {
                unfinished.put(partition, position);
            }
        }
        return new Position(read, target(), reachedUpTo(unfinished));
    }

    /** The earliest, over the unfinished partitions, of the timestamp of the last record read. */
    private Instant reachedUpTo(Map<TopicPartition, Long> unfinished) {
        if (unfinished.isEmpty()) {
            return to;
        }
        if (unfinished.entrySet().stream().anyMatch(p -> p.getValue().equals(starts.get(p.getKey())))) {
            return from; // some partition is not started yet
        }
        peeker.assign(unfinished.keySet());
        unfinished.forEach((partition, position) -> peeker.seek(partition, position - 1));
        Map<TopicPartition, Long> lastRead = new HashMap<>();
        long deadline = System.nanoTime() + PEEK_TIMEOUT.toNanos();
        while (lastRead.size() < unfinished.size() && System.nanoTime() < deadline) {
            for (ConsumerRecord<byte[], byte[]> record : peeker.poll(Duration.ofMillis(200))) {
                TopicPartition partition = new TopicPartition(record.topic(), record.partition());
                lastRead.putIfAbsent(partition, record.timestamp());
                peeker.pause(List.of(partition));
            }
        }
        peeker.resume(peeker.paused());
        return lastRead.values().stream().min(Long::compare).map(Instant::ofEpochMilli).orElse(from);
    }

    private List<TopicPartition> partitionsOf(List<String> topics) throws ExecutionException, InterruptedException {
        Map<String, TopicDescription> descriptions = KafkaAdmin.await(conf, admin.describeTopics(topics).allTopicNames());
        List<TopicPartition> partitions = new ArrayList<>();
        for (String topic : topics) { // in the order given
            descriptions.get(topic).partitions().forEach(p -> partitions.add(new TopicPartition(topic, p.partition())));
        }
        return partitions;
    }

    /**
     * The first offset at or after a time in each partition, from the answer {@code atTime} to a lookup by that
     * time, and no later than its end in {@code ends}, which it takes where no record is that late (or the record came
     * after the ends were read); no earlier than {@code notBefore}'s offset, where given (a stop, never before its
     * start).
     */
    private static Map<TopicPartition, Long> offsetsAt(List<TopicPartition> partitions,
            Map<TopicPartition, ListOffsetsResultInfo> atTime, Map<TopicPartition, Long> ends,
            Map<TopicPartition, Long> notBefore) {
        Map<TopicPartition, Long> offsets = new LinkedHashMap<>();
        for (TopicPartition partition : partitions) {
            long found = atTime.get(partition).offset();
            long end = ends.get(partition);
            long offset = found < 0 ? end : Math.min(found, end);
            offsets.put(partition, notBefore == null ? offset : Math.max(offset, notBefore.get(partition)));
        }
        return offsets;
    }

    /**
     * The topics that may have lost records of the range: a partition whose log no longer starts at offset 0
     * (something was deleted) and whose first retained record is the range's first, later than {@code from}.
     * Its deleted records may have lain in the range or all before it; Kafka keeps nothing that tells which.
     * A partition that holds no record at or after {@code from} is left out: nothing says when its records were.
     */
    private List<RetentionGap> retentionGaps(List<TopicPartition> partitions, Map<TopicPartition, Long> earliest,
            Map<TopicPartition, ListOffsetsResultInfo> atFrom) {
        Map<String, List<Integer>> gapPartitions = new LinkedHashMap<>();
        Map<String, Long> completeFrom = new HashMap<>();
        for (TopicPartition partition : partitions) {
            ListOffsetsResultInfo first = atFrom.get(partition);
            long logStart = earliest.get(partition);
            if (logStart > 0 && first.offset() == logStart && first.timestamp() > from.toEpochMilli()) {
                gapPartitions.computeIfAbsent(partition.topic(), t -> new ArrayList<>()).add(partition.partition());
                completeFrom.merge(partition.topic(), first.timestamp(), Math::max);
            }
        }
        List<RetentionGap> gaps = new ArrayList<>();
        gapPartitions.forEach((topic, numbers) -> gaps.add(
                new RetentionGap(topic, numbers, Instant.ofEpochMilli(completeFrom.get(topic)))));
        return gaps;
    }

    /**
     * The partitions whose log now starts past their start offset: records of the range were deleted after it
     * was looked up (retention, a DeleteRecords), and the job may have skipped them. Their log start offsets.
     */
    Map<TopicPartition, Long> deletedSinceLookup() throws ExecutionException, InterruptedException {
        List<TopicPartition> partitions = List.copyOf(starts.keySet());
        Map<TopicPartition, Long> earliest = offsets(list(partitions, OffsetSpec.earliest(),
                new ListOffsetsOptions(IsolationLevel.READ_COMMITTED)));
        Map<TopicPartition, Long> deleted = new LinkedHashMap<>();
        for (TopicPartition partition : partitions) {
            long start = starts.get(partition);
            if (start < stops.get(partition) && earliest.get(partition) > start) {
                deleted.put(partition, earliest.get(partition));
            }
        }
        return deleted;
    }

    private Map<TopicPartition, ListOffsetsResultInfo> list(
            List<TopicPartition> partitions, OffsetSpec spec, ListOffsetsOptions options)
            throws ExecutionException, InterruptedException {
        Map<TopicPartition, OffsetSpec> request =
                partitions.stream().collect(Collectors.toMap(Function.identity(), p -> spec));
        return KafkaAdmin.await(conf, admin.listOffsets(request, options).all());
    }

    private static Map<TopicPartition, Long> offsets(Map<TopicPartition, ListOffsetsResultInfo> infos) {
        return infos.entrySet().stream().collect(Collectors.toMap(Map.Entry::getKey, e -> e.getValue().offset()));
    }

    @Override
    public synchronized void close() {
        peeker.close();
        admin.close();
    }
}
