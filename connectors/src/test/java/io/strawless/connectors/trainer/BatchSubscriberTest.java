package io.strawless.connectors.trainer;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.strawless.connectors.KafkaOptions;
import io.strawless.connectors.broker.InProcessKafka;
import io.strawless.schemas.ScoredStep;
import io.strawless.schemas.ScoredTrajectory;
import io.strawless.schemas.TrainingBatch;
import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import javax.management.MBeanServer;
import javax.management.ObjectName;
import org.apache.flink.configuration.Configuration;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.RecordDeserializationException;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/** The trainer-side subscriber against a real broker; each test has its own topic and group. */
class BatchSubscriberTest {

    /** Only bounds a broken test; every wait below ends as soon as its records arrive. */
    private static final Duration PATIENCE = Duration.ofSeconds(30);

    /** The config_fingerprint of the batches below, of the shape the job writes. */
    private static final String FINGERPRINT = "grpo-verl-8e2578ac";

    @RegisterExtension
    static final InProcessKafka kafka = new InProcessKafka();

    @Test
    void anUnacknowledgedBatchIsDeliveredAgainToTheGroupsNextSubscriber() throws Exception {
        Configuration conf = subscriberOn("acks");
        produce("acks", batch("b0"), batch("b1"), batch("b2"), batch("b3"));

        try (BatchSubscriber first = new BatchSubscriber(conf)) {
            List<Delivery> deliveries = pollUntil(first, 4);
            assertEquals(List.of("b0", "b1", "b2", "b3"), ids(deliveries));
            deliveries.get(0).ack();
            deliveries.get(1).ack();
            deliveries.get(3).ack(); // b2 is not: the group's offset must stop there
        }

        try (BatchSubscriber next = new BatchSubscriber(conf)) {
            assertEquals(List.of("b2", "b3"), ids(pollUntil(next, 2)));
        }
    }

    /**
     * Two trainers in one group: when the second joins, the batches the first acknowledged stay committed and the
     * others are delivered again, each once, to whichever member owns its partition now. An acknowledgement of a
     * batch delivered before the rebalance moves nothing: the new owner trains on that batch and commits it.
     */
    @Test
    void aRebalanceKeepsTheAcknowledgedBatchesAndHandsOverTheRest() throws Exception {
        try (Admin admin = admin()) {
            admin.createTopics(List.of(new NewTopic("rebalance", 2, (short) 1))).all().get();
        }
        Configuration conf = subscriberOn("rebalance");
        produceTo("rebalance", 0, batch("p0-b0"), batch("p0-b1"));
        produceTo("rebalance", 1, batch("p1-b0"), batch("p1-b1"));

        try (BatchSubscriber first = new BatchSubscriber(conf)) {
            List<Delivery> beforeRebalance = pollUntil(first, 4);
            beforeRebalance.stream().filter(delivery -> delivery.batch().getBatchId().endsWith("b0"))
                    .forEach(Delivery::ack);
            try (BatchSubscriber second = new BatchSubscriber(conf)) {
                // One thread drives both members: each poll lets its member take part in the rebalance.
                List<Delivery> again = new ArrayList<>();
                Instant deadline = Instant.now().plus(PATIENCE);
                while (again.size() < 2) {
                    assertTrue(Instant.now().isBefore(deadline), "after the rebalance only " + ids(again) + " came");
                    again.addAll(first.poll(Duration.ofMillis(100)));
                    again.addAll(second.poll(Duration.ofMillis(100)));
                }
                beforeRebalance.forEach(Delivery::ack); // late: these partitions were handed over in between
                for (int i = 0; i < 5; i++) { // nothing else comes, and the late acknowledgements commit nothing
                    again.addAll(first.poll(Duration.ofMillis(100)));
                    again.addAll(second.poll(Duration.ofMillis(100)));
                }
                assertEquals(List.of("p0-b1", "p1-b1"), ids(again).stream().sorted().toList());
                assertEquals(Map.of(0, 1L, 1, 1L), committedOffsets("rebalance"));

                again.forEach(Delivery::ack);
                first.poll(Duration.ofMillis(100));
                second.poll(Duration.ofMillis(100));
                assertEquals(Map.of(0, 2L, 1, 2L), committedOffsets("rebalance"));
            }
        }
    }

