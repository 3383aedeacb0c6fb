package io.strawless.connectors.topics;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.strawless.connectors.KafkaOptions;
import io.strawless.connectors.broker.InProcessKafka;
import io.strawless.connectors.topics.TopicStatus.State;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.apache.flink.configuration.Configuration;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.ConfigEntry;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.common.config.ConfigResource;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

class TopicProvisionerTest {

    @RegisterExtension
    static final InProcessKafka kafka = new InProcessKafka();

    @Test
    void provisioningTwiceCreatesOnceThenFindsEverything() {
        Configuration conf = kafka.topicsNamed("idem");

        List<TopicStatus> first = TopicProvisioner.ensureTopics(conf);
        List<TopicStatus> second = TopicProvisioner.ensureTopics(conf);

        assertEquals(TopicProvisioner.topicNames(conf), first.stream().map(TopicStatus::topic).toList());
        assertEquals(6, first.size());
        assertTrue(first.stream().allMatch(s -> s.state() == State.CREATED), first::toString);
        assertTrue(second.stream().allMatch(s -> s.state() == State.EXISTS), second::toString);
        assertTrue(TopicProvisioner.check(conf).stream().allMatch(TopicStatus::ok));
    }

    @Test
    void checkReportsMissingTopicsAndCreatesNothing() {
        Configuration conf = kafka.topicsNamed("missing");

        List<TopicStatus> statuses = TopicProvisioner.check(conf);

        assertTrue(statuses.stream().allMatch(s -> s.state() == State.MISSING), statuses::toString);
        assertTrue(TopicProvisioner.check(conf).stream().allMatch(s -> s.state() == State.MISSING));
    }

    @Test
    void driftIsReportedAndLeftAlone() throws Exception {
        Configuration conf = kafka.topicsNamed("drift");
        try (Admin admin = Admin.create(Map.of(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, kafka.bootstrapServers()))) {
            admin.createTopics(List.of(new NewTopic("drift.steps", 1, (short) 1)
                    .configs(Map.of("retention.ms", "3600000")))).all().get();
        }

        List<TopicStatus> statuses = TopicProvisioner.ensureTopics(conf);

        TopicStatus steps = statuses.get(0);
        assertEquals("drift.steps", steps.topic());
        assertEquals(State.DRIFT, steps.state());
        assertTrue(steps.detail().contains("partitions 1, configured 4"), steps.detail());
        assertTrue(steps.detail().contains("retention.ms 3600000, configured 604800000"), steps.detail());
        assertTrue(statuses.subList(1, 6).stream().allMatch(s -> s.state() == State.CREATED), statuses::toString);
        assertEquals(State.DRIFT, TopicProvisioner.check(conf).get(0).state());
    }

    /**
     * Compaction keeps only the last step of a trajectory (the key) and refuses a dead letter without a key: every
     * topic is made to delete old records, on the topic itself so a compacting cluster default does not apply, and
     * an existing compacted topic is DRIFT.
     */
    @Test
    void topicsDeleteOldRecordsAndACompactedOneIsDrift() throws Exception {
        Configuration conf = kafka.topicsNamed("compacted");
        try (Admin admin = Admin.create(Map.of(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, kafka.bootstrapServers()))) {
            admin.createTopics(List.of(new NewTopic("compacted.steps", 4, (short) 1)
                    .configs(Map.of("cleanup.policy", "compact", "retention.ms", "604800000")))).all().get();
        }

        List<TopicStatus> statuses = TopicProvisioner.ensureTopics(conf);

        assertEquals(State.DRIFT, statuses.get(0).state(), statuses.get(0).detail());
        assertEquals("cleanup.policy compact, configured delete", statuses.get(0).detail());
        assertTrue(statuses.subList(1, 6).stream().allMatch(s -> s.state() == State.CREATED), statuses::toString);
        try (Admin admin = Admin.create(Map.of(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, kafka.bootstrapServers()))) {
            var dlq = new ConfigResource(ConfigResource.Type.TOPIC, "compacted.dlq");
            ConfigEntry policy = admin.describeConfigs(List.of(dlq)).all().get().get(dlq).get("cleanup.policy");
            assertEquals("delete", policy.value());
            assertEquals(ConfigEntry.ConfigSource.DYNAMIC_TOPIC_CONFIG, policy.source(),
                    "set on the topic, not the cluster's default");
        }
    }

