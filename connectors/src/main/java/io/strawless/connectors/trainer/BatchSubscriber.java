package io.strawless.connectors.trainer;

import io.strawless.connectors.KafkaOptions;
import io.strawless.connectors.StrawlessKafka;
import io.strawless.schemas.TrainingBatch;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Properties;
import org.apache.avro.message.MissingSchemaException;
import org.apache.flink.configuration.ReadableConfig;
import org.apache.kafka.clients.consumer.CommitFailedException;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRebalanceListener;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.RebalanceInProgressException;
import org.apache.kafka.common.errors.RecordDeserializationException;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Reads training batches the way a trainer must: committed transactions only
 * ({@code isolation.level=read_committed}: the job writes batches in Kafka transactions, and an aborted
 * attempt's batches must never be trained on), and offsets committed only for batches the trainer
 * acknowledged, so a trainer that dies mid-batch gets that batch again (at least once).
 *
 * <pre>{@code
 * try (BatchSubscriber subscriber = new BatchSubscriber(conf)) {
 *     while (training) {
 *         for (Delivery delivery : subscriber.poll(Duration.ofSeconds(1))) {
 *             train(delivery.batch());
 *             delivery.ack();
 *         }
 *     }
 * }
 * }</pre>
 *
 * <p>Training on a batch: multiply each step's log-probability by its {@code advantage} (steps with
 * {@code trainable=false} carry 0 and are masked), and each trajectory's loss by its
 * {@link io.strawless.schemas.ScoredTrajectory#getWeight weight}: 0 for a
 * {@link io.strawless.schemas.ScoredTrajectory#getSuspect suspect}, which the job keeps in the batch, credit
 * and all, for inspection but not for training ({@code job.suspect-policy=FLAG}). Under the process estimator a
 * step's {@link io.strawless.schemas.ScoredStep#getProcessReward process reward} is what its verifiers' verdicts
 * added to its reward in the recurrence that gave its advantage (null where they added nothing; see the schema).
 *
 * <p>Configuration: {@link KafkaOptions} says where ({@code kafka.bootstrap-servers}, {@code topics.batches},
 * {@code kafka.client.*} for security and any other client setting), {@link TrainerOptions} says which
 * group and which batches ({@code trainer.*}). The group starts at the earliest batch the first time.
 *
 * <p>One batch a poll by default ({@code kafka.client.max.poll.records} to change it): Kafka drops a member
 * that does not poll again within {@code max.poll.interval.ms} (5 min by default, {@code kafka.client.*} as
 * well), so training on all of a poll's batches must fit in it.
 *
 * <p>Filters ({@link TrainerOptions}): {@code trainer.estimator} and {@code trainer.config-fingerprint} drop whole
 * batches; the policy-version bounds drop whole scoring units from a batch (a unit is never delivered in part), and
 * a batch left empty. {@link #filteredOut} and {@link #filteredOutTrajectories} count what they dropped. The
 * estimator is compared by name in any case, '-' or '_' alike ({@code GRPO}, {@code dr-grpo}); settings no batch of
 * the job could pass are refused (an empty value, a fingerprint not of the job's shape, crossed bounds), and the first
 * batch dropped for each estimator and fingerprint it carries is logged as a warning naming both sides.
 *
 * <p>Commits: per partition, the group's offset is that of the first delivered batch not yet acknowledged
 * (all acknowledged: the position after the last one). Batches the filters drop count as acknowledged.
 * Acknowledgements are committed at the start of the next {@link #poll} and on {@link #close}; a partition
 * that moves to another group member in a rebalance commits first, and its un-acknowledged batches go to
 * the new owner.
 *
 * <p>A value that is not a {@link TrainingBatch} is reported, never dropped: {@link #poll} returns the
 * batches before it, then throws Kafka's {@link RecordDeserializationException}, which names the partition
 * and offset. The subscriber stays on that record (polling again throws again) until {@link #skip} moves
 * past it. The job writes nothing else to the batches topic, so this means a foreign writer or a writer
 * schema this client does not know: {@link #isUnknownSchema} tells the latter, most likely a batch of a newer
 * release, which must not be skipped (update the client and restart the trainer).
 *
 * <p>Like {@link KafkaConsumer}, not thread-safe: call {@link #poll}, {@link #skip} and {@link #close} from
 * one thread. {@link Delivery#ack()} may be called from any thread.
 */
public final class BatchSubscriber implements AutoCloseable {

    private static final Logger LOG = LoggerFactory.getLogger(BatchSubscriber.class);

    private final KafkaConsumer<byte[], TrainingBatch> consumer;
    private final BatchFilter filter;
    /** Partitions this subscriber has read from since they were assigned to it. */
    private final Map<TopicPartition, PartitionProgress> progress = new HashMap<>();
    private long filteredOut;
    private long filteredOutTrajectories;

    /** Joins the trainer's group on the batches topic; reading starts with the first {@link #poll}. */
    public BatchSubscriber(ReadableConfig conf) {
        if (conf.get(TrainerOptions.GROUP_ID).equals(conf.get(KafkaOptions.GROUP_ID))) {
            // As a member of the job's group, the trainer would make the broker refuse the job's offset commits.
            throw new IllegalArgumentException(TrainerOptions.GROUP_ID.key() + "=" + conf.get(TrainerOptions.GROUP_ID)
                    + " is the job's own group (" + KafkaOptions.GROUP_ID.key() + "): choose another");
        }
        Properties properties = StrawlessKafka.consumerProperties(conf, conf.get(TrainerOptions.GROUP_ID));
        if (properties.containsKey(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG)) {
            throw new IllegalArgumentException(KafkaOptions.CLIENT_PREFIX + ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG
                    + " is not allowed: the subscriber commits only what the trainer acknowledged");
        }
        properties.setProperty(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, "false");
        // A trainer trains on each delivery before it polls again, and Kafka drops a member that does not poll
        // within max.poll.interval.ms (5 min): with 500 batches a poll (Kafka's default) it would lose its
        // partitions, fail to commit, and get the same batches again, over and over. One batch a poll bounds
        // the time between polls by one training step.
        properties.putIfAbsent(ConsumerConfig.MAX_POLL_RECORDS_CONFIG, "1");
        // Every setting is read before the consumer exists: one that throws must not leave a consumer (its
        // sockets, metrics and MBean) behind that nobody can close.
        this.filter = BatchFilter.of(conf);
        List<String> topics = List.of(conf.get(KafkaOptions.BATCHES_TOPIC));
        this.consumer = new KafkaConsumer<>(properties, new ByteArrayDeserializer(), new TrainingBatchDeserializer());
        try {
            consumer.subscribe(topics, new CommitBeforeRevoke());
        } catch (RuntimeException e) {
            consumer.close(); // not subscribed: nothing to commit, no group to leave
            throw e;
        }
    }

    /**
     * Commits what was acknowledged so far, then waits up to {@code timeout} for batches that pass the
     * filters, each less the scoring units they drop. Returns them in offset order per partition; the list may be
     * empty.
     *
     * @throws RecordDeserializationException at a value that is not a TrainingBatch (see the class comment)
     */
    public List<Delivery> poll(Duration timeout) {
        commitAcknowledged(List.copyOf(progress.keySet()));
        List<Delivery> deliveries = new ArrayList<>();
        for (ConsumerRecord<byte[], TrainingBatch> record : consumer.poll(timeout)) {
            TopicPartition partition = new TopicPartition(record.topic(), record.partition());
            PartitionProgress partitionProgress = progress.computeIfAbsent(partition, p -> new PartitionProgress());
            int trajectories = record.value().getTrajectories().size();
            Optional<TrainingBatch> wanted = filter.apply(record.value());
            filteredOutTrajectories += trajectories - wanted.map(batch -> batch.getTrajectories().size()).orElse(0);
            if (wanted.isPresent()) {
                Delivery delivery = new Delivery(wanted.get(), partition, record.offset());
                partitionProgress.unacknowledged.add(delivery.receipt());
                deliveries.add(delivery);
            } else {
                filteredOut++;
            }
        }
        return deliveries;
    }

    /**
     * Moves past the record {@code undecodable} names; it counts as acknowledged. Skipping loses whatever
     * that record was, so a trainer should log or store {@code undecodable.valueBuffer()} first, and never skip one
     * for which {@link #isUnknownSchema} holds.
     */
    public void skip(RecordDeserializationException undecodable) {
        TopicPartition partition = undecodable.topicPartition();
        consumer.seek(partition, undecodable.offset() + 1);
        progress.computeIfAbsent(partition, p -> new PartitionProgress());
    }

    /**
     * Whether {@code undecodable}, as {@link #poll} threw it, is a value in Avro single-object encoding whose writer
     * schema this client does not know: most likely a TrainingBatch of a newer Strawless release than the client's
     * (a foreign writer's single-object record looks the same). Do not {@link #skip} such a batch: update the client
     * (its schema history) and restart the trainer, which reads it then. Kafka wraps the deserializer's exception,
     * which wraps Avro's, so the exception's own cause does not tell.
     */
    public static boolean isUnknownSchema(RecordDeserializationException undecodable) {
        for (Throwable cause = undecodable.getCause(); cause != null; cause = cause.getCause()) {
            if (cause instanceof MissingSchemaException) {
                return true;
            }
        }
        return false;
    }

    /** Batches the {@code trainer.*} filters dropped whole since this subscriber started. */
    public long filteredOut() {
        return filteredOut;
    }

    /**
     * Trajectories the {@code trainer.*} filters kept from the trainer since this subscriber started: those of the
     * batches they dropped, and the scoring units the policy-version bounds removed from the batches delivered.
     */
    public long filteredOutTrajectories() {
        return filteredOutTrajectories;
    }

    /** Commits what was acknowledged and leaves the group. */
    @Override
    public void close() {
        try {
            commitAcknowledged(List.copyOf(progress.keySet()));
        } finally {
            consumer.close();
        }
    }

    private void commitAcknowledged(Collection<TopicPartition> partitions) {
        Map<TopicPartition, OffsetAndMetadata> offsets = new HashMap<>();
        for (TopicPartition partition : partitions) {
            PartitionProgress partitionProgress = progress.get(partition);
            long next = partitionProgress.nextUnacknowledgedOffset(consumer, partition);
            if (next != partitionProgress.committed) {
                offsets.put(partition, new OffsetAndMetadata(next));
            }
        }
        if (offsets.isEmpty()) {
            return;
        }
        try {
            consumer.commitSync(offsets);
        } catch (RebalanceInProgressException e) {
            // The group is rebalancing: the next poll completes it (committing revoked partitions in the
            // listener) and the next commit covers the partitions kept. Nothing acknowledged is lost.
            LOG.info("commit of acknowledged batches deferred to the next poll: {}", e.toString());
            return;
        } catch (CommitFailedException e) {
            // This member left the group: the time between two polls exceeded max.poll.interval.ms. Its
            // partitions went to the next owner (or to this one again), which gets the batches not committed.
            LOG.warn("acknowledged batches could not be committed, so they will be delivered again: the time"
                    + " between two polls exceeded {} (raise kafka.client.{}): {}", ConsumerConfig.MAX_POLL_INTERVAL_MS_CONFIG,
                    ConsumerConfig.MAX_POLL_INTERVAL_MS_CONFIG, e.toString());
            return;
        }
        offsets.forEach((partition, offset) -> progress.get(partition).committed = offset.offset());
    }

    /** Receipts of the batches delivered from one partition, in offset order, from the first not yet acknowledged. */
    private static final class PartitionProgress {
        final ArrayDeque<Delivery.Receipt> unacknowledged = new ArrayDeque<>();
        long committed = -1;

        long nextUnacknowledgedOffset(KafkaConsumer<?, ?> consumer, TopicPartition partition) {
            while (!unacknowledged.isEmpty() && unacknowledged.peek().acknowledged()) {
                unacknowledged.poll();
            }
            // Offsets of committed batches are not contiguous (transaction markers, aborted records), so
            // "everything delivered is acknowledged" commits the consumer's position, not last offset + 1.
            return unacknowledged.isEmpty() ? consumer.position(partition) : unacknowledged.peek().offset;
        }
    }

    /** Commits a partition's acknowledged batches before another group member takes it over. */
    private final class CommitBeforeRevoke implements ConsumerRebalanceListener {

        @Override
        public void onPartitionsRevoked(Collection<TopicPartition> partitions) {
            try {
                commitAcknowledged(partitions.stream().filter(progress::containsKey).toList());
            } finally {
                progress.keySet().removeAll(partitions); // whatever the commit did: they are no longer ours
            }
        }

        @Override
        public void onPartitionsAssigned(Collection<TopicPartition> partitions) {}

        @Override
        public void onPartitionsLost(Collection<TopicPartition> partitions) {
            // Another member may own them already: committing now could overwrite its progress.
            progress.keySet().removeAll(partitions);
        }
    }
}