    /**
     * A trainer that spends longer on a poll's batches than max.poll.interval.ms loses its partitions and its
     * commits, and gets the same batches again: one batch a poll keeps a slow trainer (here 1 s a batch, 4
     * batches, a 3 s interval) in the group, and every batch is trained on once.
     */
    @Test
    void aTrainerSlowerThanThePollIntervalOverAllBatchesStillCommitsEachOne() throws Exception {
        Configuration conf = subscriberOn("slow-trainer");
        conf.setString(KafkaOptions.CLIENT_PREFIX + "max.poll.interval.ms", "3000");
        produce("slow-trainer", batch("b0"), batch("b1"), batch("b2"), batch("b3"));

        List<String> trained = new ArrayList<>();
        try (BatchSubscriber subscriber = new BatchSubscriber(conf)) {
            Instant deadline = Instant.now().plus(PATIENCE);
            while (trained.size() < 4 && Instant.now().isBefore(deadline)) {
                for (Delivery delivery : subscriber.poll(Duration.ofMillis(200))) {
                    Thread.sleep(1_000); // a training step
                    trained.add(delivery.batch().getBatchId());
                    delivery.ack();
                }
            }
        }
        assertEquals(List.of("b0", "b1", "b2", "b3"), trained, "each batch once");
        try (Admin admin = admin()) {
            var committed = admin.listConsumerGroupOffsets("slow-trainer-trainer").partitionsToOffsetAndMetadata()
                    .get().get(new TopicPartition("slow-trainer", 0));
            assertTrue(committed != null && committed.offset() == 4,
                    "committed " + committed + ": the acknowledged batches would be delivered again");
        }
    }

    /** The estimator is named as the job's own setting may name it: in capitals, as the batches do not. */
    @Test
    void filtersDropBatchesBeforeTheTrainerAndCountThemAsAcknowledged() throws Exception {
        Configuration conf = subscriberOn("filters");
        conf.set(TrainerOptions.ESTIMATOR, "GRPO");
        conf.set(TrainerOptions.CONFIG_FINGERPRINT, FINGERPRINT);
        conf.set(TrainerOptions.MIN_POLICY_VERSION, 3L);
        conf.set(TrainerOptions.MAX_POLICY_VERSION, 5L);
        produce("filters",
                batch("keep-1", "grpo", FINGERPRINT, 3, 5),
                batch("other-estimator", "gae", FINGERPRINT, 3, 5),
                batch("other-config", "grpo", "grpo-verl-00000000", 3, 5),
                batch("too-old", "grpo", FINGERPRINT, 2, 4),
                batch("keep-2", "grpo", FINGERPRINT, 4, 4),
                batch("too-new", "grpo", FINGERPRINT, 4, 6));

        try (BatchSubscriber filtered = new BatchSubscriber(conf)) {
            List<Delivery> deliveries = new ArrayList<>();
            Instant deadline = Instant.now().plus(PATIENCE);
            while (filtered.filteredOut() < 4 || deliveries.size() < 2) {
                assertTrue(Instant.now().isBefore(deadline), "got " + ids(deliveries) + ", " + filtered.filteredOut());
                deliveries.addAll(filtered.poll(Duration.ofMillis(200)));
            }
            assertEquals(List.of("keep-1", "keep-2"), ids(deliveries));
            assertEquals(4, filtered.filteredOut());
            deliveries.forEach(Delivery::ack);
        }

        // The last record, too-new, was filtered out: the group's offset is past it.
        produce("filters", batch("after"));
        Configuration unfiltered = subscriberOn("filters");
        try (BatchSubscriber next = new BatchSubscriber(unfiltered)) {
            assertEquals(List.of("after"), ids(pollUntil(next, 1)));
        }
    }

