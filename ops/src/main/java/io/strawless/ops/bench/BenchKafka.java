package io.strawless.ops.bench;

import io.strawless.connectors.KafkaOptions;
import io.strawless.connectors.topics.KafkaAdmin;
import java.time.Duration;
import java.util.Collection;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutionException;
import java.util.function.Function;
import java.util.stream.Collectors;
import org.apache.flink.configuration.ReadableConfig;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.OffsetSpec;
import org.apache.kafka.clients.admin.TopicDescription;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.common.KafkaFuture;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.GroupIdNotFoundException;

/**
 * The benchmark's view of the Kafka cluster: its partitions, their end offsets, and how far a consumer group
 * has committed. Both contenders commit their reading position when their output commits (the job's source on
 * each completed checkpoint, the passthrough with each transaction), so "the group has committed every end
 * offset" means the same for both: everything was read, and what it produced is visible.
 */
final class BenchKafka implements AutoCloseable {

    /** How often the committed offsets are asked for: the end of a run is known to within this. */
    private static final long POLL_MILLIS = 100;

    private static final long REPORT_EVERY_NANOS = 3_000_000_000L;
    private static final Duration STALL_LIMIT = Duration.ofSeconds(90);

    private final ReadableConfig conf;
    private final Duration timeout;
    private final Admin admin;

    /**
     * Every call gives up after {@code kafka.admin-timeout} and then fails as the provisioner does (one line that
     * names the address), rather than after the admin client's default minute with its own message.
     */
    BenchKafka(ReadableConfig conf) {
        this.conf = conf;
        this.timeout = conf.get(KafkaOptions.ADMIN_TIMEOUT);
        this.admin = KafkaAdmin.create(conf);
    }

    List<TopicPartition> partitions(Collection<String> topics) throws ExecutionException, InterruptedException {
        Map<String, TopicDescription> descriptions = await(admin.describeTopics(topics).allTopicNames());
        return descriptions.values().stream()
                .flatMap(d -> d.partitions().stream().map(p -> new TopicPartition(d.name(), p.partition())))
                .sorted(Comparator.comparing(TopicPartition::topic).thenComparingInt(TopicPartition::partition))
                .toList();
    }

    Map<TopicPartition, Long> endOffsets(Collection<TopicPartition> partitions)
            throws ExecutionException, InterruptedException {
        Map<TopicPartition, OffsetSpec> request =
                partitions.stream().collect(Collectors.toMap(Function.identity(), partition -> OffsetSpec.latest()));
        Map<TopicPartition, Long> ends = new HashMap<>();
        await(admin.listOffsets(request).all()).forEach((partition, info) -> ends.put(partition, info.offset()));
        return ends;
    }

    /** Sum over {@code ends} of the offsets {@code group} has committed (a partition without one counts 0). */
    long committed(String group, Map<TopicPartition, Long> ends) throws ExecutionException, InterruptedException {
        Map<TopicPartition, OffsetAndMetadata> committed =
                await(admin.listConsumerGroupOffsets(group).partitionsToOffsetAndMetadata());
        long sum = 0;
        for (TopicPartition partition : ends.keySet()) {
            OffsetAndMetadata mark = committed.get(partition);
            sum += mark == null ? 0 : mark.offset();
        }
        return sum;
    }

    /** Whether {@code group} has committed the end offset of every partition in {@code ends}. */
    boolean caughtUp(String group, Map<TopicPartition, Long> ends) throws ExecutionException, InterruptedException {
        Map<TopicPartition, OffsetAndMetadata> committed =
                await(admin.listConsumerGroupOffsets(group).partitionsToOffsetAndMetadata());
        for (Map.Entry<TopicPartition, Long> end : ends.entrySet()) {
            OffsetAndMetadata mark = committed.get(end.getKey());
            if ((mark == null ? 0 : mark.offset()) < end.getValue()) {
                return false;
            }
        }
        return true;
    }

    /** Something that throws when the contender being waited for has failed. */
    interface Liveness {
        void check() throws Exception;
    }

    /**
     * Waits until {@code group} has committed every end offset in {@code ends}, printing progress every few
     * seconds; fails when {@code alive} does, or when no new offset is committed for {@link #STALL_LIMIT}.
     */
    void awaitCaughtUp(String group, Map<TopicPartition, Long> ends, Liveness alive, Progress progress, String who)
            throws Exception {
        long total = ends.values().stream().mapToLong(Long::longValue).sum();
        long lastCommitted = -1;
        long lastChange = System.nanoTime();
        long nextReport = System.nanoTime() + REPORT_EVERY_NANOS;
        while (!caughtUp(group, ends)) {
            alive.check();
            long committed = committed(group, ends);
            if (committed != lastCommitted) {
                lastCommitted = committed;
                lastChange = System.nanoTime();
            } else if (System.nanoTime() - lastChange > STALL_LIMIT.toNanos()) {
                throw new IllegalStateException(who + " committed no new input for " + STALL_LIMIT.toSeconds() + " s ("
                        + committed + " of " + total + " records)");
            }
            if (System.nanoTime() > nextReport) {
                progress.line("%s: %,d of %,d input records committed", who, committed, total);
                nextReport += REPORT_EVERY_NANOS;
            }
            Thread.sleep(POLL_MILLIS);
        }
    }

    /**
     * Deletes one run's output topics and its consumer group once its figures are taken, so that a bench's disk use
     * and page cache stay those of one run's output, however many rounds it runs. Its transactional ids are left to
     * expire, as the broker does with every idle one.
     */
    void deleteRun(Collection<String> outputTopics, String group) throws ExecutionException, InterruptedException {
        await(admin.deleteTopics(outputTopics).all());
        try {
            await(admin.deleteConsumerGroups(List.of(group)).all());
        } catch (ExecutionException e) {
            if (!(e.getCause() instanceof GroupIdNotFoundException)) {
                throw e; // a group that never committed an offset does not exist: nothing to delete
            }
        }
    }

    /** Deletes the topics and consumer groups whose names start with {@code prefix}: a bench leaves no trace. */
    void deleteAll(String prefix) throws ExecutionException, InterruptedException {
        List<String> topics = await(admin.listTopics().names()).stream()
                .filter(t -> t.startsWith(prefix))
                .toList();
        List<String> groups = await(admin.listGroups().all()).stream()
                .map(listing -> listing.groupId())
                .filter(g -> g.startsWith(prefix))
                .toList();
        await(admin.deleteTopics(topics).all());
        await(admin.deleteConsumerGroups(groups).all());
    }

    private <T> T await(KafkaFuture<T> future) throws ExecutionException, InterruptedException {
        return KafkaAdmin.await(conf, future);
    }

    @Override
    public void close() {
        admin.close(timeout);
    }
}
