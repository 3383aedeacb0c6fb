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
import java.util.Objects;
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
 *
 * <p>Records of the range that retention (or a DeleteRecords) deletes before the job reads them are lost to it: its
 * source goes on from the earliest record left. Each look at the position ({@link #position}, and {@link
 * #jobFinished} at the end) notes the offsets deleted since the last look that lay at or past where the job had then
 * not read yet ({@link #deletedUnread}). Only the position its source commits at each checkpoint is seen here, and it
 * lags what the job has read by up to a checkpoint interval: records deleted once that position passed them are never
 * counted, but records deleted between the job's reading them and its next checkpoint are, though it lost nothing
 * (its books tell: see {@link Backfill#shortfall}).
 */
final class InputRange implements AutoCloseable {

    /**
     * @param read        offsets of the range read and checkpointed, with the commit markers and aborted records that
     *                    follow the last record read
     * @param target      offsets in the range: its input records, and the commit markers and aborted records among them
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
    /**
     * As of the last look, per partition: the first offset that may hold a record the job has not read (where its
     * position was, past the commit markers and aborted records that followed it), and the log start offset.
     */
    private final Map<TopicPartition, Long> unreadFrom;
    private final Map<TopicPartition, Long> logStarts;
    /** Per partition, how many offsets of the range were deleted, at most, before the job read them. */
    private final Map<TopicPartition, Long> deletedUnread = new LinkedHashMap<>();

    private InputRange(ReadableConfig jobConf) throws ExecutionException, InterruptedException {
        this.conf = jobConf;
        this.from = Instant.ofEpochMilli(jobConf.get(KafkaOptions.START_TIMESTAMP));
        this.to = Instant.ofEpochMilli(jobConf.get(KafkaOptions.STOP_TIMESTAMP));
        this.groupId = jobConf.get(KafkaOptions.GROUP_ID);
        this.admin = KafkaAdmin.create(jobConf);
        try {
            List<TopicPartition> partitions = partitionsOf(topics(jobConf));
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
            this.unreadFrom = new HashMap<>(starts);
            this.logStarts = new HashMap<>(earliest);
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

    /** The input topics of {@code jobConf}, each once: one topic may carry several input kinds. */
    static List<String> topics(ReadableConfig jobConf) {
        return List.of(jobConf.get(KafkaOptions.STEPS_TOPIC), jobConf.get(KafkaOptions.OUTCOMES_TOPIC),
                jobConf.get(KafkaOptions.VERDICTS_TOPIC)).stream().distinct().toList();
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

    /**
     * How far the job has read and checkpointed, noting the records deleted since the last look that it had not read
     * ({@link #deletedUnread}). Synchronized: the progress line and the run both ask.
     */
    synchronized Position position() throws ExecutionException, InterruptedException {
        // The committed offsets first, the log starts last (in noteDeletions): see there why.
        Map<TopicPartition, OffsetAndMetadata> committed =
                KafkaAdmin.await(conf, admin.listConsumerGroupOffsets(groupId).partitionsToOffsetAndMetadata());
        Map<TopicPartition, Long> unfinished = new HashMap<>();
        for (Map.Entry<TopicPartition, Long> stop : stops.entrySet()) {
            TopicPartition partition = stop.getKey();
            long start = starts.get(partition);
            OffsetAndMetadata mark = committed.get(partition);
            long position = Math.max(start, Math.min(stop.getValue(), mark == null ? start : mark.offset()));
            // A position short of its stop with only markers after it (found at an earlier look) has read it all.
            if (position < stop.getValue() && unreadFrom.get(partition) < stop.getValue()) {
                unfinished.put(partition, position);
            }
        }
        Peek peek = peek(unfinished);
        Map<TopicPartition, Long> unread = new HashMap<>(stops);
        unread.putAll(peek.unreadFrom());
        noteDeletions(unread);
        return noted(peek.lastRead());
    }

    /**
     * The job has read every partition to its stop: records deleted from now on cost it nothing. Notes the records
     * deleted since the last look that it had not read then ({@link #deletedUnread}), and returns its final position:
     * every offset of the range read, in the same units as {@link #position}'s.
     */
    synchronized Position jobFinished() throws ExecutionException, InterruptedException {
        noteDeletions(stops);
        return noted(Map.of());
    }

    /**
     * The position as the last look noted it: in each partition, the offsets up to the first that may hold a record
     * the job has not read.
     *
     * @param lastRead per partition the job has started and not finished, the Kafka timestamp of the last record read
     */
    private Position noted(Map<TopicPartition, Long> lastRead) {
        long read = 0;
        for (Map.Entry<TopicPartition, Long> start : starts.entrySet()) {
            read += unreadFrom.get(start.getKey()) - start.getValue();
        }
        return new Position(read, target(), reachedUpTo(lastRead));
    }

    /**
     * Per partition, up to how many offsets of the range were deleted before the job read them, as of the last look;
     * empty when none were. "Up to": the job may have read some of them before they went (since the last look, or
     * earlier but not yet checkpointed then), and a deleted stretch may have held commit markers, which no reader sees;
     * but a record it had not read is never missed.
     */
    synchronized Map<TopicPartition, Long> deletedUnread() {
        return Collections.unmodifiableMap(new LinkedHashMap<>(deletedUnread));
    }

    /**
     * Notes what was deleted since the last look that the job may not have read: the offsets from where it had then
     * not read yet (or the log start then, if later) up to where the log starts now, within the range. A record it
     * lost lies there: deleted after the last look read the log starts, and not read before it went, it had not been
     * read when that look read the job's committed position, just before; and from that position up to {@code
     * unreadFrom} the look found no record, only commit markers and aborted records.
     *
     * @param unreadNow per partition, where the job may not have read yet
     */
    private void noteDeletions(Map<TopicPartition, Long> unreadNow) throws ExecutionException, InterruptedException {
        List<TopicPartition> partitions = List.copyOf(starts.keySet());
        Map<TopicPartition, Long> logStartsNow = offsets(list(partitions, OffsetSpec.earliest(),
                new ListOffsetsOptions(IsolationLevel.READ_COMMITTED)));
        for (TopicPartition partition : partitions) {
            long unreadThen = Math.max(unreadFrom.get(partition), logStarts.get(partition));
            long deletedTo = Math.min(logStartsNow.get(partition), stops.get(partition));
            if (deletedTo > unreadThen) {
                deletedUnread.merge(partition, deletedTo - unreadThen, Long::sum);
            }
            unreadFrom.merge(partition, unreadNow.get(partition), Math::max);
            logStarts.merge(partition, logStartsNow.get(partition), Math::max);
        }
    }

    /**
     * @param unreadFrom per partition peeked at, the first offset at or after the job's position that holds a record
     * @param lastRead   per partition peeked at that the job has started, the Kafka timestamp of the last record read
     */
    private record Peek(Map<TopicPartition, Long> unreadFrom, Map<TopicPartition, Long> lastRead) {}

    /**
     * Where the job's position in each of {@code positions}' partitions (short of their stops) is followed by a record:
     * the first offset at or after it that a read_committed reader sees, or the stop where none is before it. Commit
     * markers and aborted records take offsets that no reader sees: a position just before them has read all there
     * was. Where the answer does not come in time, as far as the peek got (no record short of it).
     */
    private Peek peek(Map<TopicPartition, Long> positions) {
        Map<TopicPartition, Long> unread = new HashMap<>();
        Map<TopicPartition, Long> lastRead = new HashMap<>();
        if (positions.isEmpty()) {
            return new Peek(unread, lastRead);
        }
        peeker.assign(positions.keySet());
        // From the last record read, where there is one: its timestamp says how far in time the job has got.
        positions.forEach((partition, position) ->
                peeker.seek(partition, position > starts.get(partition) ? position - 1 : position));
        long deadline = System.nanoTime() + PEEK_TIMEOUT.toNanos();
        try {
            while (unread.size() < positions.size() && System.nanoTime() < deadline) {
                for (ConsumerRecord<byte[], byte[]> record : peeker.poll(Duration.ofMillis(200))) {
                    TopicPartition partition = new TopicPartition(record.topic(), record.partition());
                    if (record.offset() < positions.get(partition)) {
                        lastRead.put(partition, record.timestamp());
                    } else {
                        unread.putIfAbsent(partition, Math.min(record.offset(), stops.get(partition)));
                    }
                }
                for (TopicPartition partition : positions.keySet()) {
                    long stop = stops.get(partition);
                    if (!unread.containsKey(partition) && peeker.position(partition, PEEK_TIMEOUT) >= stop) {
                        unread.put(partition, stop); // only markers and aborted records were left
                    }
                }
                peeker.pause(unread.keySet());
            }
            positions.forEach((partition, position) -> unread.computeIfAbsent(partition,
                    p -> Math.max(position, Math.min(peeker.position(p, PEEK_TIMEOUT), stops.get(p)))));
        } finally {
            peeker.resume(peeker.paused()); // a partition left paused would answer no later peek
        }
        return new Peek(unread, lastRead);
    }

    /**
     * About how far in time the job has read: the earliest, over the partitions it has not finished, of the timestamp
     * of the last record read.
     */
    private Instant reachedUpTo(Map<TopicPartition, Long> lastRead) {
        List<TopicPartition> unfinished = stops.keySet().stream()
                .filter(partition -> unreadFrom.get(partition) < stops.get(partition)).toList();
        if (unfinished.isEmpty()) {
            return to;
        }
        if (unfinished.stream().anyMatch(partition -> unreadFrom.get(partition).equals(starts.get(partition)))) {
            return from; // some partition is not started yet
        }
        return unfinished.stream().map(lastRead::get).filter(Objects::nonNull).min(Long::compare)
                .map(Instant::ofEpochMilli).orElse(from);
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