    /**
     * A batch mixes the groups of many tasks: trainer.min-policy-version removes the scoring units with an older step,
     * every member of such a unit (its credit is relative to all of them), and delivers the rest of the batch instead
     * of dropping it, and with it the fresh data, for good. A batch written before scoring_unit existed is filtered by
     * group_id; a batch left empty is dropped.
     */
    @Test
    void thePolicyVersionBoundsDropWholeScoringUnitsNotTheBatchAroundThem() throws Exception {
        Configuration conf = subscriberOn("policy-units");
        conf.set(TrainerOptions.MIN_POLICY_VERSION, 42L);
        produce("policy-units",
                batch("mixed", List.of(
                        trajectory("stale-0", "g", 0, 42, 42),
                        trajectory("stale-1", "g", 0, 41, 42), // one step at 41: its whole unit goes
                        trajectory("fresh-0", "g", 1, 42, 43), // the same group_id, scored apart
                        trajectory("fresh-1", "h", 2, 42, 42))),
                batch("before-v4", List.of(
                        trajectory("old-0", "a", null, 41, 41),
                        trajectory("new-0", "b", null, 42, 42),
                        trajectory("new-1", "b", null, 42, 42))),
                batch("all-stale", List.of(trajectory("stale-2", "c", 0, 41, 41))),
                batch("after"));

        try (BatchSubscriber subscriber = new BatchSubscriber(conf)) {
            List<Delivery> deliveries = pollUntil(subscriber, 2);
            assertEquals(List.of("mixed", "before-v4"), ids(deliveries));
            TrainingBatch mixed = deliveries.get(0).batch();
            assertEquals(List.of("fresh-0", "fresh-1"), trajectoryIds(mixed));
            assertEquals(42, mixed.getMinPolicyVersion(), "what is left of the batch");
            assertEquals(43, mixed.getMaxPolicyVersion());
            assertEquals(List.of("new-0", "new-1"), trajectoryIds(deliveries.get(1).batch()));
            deliveries.forEach(Delivery::ack);
            Instant deadline = Instant.now().plus(PATIENCE);
            while (subscriber.filteredOut() < 2) { // all-stale, then after (policy 1)
                assertTrue(Instant.now().isBefore(deadline), "filtered out " + subscriber.filteredOut());
                assertTrue(subscriber.poll(Duration.ofMillis(200)).isEmpty(), "nothing else passes");
            }
            assertEquals(2 + 1 + 1 + 1, subscriber.filteredOutTrajectories());
        }
        assertEquals(4, committedOffset(conf.get(TrainerOptions.GROUP_ID), new TopicPartition("policy-units", 0)),
                "the batches delivered in part and those dropped are acknowledged");
    }

    @Test
    void batchesOfAnAbortedTransactionAreNeverDelivered() throws Exception {
        Configuration conf = subscriberOn("aborted");
        try (KafkaProducer<byte[], byte[]> producer = producer("aborted-writer")) {
            producer.initTransactions();
            sendInTransaction(producer, "aborted", List.of(batch("c0"), batch("c1")), true);
            sendInTransaction(producer, "aborted", List.of(batch("x")), false);
            sendInTransaction(producer, "aborted", List.of(batch("c2")), true);
        }
        assertEquals(4, readUncommitted("aborted"), "the aborted batch is on the topic");

        try (BatchSubscriber subscriber = new BatchSubscriber(conf)) {
            assertEquals(List.of("c0", "c1", "c2"), ids(pollUntil(subscriber, 3)));
        }
    }