    /**
     * min.insync.replicas above the replication factor makes every acks=all write fail with NotEnoughReplicas: refused
     * before anything is created; an existing topic with more than its replicas is DRIFT, saying why.
     */
    @Test
    void minInsyncReplicasAboveTheReplicationFactorIsRefused() throws Exception {
        Configuration conf = kafka.topicsNamed("isr");
        conf.set(KafkaOptions.TOPIC_MIN_INSYNC_REPLICAS, 2);

        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> TopicProvisioner.ensureTopics(conf));

        assertTrue(e.getMessage().startsWith("topics.min-insync-replicas=2 exceeds topics.replication-factor=1"),
                e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> TopicProvisioner.check(conf));
        Configuration noPartitions = kafka.topicsNamed("isr");
        noPartitions.set(KafkaOptions.TOPIC_PARTITIONS, 0);
        assertEquals("topics.partitions must be >= 1, was 0", assertThrows(IllegalArgumentException.class,
                () -> TopicProvisioner.checkSettings(noPartitions)).getMessage());
        try (Admin admin = Admin.create(Map.of(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, kafka.bootstrapServers()))) {
            assertTrue(admin.listTopics().names().get().stream().noneMatch(t -> t.startsWith("isr.")), "nothing created");
            admin.createTopics(List.of(new NewTopic("isr.steps", 4, (short) 1)
                    .configs(Map.of("min.insync.replicas", "2")))).all().get();
        }

        // ensureTopics, not check: a topic created a moment ago may be missing from the broker's listing.
        TopicStatus steps = TopicProvisioner.ensureTopics(kafka.topicsNamed("isr")).get(0);

