package io.strawless.ops.bench;

import io.strawless.connectors.KafkaOptions;
import io.strawless.connectors.StrawlessKafka;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import org.apache.flink.configuration.ReadableConfig;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.ConsumerRecords;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;

/**
 * The ceiling: the same records copied from the input topics to an output topic by plain Kafka clients, under
 * the guarantees the job gives. Each of {@code parallelism} workers reads its share of the input partitions
 * with a {@code read_committed} consumer and writes every record, key and value unchanged, through a
 * transactional producer that commits, with the consumer's position, once per checkpoint interval, as the
 * job's sinks and source commit on each checkpoint. Client settings are the ones the job's source and sinks
 * get (the {@code kafka.client.*} passthrough and Kafka's defaults otherwise), so batching is the same.
 */
final class Passthrough {

    private static final Duration POLL_TIMEOUT = Duration.ofMillis(100);

    private final ReadableConfig conf;
    private final String group;
    private final String outputTopic;
    private final String stepsTopic;
    private final Duration commitInterval;
    private final CountDownLatch firstRecord = new CountDownLatch(1);
    /** Workers keep their clients (and the clients' threads) until then, so that their CPU time is counted. */
    private final CountDownLatch windowClosed = new CountDownLatch(1);
    /** Records of the steps topic the workers have read so far: the run's middle is set on them. */
    private final AtomicLong stepRecordsRead = new AtomicLong();

    private final AtomicReference<Throwable> failure = new AtomicReference<>();

    /**
     * @param group       the consumer group the workers commit their position to, through their transactions
     * @param outputTopic where the records go; it must exist
     */
    Passthrough(ReadableConfig conf, String group, String outputTopic, Duration commitInterval) {
        this.conf = conf;
        this.group = group;
        this.outputTopic = outputTopic;
        this.stepsTopic = conf.get(KafkaOptions.STEPS_TOPIC);
        this.commitInterval = commitInterval;
    }

    /**
     * Copies every record of {@code ends}' partitions up to its end offset and returns what the copy took.
     *
     * @param steps       steps on the steps topic
     * @param stepRecords records on the steps topic, the steps' malformed siblings included
     */
    Throughput run(
            int parallelism,
            Map<TopicPartition, Long> ends,
            long steps,
            long stepRecords,
            BenchKafka kafka,
            Progress progress)
            throws Exception {
        List<Thread> workers = new ArrayList<>();
        List<TopicPartition> partitions = new ArrayList<>(ends.keySet());
        partitions.sort(Comparator.comparing(TopicPartition::topic).thenComparingInt(TopicPartition::partition));
        List<List<TopicPartition>> shares = shares(partitions, parallelism);
        for (int w = 0; w < shares.size(); w++) {
            Map<TopicPartition, Long> share = new HashMap<>();
            shares.get(w).forEach(partition -> share.put(partition, ends.get(partition)));
            String transactionalId = group + "-" + w;
            Thread worker = new Thread(() -> copy(share, transactionalId), "bench-passthrough-" + w);
            worker.setDaemon(true);
            workers.add(worker);
        }
        workers.forEach(Thread::start);
        String who = "passthrough p" + parallelism;
        try {
            long deadline = System.nanoTime() + SustainedRate.STALL_LIMIT.toNanos();
            while (!firstRecord.await(20, TimeUnit.MILLISECONDS)) {
                rethrowFailure();
                if (System.nanoTime() > deadline) {
                    throw new IllegalStateException(who + " read no input record within "
                            + SustainedRate.STALL_LIMIT.toSeconds() + " s of its consumers starting: the preloaded topics "
                            + ends.keySet().stream().map(TopicPartition::topic).distinct().sorted().toList()
                            + " gave nothing at " + conf.get(KafkaOptions.BOOTSTRAP_SERVERS));
                }
            }
            long runStart = System.nanoTime();
            long records = ends.values().stream().mapToLong(Long::longValue).sum();
            SustainedRate.Measured middle =
                    SustainedRate.measure(stepRecordsRead::get, stepRecords, this::rethrowFailure, progress, who);
            kafka.awaitCaughtUp(group, ends, this::rethrowFailure, progress, who);
            double seconds = (System.nanoTime() - runStart) / 1e9;
            windowClosed.countDown();
            for (Thread worker : workers) {
                worker.join();
            }
            rethrowFailure();
            return new Throughput(
                    "passthrough", parallelism, steps, stepRecords, records, seconds, middle, steps, false);
        } finally {
            windowClosed.countDown();
            workers.forEach(Thread::interrupt);
        }
    }