    /**
     * A batch of a newer release than the client's (a writer schema it does not know) is told apart from a value
     * that is not a batch at all by {@link BatchSubscriber#isUnknownSchema}: the one a trainer must not skip.
     */
    @Test
    void aValueThatIsNotATrainingBatchIsReportedWithItsOffsetUntilSkipped() throws Exception {
        Configuration conf = subscriberOn("undecodable");
        try (KafkaProducer<byte[], byte[]> producer = producer(null)) {
            send(producer, "undecodable", encode(batch("good-0")));
            // Single-object encoded, by a writer schema this client does not know.
            send(producer, "undecodable", TrainingBatchDeserializerTest.writtenWith(
                    TrainingBatchDeserializerTest.newerReleasesSchema(), batch("newer")));
            send(producer, "undecodable", "not avro at all".getBytes(StandardCharsets.UTF_8));
            send(producer, "undecodable", encode(batch("good-1")));
        }

        try (BatchSubscriber subscriber = new BatchSubscriber(conf)) {
            List<Delivery> deliveries = new ArrayList<>();
            RecordDeserializationException unknownSchema = pollUntilUndecodable(subscriber, deliveries);
            assertEquals(List.of("good-0"), ids(deliveries), "the batch before the bad record is delivered");
            assertEquals(new TopicPartition("undecodable", 0), unknownSchema.topicPartition());
            assertEquals(1, unknownSchema.offset());
            assertTrue(unknownSchema.getCause().getMessage().contains("not a TrainingBatch"),
                    unknownSchema.getCause().getMessage());
            assertTrue(BatchSubscriber.isUnknownSchema(unknownSchema), "a newer release's batch: update, do not skip");

            RecordDeserializationException again = assertThrows(RecordDeserializationException.class,
                    () -> subscriber.poll(Duration.ofMillis(200)), "the subscriber stays on the bad record");
            assertEquals(1, again.offset());

            subscriber.skip(again);
            RecordDeserializationException garbage = pollUntilUndecodable(subscriber, deliveries);
            assertEquals(2, garbage.offset());
            assertFalse(BatchSubscriber.isUnknownSchema(garbage), "not Avro at all");
            subscriber.skip(garbage);
            deliveries.addAll(pollUntil(subscriber, 1));
            assertEquals(List.of("good-0", "good-1"), ids(deliveries));
            deliveries.forEach(Delivery::ack);
        }

        assertEquals(4, committedOffset(conf.get(TrainerOptions.GROUP_ID), new TopicPartition("undecodable", 0)),
                "skipped records count as acknowledged");
    }

    @Test
    void autoCommitCannotBeSwitchedOnThroughThePassthrough() {
        Configuration conf = subscriberOn("unused");
        conf.setString(KafkaOptions.CLIENT_PREFIX + "enable.auto.commit", "true");

        IllegalArgumentException refused = assertThrows(IllegalArgumentException.class, () -> new BatchSubscriber(conf));
        assertTrue(refused.getMessage().contains("kafka.client.enable.auto.commit"), refused.getMessage());
    }

    @Test
    void policyBoundsThatNoBatchCouldPassAreRefused() {
        Configuration conf = subscriberOn("unused");
        conf.set(TrainerOptions.MIN_POLICY_VERSION, 50L);
        conf.set(TrainerOptions.MAX_POLICY_VERSION, 40L);

        IllegalArgumentException refused = assertThrows(IllegalArgumentException.class, () -> new BatchSubscriber(conf));
        assertTrue(refused.getMessage().startsWith(
                "trainer.min-policy-version=50 is above trainer.max-policy-version=40"), refused.getMessage());
    }

    @Test
    void theJobsOwnGroupIsRefused() {
        Configuration conf = subscriberOn("unused");
        conf.set(TrainerOptions.GROUP_ID, conf.get(KafkaOptions.GROUP_ID));

        IllegalArgumentException refused = assertThrows(IllegalArgumentException.class, () -> new BatchSubscriber(conf));
        assertTrue(refused.getMessage().startsWith("trainer.group-id=strawless is the job's own group"), refused.getMessage());
    }

    /**
     * A setting that cannot be used fails the constructor before there is a consumer: none is left behind (its
     * sockets, metrics and MBean), since the caller never gets a subscriber to close.
     */
    @Test
    void aBadSettingLeavesNoConsumerBehind() throws Exception {
        MBeanServer mbeans = ManagementFactory.getPlatformMBeanServer();
        ObjectName consumerInfo = new ObjectName("kafka.consumer:type=app-info,id=leak-check");
        Configuration badVersion = subscriberOn("unused");
        badVersion.setString(KafkaOptions.CLIENT_PREFIX + "client.id", "leak-check");
        badVersion.setString(TrainerOptions.MIN_POLICY_VERSION.key(), "v2");
        Configuration noTopic = subscriberOn("unused");
        noTopic.setString(KafkaOptions.CLIENT_PREFIX + "client.id", "leak-check");
        noTopic.set(KafkaOptions.BATCHES_TOPIC, "");

        for (Configuration conf : List.of(badVersion, noTopic)) {
            assertThrows(IllegalArgumentException.class, () -> new BatchSubscriber(conf));

            assertTrue(mbeans.queryNames(consumerInfo, null).isEmpty(),
                    "a consumer was left open: " + mbeans.queryNames(consumerInfo, null));
        }
    }

