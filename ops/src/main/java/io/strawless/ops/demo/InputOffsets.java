package io.strawless.ops.demo;

import io.strawless.connectors.KafkaOptions;
import io.strawless.connectors.topics.KafkaAdmin;
import io.strawless.ops.fleet.InputTopic;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutionException;
import java.util.function.Function;
import java.util.stream.Collectors;
import org.apache.flink.configuration.ReadableConfig;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.ListOffsetsResult.ListOffsetsResultInfo;
import org.apache.kafka.clients.admin.OffsetSpec;
import org.apache.kafka.clients.admin.TopicDescription;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.common.TopicPartition;

/**
 * How far the job has read the input topics. Its Kafka source commits its reading position to the job's
 * consumer group when a checkpoint completes, so a committed offset means "processed and checkpointed".
 * Thread-safe: the progress reporter and the run itself both ask.
 */
final class InputOffsets implements AutoCloseable {

    /**
     * @param committed sum of the job's committed offsets over all input partitions
     * @param end       sum of the end offsets over all input partitions
     * @param caughtUp  whether, in every partition, the job has committed the end offset
     */
    record Position(long committed, long end, boolean caughtUp) {
        long lag() {
            return end - committed;
        }
    }

    private final ReadableConfig conf;
    private final Admin admin;
    private final String groupId;
    private final List<String> topics;
    private volatile List<TopicPartition> partitions;

    InputOffsets(ReadableConfig conf) {
        this.conf = conf;
        this.admin = KafkaAdmin.create(conf);
        this.groupId = conf.get(KafkaOptions.GROUP_ID);
        this.topics = new ArrayList<>();
        for (InputTopic topic : InputTopic.values()) {
            topics.add(topic.name(conf));
        }
    }

    Position position() throws ExecutionException, InterruptedException {
        Map<TopicPartition, Long> ends = offsets(OffsetSpec.latest());
        Map<TopicPartition, OffsetAndMetadata> committed =
                KafkaAdmin.await(conf, admin.listConsumerGroupOffsets(groupId).partitionsToOffsetAndMetadata());
        long committedSum = 0;
        long endSum = 0;
        boolean caughtUp = true;
        for (Map.Entry<TopicPartition, Long> end : ends.entrySet()) {
            OffsetAndMetadata mark = committed.get(end.getKey());
            long position = mark == null ? 0 : mark.offset();
            committedSum += position;
            endSum += end.getValue();
            caughtUp &= position >= end.getValue();
        }
        return new Position(committedSum, endSum, caughtUp);
    }

    /** Records on each input topic (end minus earliest offset), by topic name in configuration order. */
    Map<String, Long> recordsIn() throws ExecutionException, InterruptedException {
        Map<TopicPartition, Long> ends = offsets(OffsetSpec.latest());
        Map<TopicPartition, Long> starts = offsets(OffsetSpec.earliest());
        Map<String, Long> records = new LinkedHashMap<>();
        topics.forEach(topic -> records.put(topic, 0L));
        ends.forEach((partition, end) -> records.merge(partition.topic(), end - starts.get(partition), Long::sum));
        return records;
    }

    private Map<TopicPartition, Long> offsets(OffsetSpec spec) throws ExecutionException, InterruptedException {
        Map<TopicPartition, OffsetSpec> request =
                partitions().stream().collect(Collectors.toMap(Function.identity(), partition -> spec));
        Map<TopicPartition, ListOffsetsResultInfo> result =
                KafkaAdmin.await(conf, admin.listOffsets(request).all());
        Map<TopicPartition, Long> offsets = new LinkedHashMap<>();
        result.forEach((partition, info) -> offsets.put(partition, info.offset()));
        return offsets;
    }

    private List<TopicPartition> partitions() throws ExecutionException, InterruptedException {
        if (partitions == null) {
            Map<String, TopicDescription> descriptions =
                    KafkaAdmin.await(conf, admin.describeTopics(topics).allTopicNames());
            partitions = descriptions.values().stream()
                    .flatMap(d -> d.partitions().stream().map(p -> new TopicPartition(d.name(), p.partition())))
                    .toList();
        }
        return partitions;
    }

    @Override
    public void close() {
        admin.close();
    }
}