        assertEquals(State.DRIFT, steps.state());
        assertTrue(steps.detail().contains("min.insync.replicas 2 exceeds the topic's 1 replicas"), steps.detail());
    }

    /** A tool that fills the inputs before the job runs makes them as the job's provisioner would: no DRIFT later. */
    @Test
    void someTopicsAreMadeAsTheWholeSetWouldBe() {
        Configuration conf = kafka.topicsNamed("some");
        conf.set(KafkaOptions.TOPIC_RETENTION, Duration.ofDays(1)); // not the broker's default

        List<TopicStatus> inputs = TopicProvisioner.ensureTopics(conf, List.of("some.steps", "some.outcomes"));

        assertEquals(List.of("some.steps", "some.outcomes"), inputs.stream().map(TopicStatus::topic).toList());
        assertTrue(inputs.stream().allMatch(s -> s.state() == State.CREATED), inputs::toString);
        List<TopicStatus> all = TopicProvisioner.ensureTopics(conf);
        assertEquals(List.of(State.EXISTS, State.EXISTS, State.CREATED, State.CREATED, State.CREATED, State.CREATED),
                all.stream().map(TopicStatus::state).toList(), all::toString);
        assertThrows(IllegalArgumentException.class, () -> TopicProvisioner.ensureTopics(conf, List.of("other")),
                "a topic's settings depend on its role in the configuration");
    }

    /**
     * The output topics must take the largest record the job writes: a topic made with the broker's 1 MB takes the
     * default limit; one made smaller is DRIFT; raising kafka.max-record-bytes makes new output topics large enough.
     */
    @Test
    void outputTopicsTakeTheLargestRecordTheJobWrites() throws Exception {
        Configuration conf = kafka.topicsNamed("sized");
        try (Admin admin = Admin.create(Map.of(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, kafka.bootstrapServers()))) {
            admin.createTopics(List.of(
                    new NewTopic("sized.batches", 4, (short) 1), // the broker's default: 1048588
                    new NewTopic("sized.dlq", 4, (short) 1).configs(Map.of("max.message.bytes", "500000")))).all().get();
        }

        List<TopicStatus> statuses = TopicProvisioner.ensureTopics(conf);

        assertEquals(State.EXISTS, statuses.get(3).state(), statuses.get(3).detail());
        assertEquals(State.DRIFT, statuses.get(4).state());
        assertEquals("max.message.bytes 500000, kafka.max-record-bytes=1000000 needs at least 1001024",
                statuses.get(4).detail());
        assertEquals(State.CREATED, statuses.get(5).state());

        conf.set(KafkaOptions.MAX_RECORD_BYTES, 4_000_000);
        conf.set(KafkaOptions.UNSCORED_TOPIC, "sized.unscored-large");
        conf.set(KafkaOptions.STEPS_TOPIC, "sized.steps-large");
        statuses = TopicProvisioner.ensureTopics(conf);
        assertEquals(State.DRIFT, statuses.get(3).state(), "the broker's 1 MB batches topic is too small now");
        assertEquals(State.CREATED, statuses.get(5).state());
        assertEquals(State.CREATED, statuses.get(0).state());
        try (Admin admin = Admin.create(Map.of(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, kafka.bootstrapServers()))) {
            var unscored = new ConfigResource(ConfigResource.Type.TOPIC, "sized.unscored-large");
            var steps = new ConfigResource(ConfigResource.Type.TOPIC, "sized.steps-large");
            var configs = admin.describeConfigs(List.of(unscored, steps)).all().get();
            assertEquals("4001024", configs.get(unscored).get("max.message.bytes").value());
            assertEquals("1048588", configs.get(steps).get("max.message.bytes").value(), "inputs are the agents' to size");
        }
    }

    @Test
    void unreachableBrokerFailsFastWithOneClearLine() throws Exception {
        int closedPort;
        try (ServerSocket socket = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            closedPort = socket.getLocalPort();
        }
        Configuration conf = kafka.topicsNamed("nowhere");
        conf.set(KafkaOptions.BOOTSTRAP_SERVERS, "127.0.0.1:" + closedPort);
        conf.set(KafkaOptions.ADMIN_TIMEOUT, Duration.ofSeconds(2));

        // A generous guard against hanging, not a performance assertion.
        IllegalStateException e = assertTimeoutPreemptively(Duration.ofSeconds(60),
                () -> assertThrows(IllegalStateException.class, () -> TopicProvisioner.ensureTopics(conf)));

        assertEquals("Kafka broker not reachable at 127.0.0.1:" + closedPort
                + " within 2s (set kafka.bootstrap-servers)", e.getMessage());
    }

    /** A setting the Kafka client refuses is not a broker that cannot be reached: the error names the passthrough. */
    @Test
    void aBadClientSettingIsNamedAsSuch() {
        Configuration conf = kafka.topicsNamed("badsetting");
        conf.setString("kafka.client.security.protocol", "SASL_SSLX");

        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> TopicProvisioner.check(conf));

        assertTrue(e.getMessage().startsWith(
                "bad kafka.client.* setting: Invalid value SASL_SSLX for configuration security.protocol"), e.getMessage());
        assertEquals(-1, e.getMessage().indexOf('\n'), "one line");

        Configuration nowhere = kafka.topicsNamed("badsetting");
        nowhere.set(KafkaOptions.BOOTSTRAP_SERVERS, "no-such-host.invalid:9092");
        assertThrows(KafkaUnreachableException.class, () -> TopicProvisioner.check(nowhere),
                "an address that does not resolve is still a broker not reachable");
    }

    /** A topic the broker refuses to create is named, with the option to change; the broker answered, so not "unreachable". */
    @Test
    void aReplicationFactorTheClusterCannotMeetNamesTheTopicAndTheOption() {
        Configuration conf = kafka.topicsNamed("rf");
        conf.set(KafkaOptions.TOPIC_REPLICATION_FACTOR, 2); // the embedded cluster has one broker

        IllegalStateException e = assertThrows(IllegalStateException.class, () -> TopicProvisioner.ensureTopics(conf));

        assertTrue(!(e instanceof KafkaUnreachableException), e::toString);
        assertTrue(e.getMessage().matches("creating topic rf\\.\\w+ on " + kafka.bootstrapServers().replace(".", "\\.")
                + " failed: InvalidReplicationFactorException: .*\\(check topics\\.replication-factor=2: at most the"
                + " number of brokers\\)"), e.getMessage());
    }
}