    // --- helpers --------------------------------------------------------------------------------------

    /** A fresh one-partition topic and a subscriber configuration for it, in the group {@code <topic>-trainer}. */
    private static Configuration subscriberOn(String topic) {
        Configuration conf = new Configuration();
        conf.set(KafkaOptions.BOOTSTRAP_SERVERS, kafka.bootstrapServers());
        conf.set(KafkaOptions.BATCHES_TOPIC, topic);
        conf.set(TrainerOptions.GROUP_ID, topic + "-trainer");
        try (Admin admin = admin()) {
            if (!admin.listTopics().names().get().contains(topic)) {
                admin.createTopics(List.of(new NewTopic(topic, 1, (short) 1))).all().get();
            }
        } catch (Exception e) {
            throw new IllegalStateException("cannot create topic " + topic, e);
        }
        return conf;
    }

    private static TrainingBatch batch(String id) {
        return batch(id, "grpo", FINGERPRINT, 1, 1);
    }

    /** A batch of one trajectory, whose two steps come from {@code minPolicy} and {@code maxPolicy}. */
    private static TrainingBatch batch(String id, String estimator, String fingerprint, long minPolicy, long maxPolicy) {
        return batch(id, estimator, fingerprint, List.of(trajectory(id + "-t0", null, null, minPolicy, maxPolicy)));
    }

    private static TrainingBatch batch(String id, List<ScoredTrajectory> trajectories) {
        return batch(id, "grpo", FINGERPRINT, trajectories);
    }

    private static TrainingBatch batch(String id, String estimator, String fingerprint,
            List<ScoredTrajectory> trajectories) {
        List<Long> versions = trajectories.stream()
                .flatMap(t -> t.getSteps().stream().map(ScoredStep::getPolicyVersion)).toList();
        return TrainingBatch.newBuilder()
                .setBatchId(id).setCreatedAt(Instant.ofEpochMilli(1_700_000_000_000L))
                .setEstimator(estimator).setConfigFingerprint(fingerprint)
                .setMinPolicyVersion(versions.stream().min(Long::compare).orElseThrow())
                .setMaxPolicyVersion(versions.stream().max(Long::compare).orElseThrow())
                .setTrajectories(trajectories)
                .build();
    }

    /** A trajectory of two steps, from the policies {@code firstPolicy} and {@code lastPolicy}. */
    private static ScoredTrajectory trajectory(String id, String groupId, Integer scoringUnit, long firstPolicy,
            long lastPolicy) {
        List<ScoredStep> steps = new ArrayList<>();
        for (long policy : new long[] {firstPolicy, lastPolicy}) {
            steps.add(ScoredStep.newBuilder().setStepIndex(steps.size()).setTrainable(true).setAdvantage(0.5)
                    .setTargetReturn(1.0).setPolicyVersion(policy).build());
        }
        return ScoredTrajectory.newBuilder()
                .setTrajectoryId(id).setAgentId("agent").setTaskId("task").setGroupId(groupId)
                .setScoringUnit(scoringUnit)
                .setOutcomeReward(1.0).setSuccess(true).setSteps(steps)
                .build();
    }

    private static List<String> trajectoryIds(TrainingBatch batch) {
        return batch.getTrajectories().stream().map(ScoredTrajectory::getTrajectoryId).toList();
    }

    private static byte[] encode(TrainingBatch batch) throws IOException {
        ByteBuffer buffer = batch.toByteBuffer();
        byte[] bytes = new byte[buffer.remaining()];
        buffer.get(bytes);
        return bytes;
    }

    private static void produce(String topic, TrainingBatch... batches) throws Exception {
        try (KafkaProducer<byte[], byte[]> producer = producer(null)) {
            for (TrainingBatch batch : batches) {
                send(producer, topic, encode(batch));
            }
        }
    }