    private void copy(Map<TopicPartition, Long> share, String transactionalId) {
        try (KafkaConsumer<byte[], byte[]> consumer = new KafkaConsumer<>(consumerProperties());
                KafkaProducer<byte[], byte[]> producer = new KafkaProducer<>(producerProperties(transactionalId))) {
            producer.initTransactions();
            consumer.assign(share.keySet());
            consumer.seekToBeginning(share.keySet());
            producer.beginTransaction();
            CommitSchedule commits = new CommitSchedule(System.nanoTime(), commitInterval);
            while (!Thread.currentThread().isInterrupted()) {
                ConsumerRecords<byte[], byte[]> records = consumer.poll(POLL_TIMEOUT);
                if (!records.isEmpty()) {
                    firstRecord.countDown();
                }
                for (TopicPartition partition : records.partitions()) {
                    if (partition.topic().equals(stepsTopic)) {
                        stepRecordsRead.addAndGet(records.records(partition).size());
                    }
                }
                for (ConsumerRecord<byte[], byte[]> record : records) {
                    producer.send(
                            new ProducerRecord<>(outputTopic, null, record.timestamp(), record.key(), record.value()));
                }
                long now = System.nanoTime();
                if (commits.due(now)) {
                    commits.committing(now);
                    Map<TopicPartition, OffsetAndMetadata> positions = new HashMap<>();
                    boolean done = true;
                    for (Map.Entry<TopicPartition, Long> end : share.entrySet()) {
                        long position = consumer.position(end.getKey());
                        positions.put(end.getKey(), new OffsetAndMetadata(position));
                        done &= position >= end.getValue();
                    }
                    producer.sendOffsetsToTransaction(positions, consumer.groupMetadata());
                    producer.commitTransaction();
                    if (done) {
                        windowClosed.await();
                        return;
                    }
                    producer.beginTransaction();
                }
            }
        } catch (Throwable e) {
            failure.compareAndSet(null, e);
        }
    }

    private void rethrowFailure() {
        Throwable e = failure.get();
        if (e != null) {
            throw new IllegalStateException("the passthrough failed: " + e, e);
        }
    }

    private Properties consumerProperties() {
        Properties properties = StrawlessKafka.inputConsumerProperties(conf); // the job's source settings
        properties.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, conf.get(KafkaOptions.BOOTSTRAP_SERVERS));
        properties.put(ConsumerConfig.GROUP_ID_CONFIG, group);
        properties.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, false);
        properties.put(ConsumerConfig.KEY_DESERIALIZER_CLASS_CONFIG, ByteArrayDeserializer.class.getName());
        properties.put(ConsumerConfig.VALUE_DESERIALIZER_CLASS_CONFIG, ByteArrayDeserializer.class.getName());
        return properties;
    }

    private Properties producerProperties(String transactionalId) {
        Properties properties = StrawlessKafka.producerProperties(conf);
        properties.put(ProducerConfig.TRANSACTIONAL_ID_CONFIG, transactionalId);
        properties.put(ProducerConfig.TRANSACTION_TIMEOUT_CONFIG, (int)
                conf.get(KafkaOptions.TRANSACTION_TIMEOUT).toMillis());
        properties.put(ProducerConfig.KEY_SERIALIZER_CLASS_CONFIG, ByteArraySerializer.class.getName());
        properties.put(ProducerConfig.VALUE_SERIALIZER_CLASS_CONFIG, ByteArraySerializer.class.getName());
        return properties;
    }

    /**
     * When a worker commits: once per interval, the next one an interval after the last one began. A worker that
     * fell behind (a long poll, a slow commit, a busy machine) commits once and goes on, as Flink, which does not
     * queue the checkpoints it missed, would; scheduled at fixed times instead, it committed back to back until it
     * had caught up with them, paying for commits that the job would not have made.
     */
    static final class CommitSchedule {
        private final long intervalNanos;
        private long nextNanos;

        /** The first commit is due an interval after {@code startNanos} ({@link System#nanoTime}). */
        CommitSchedule(long startNanos, Duration interval) {
            this.intervalNanos = interval.toNanos();
            this.nextNanos = startNanos + intervalNanos;
        }

        boolean due(long nowNanos) {
            return nowNanos - nextNanos >= 0;
        }

        /** A commit begins at {@code nowNanos}: the next is due an interval later. */
        void committing(long nowNanos) {
            nextNanos = nowNanos + intervalNanos;
        }
    }

    /** Partitions dealt round-robin to {@code workers} workers (fewer when there are fewer partitions). */
    private static List<List<TopicPartition>> shares(List<TopicPartition> partitions, int workers) {
        List<List<TopicPartition>> shares = new ArrayList<>();
        for (int w = 0; w < Math.min(workers, partitions.size()); w++) {
            shares.add(new ArrayList<>());
        }
        for (int i = 0; i < partitions.size(); i++) {
            shares.get(i % shares.size()).add(partitions.get(i));
        }
        return shares;
    }
}