    /** The offsets the group {@code <topic>-trainer} committed, by partition. */
    private static Map<Integer, Long> committedOffsets(String topic) throws Exception {
        try (Admin admin = admin()) {
            Map<Integer, Long> offsets = new HashMap<>();
            admin.listConsumerGroupOffsets(topic + "-trainer").partitionsToOffsetAndMetadata().get()
                    .forEach((partition, offset) -> offsets.put(partition.partition(), offset.offset()));
            return offsets;
        }
    }

    private static void produceTo(String topic, int partition, TrainingBatch... batches) throws Exception {
        try (KafkaProducer<byte[], byte[]> producer = producer(null)) {
            for (TrainingBatch batch : batches) {
                producer.send(new ProducerRecord<>(topic, partition, null, encode(batch))).get();
            }
        }
    }

    private static void sendInTransaction(KafkaProducer<byte[], byte[]> producer, String topic, List<TrainingBatch> batches,
            boolean commit) throws Exception {
        producer.beginTransaction();
        for (TrainingBatch batch : batches) {
            send(producer, topic, encode(batch));
        }
        if (commit) {
            producer.commitTransaction();
        } else {
            producer.abortTransaction();
        }
    }

    private static void send(KafkaProducer<byte[], byte[]> producer, String topic, byte[] value) throws Exception {
        producer.send(new ProducerRecord<>(topic, value)).get();
    }

    private static KafkaProducer<byte[], byte[]> producer(String transactionalId) {
        Map<String, Object> properties = new HashMap<>(Map.of(
                ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, kafka.bootstrapServers(),
                ProducerConfig.ACKS_CONFIG, "all"));
        if (transactionalId != null) {
            properties.put(ProducerConfig.TRANSACTIONAL_ID_CONFIG, transactionalId);
        }
        return new KafkaProducer<>(properties, new ByteArraySerializer(), new ByteArraySerializer());
    }

    /** Records on the topic as a read_uncommitted reader sees them (aborted ones included, markers not). */
    private static int readUncommitted(String topic) {
        TopicPartition partition = new TopicPartition(topic, 0);
        try (KafkaConsumer<byte[], byte[]> consumer = new KafkaConsumer<>(
                Map.of(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, kafka.bootstrapServers(),
                        ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_uncommitted"),
                new ByteArrayDeserializer(), new ByteArrayDeserializer())) {
            consumer.assign(List.of(partition));
            consumer.seekToBeginning(List.of(partition));
            long end = consumer.endOffsets(List.of(partition)).get(partition);
            int records = 0;
            Instant deadline = Instant.now().plus(PATIENCE);
            while (consumer.position(partition) < end && Instant.now().isBefore(deadline)) {
                records += consumer.poll(Duration.ofMillis(200)).count();
            }
            return records;
        }
    }

    private static long committedOffset(String group, TopicPartition partition) throws Exception {
        try (Admin admin = admin()) {
            return admin.listConsumerGroupOffsets(group).partitionsToOffsetAndMetadata().get().get(partition).offset();
        }
    }

    private static Admin admin() {
        return Admin.create(Map.of(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, kafka.bootstrapServers()));
    }

    private static List<Delivery> pollUntil(BatchSubscriber subscriber, int count) {
        List<Delivery> deliveries = new ArrayList<>();
        Instant deadline = Instant.now().plus(PATIENCE);
        while (deliveries.size() < count) {
            assertTrue(Instant.now().isBefore(deadline), "only " + ids(deliveries) + " of " + count + " batches arrived");
            deliveries.addAll(subscriber.poll(Duration.ofMillis(200)));
        }
        return deliveries;
    }

    /** Polls, collecting deliveries, until the subscriber reports an undecodable record. */
    private static RecordDeserializationException pollUntilUndecodable(BatchSubscriber subscriber, List<Delivery> deliveries) {
        Instant deadline = Instant.now().plus(PATIENCE);
        while (Instant.now().isBefore(deadline)) {
            try {
                deliveries.addAll(subscriber.poll(Duration.ofMillis(200)));
            } catch (RecordDeserializationException e) {
                return e;
            }
        }
        throw new AssertionError("no undecodable record reported; delivered " + ids(deliveries));
    }

    private static List<String> ids(List<Delivery> deliveries) {
        return deliveries.stream().map(d -> d.batch().getBatchId()).toList();
    }
}
