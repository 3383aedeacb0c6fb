package io.strawless.connectors;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.strawless.connectors.KafkaOptions.StartingOffsets;
import io.strawless.connectors.topics.TopicProvisioner;
import java.time.Duration;
import java.util.Collection;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import org.apache.flink.api.connector.source.Boundedness;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.connector.kafka.source.enumerator.initializer.OffsetsInitializer;
import org.apache.flink.connector.kafka.source.enumerator.initializer.OffsetsInitializer.PartitionOffsetsRetriever;
import org.apache.kafka.clients.consumer.OffsetAndTimestamp;
import org.apache.kafka.clients.consumer.OffsetResetStrategy;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.config.ConfigException;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.junit.jupiter.api.Test;

class KafkaOptionsTest {

    @Test
    void clientPassthroughStripsThePrefixAndIgnoresOtherKeys() {
        Configuration conf = Configuration.fromMap(Map.of(
                "kafka.client.security.protocol", "SASL_SSL",
                "kafka.client.sasl.jaas.config", "secret",
                "kafka.bootstrap-servers", "broker:9093",
                "topics.steps", "s"));

        Properties properties = KafkaOptions.clientProperties(conf);

        assertEquals(Map.of("security.protocol", "SASL_SSL", "sasl.jaas.config", "secret"), properties);
    }

    /**
     * Every Kafka client ignores a setting it does not know, with a warning in the log at most: a misspelt security
     * setting would leave the client on plaintext, and the user would be told the broker is not reachable.
     */
    @Test
    void aPassthroughKeyNoKafkaClientKnowsIsRefusedWithTheClosestSetting() {
        IllegalArgumentException misspelt = assertThrows(IllegalArgumentException.class, () -> KafkaOptions.clientProperties(
                Configuration.fromMap(Map.of("kafka.client.securty.protocol", "SASL_SSL"))));
        assertEquals("kafka.client.securty.protocol: not a Kafka client setting (kafka.client.* takes the settings of"
                + " Kafka's producer, consumer and admin client, and of Flink's Kafka source; did you mean"
                + " kafka.client.security.protocol?)",
                misspelt.getMessage());

        IllegalArgumentException unknown = assertThrows(IllegalArgumentException.class, () -> KafkaOptions.clientProperties(
                Configuration.fromMap(Map.of("kafka.client.no.such.thing", "secret"))));
        assertEquals("kafka.client.no.such.thing: not a Kafka client setting (kafka.client.* takes the settings of"
                + " Kafka's producer, consumer and admin client, and of Flink's Kafka source)", unknown.getMessage(),
                "no guess, and no value");

        // A close name the job controls is not suggested: it would be refused next.
        IllegalArgumentException controlled = assertThrows(IllegalArgumentException.class,
                () -> KafkaOptions.clientProperties(Configuration.fromMap(Map.of("kafka.client.isolaton.level", "x"))));
        assertFalse(controlled.getMessage().contains("did you mean"), controlled.getMessage());

        // Settings of any one client pass (admin, producer, consumer), and so do a config provider's own keys.
        Map<String, String> known = Map.of(
                "kafka.client.default.api.timeout.ms", "5000",
                "kafka.client.linger.ms", "5",
                "kafka.client.max.poll.records", "100",
                "kafka.client.client.id.prefix", "strawless-eu", // Flink's Kafka source's own
                "kafka.client.config.providers", "env",
                "kafka.client.config.providers.env.class",
                "org.apache.kafka.common.config.provider.EnvVarConfigProvider");
        assertEquals(known.size(), KafkaOptions.clientProperties(Configuration.fromMap(known)).size());

        // Read beyond the clients' lists: Flink's sink's own, the metrics context's labels, the JMX reporter's filters.
        Map<String, String> beyond = Map.of(
                "kafka.client.register.producer.metrics", "false",
                "kafka.client.flink.disable-metrics", "true",
                "kafka.client.metrics.context.team", "rl",
                "kafka.client.metrics.jmx.include", "kafka.producer:*");
        assertEquals(beyond.size(), KafkaOptions.clientProperties(Configuration.fromMap(beyond)).size());

        // A plugin reads keys of its own, which no list knows: with one set, an unknown key is passed on.
        Map<String, String> plugin = Map.of(
                "kafka.client.interceptor.classes", "com.example.MonitoringInterceptor",
                "kafka.client.monitoring.interceptor.topic", "metrics");
        assertEquals(plugin.size(), KafkaOptions.clientProperties(Configuration.fromMap(plugin)).size());
    }

    @Test
    void passthroughOfADedicatedSettingIsRejected() {
        for (String key : List.of("isolation.level", "enable.idempotence", "value.serializer", "key.deserializer",
                "partition.discovery.interval.ms")) {
            Configuration conf = Configuration.fromMap(Map.of("kafka.client." + key, "x"));
            IllegalArgumentException e =
                    assertThrows(IllegalArgumentException.class, () -> KafkaOptions.clientProperties(conf));
            assertTrue(e.getMessage().contains("kafka.client." + key), e.getMessage());
        }
    }

    @Test
    void theRejectionNamesTheOptionToSetInstead() {
        Configuration conf = Configuration.fromMap(Map.of("kafka.client.max.request.size", "5000000"));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> KafkaOptions.clientProperties(conf));
        assertEquals("kafka.client.max.request.size is not allowed: set kafka.max-record-bytes", e.getMessage());
    }

    /**
     * Kafka turns idempotence off for these values and then refuses any transactional producer, so the job's sinks
     * would fail in a restart loop: refused when the configuration is read. Values transactions work with pass.
     */
    @Test
    void passthroughValuesKafkaTransactionsCannotWorkWithAreRejected() {
        Map<String, String> refused = Map.of(
                "acks", "1", "retries", "0", "max.in.flight.requests.per.connection", "6");
        refused.forEach((key, value) -> {
            Configuration conf = Configuration.fromMap(Map.of("kafka.client." + key, value));
            IllegalArgumentException e =
                    assertThrows(IllegalArgumentException.class, () -> KafkaOptions.clientProperties(conf), key);
            assertTrue(e.getMessage().startsWith("kafka.client." + key + "=" + value + " is not allowed: Kafka transactions need"),
                    e.getMessage());
            assertThrows(ConfigException.class, () -> transactionalProducer(Map.of(key, value)).close(),
                    "Kafka itself refuses a transactional producer with " + key + "=" + value);
        });
        assertEquals("kafka.client.acks=0 is not allowed: Kafka transactions need acks=all (the default)",
                assertThrows(IllegalArgumentException.class, () -> KafkaOptions.clientProperties(
                        Configuration.fromMap(Map.of("kafka.client.acks", "0")))).getMessage());
        assertThrows(IllegalArgumentException.class, () -> KafkaOptions.clientProperties(
                Configuration.fromMap(Map.of("kafka.client.enable.idempotence", "false"))));

        Map<String, String> allowed = Map.of("acks", "all", "retries", "3", "max.in.flight.requests.per.connection", "1");
        Configuration conf = new Configuration();
        allowed.forEach((key, value) -> conf.setString("kafka.client." + key, value));
        Properties properties = KafkaOptions.clientProperties(conf);
        assertEquals(allowed, properties);
        Map<String, String> producerSettings = new java.util.HashMap<>(allowed);
        producerSettings.put("acks", "-1");
        transactionalProducer(producerSettings).close();
    }

    private static KafkaProducer<byte[], byte[]> transactionalProducer(Map<String, String> settings) {
        Properties properties = new Properties();
        properties.putAll(settings);
        properties.setProperty("bootstrap.servers", "127.0.0.1:1"); // never contacted: the constructor checks settings
        properties.setProperty("transactional.id", "kafka-options-test");
        return new KafkaProducer<>(properties, new ByteArraySerializer(), new ByteArraySerializer());
    }

    @Test
    void maxRecordBytesLeavesRoomForABatchAndTheTopicsFitIt() {
        assertEquals(1_000_000 + KafkaOptions.RECORD_OVERHEAD_BYTES,
                KafkaOptions.outputTopicMaxMessageBytes(new Configuration()));
        // Kafka's own defaults take the default records.
        assertTrue(KafkaOptions.outputTopicMaxMessageBytes(new Configuration()) <= KafkaOptions.KAFKA_DEFAULT_MAX_MESSAGE_BYTES);
        Configuration tiny = Configuration.fromMap(Map.of("kafka.max-record-bytes", "1000"));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> KafkaOptions.maxRecordBytes(tiny));
        assertEquals("kafka.max-record-bytes must be at least 262144, was 1000", e.getMessage());
    }

    /**
     * Each output topic shared with another output or with an input is refused, naming both keys; the inputs may share
     * one. The provisioner refuses the same settings, rather than create and check five topics for six.
     */
    @Test
    void eachOutputTopicIsATopicOfItsOwn() {
        Map<String, String> outputs = Map.of("topics.batches", "b", "topics.dead-letters", "d", "topics.unscored", "u");
        for (String output : outputs.keySet()) {
            for (String other : List.of("topics.steps", "topics.outcomes", "topics.verdicts", "topics.batches",
                    "topics.dead-letters", "topics.unscored")) {
                if (other.equals(output)) {
                    continue;
                }
                Map<String, String> settings = new HashMap<>(outputs);
                settings.put(output, "shared");
                settings.put(other, "shared");
                Configuration conf = Configuration.fromMap(settings);
                IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                        () -> KafkaOptions.requireSeparateOutputTopics(conf), output + " and " + other);
                assertTrue(e.getMessage().contains(output) && e.getMessage().contains(other), e.getMessage());
                assertThrows(IllegalArgumentException.class, () -> TopicProvisioner.checkSettings(conf));
            }
        }
        Configuration oneInputTopic = Configuration.fromMap(
                Map.of("topics.steps", "events", "topics.outcomes", "events", "topics.verdicts", "events"));
        KafkaOptions.requireSeparateOutputTopics(oneInputTopic);
        TopicProvisioner.checkSettings(oneInputTopic);
    }

    /** At 0 (or under a millisecond, which the admin client reads as 0) every admin call times out at once. */
    @Test
    void theAdminTimeoutIsAtLeastAMillisecond() {
        assertEquals("10000", KafkaOptions.adminProperties(new Configuration()).getProperty("default.api.timeout.ms"));
        assertEquals("1", KafkaOptions.adminProperties(Configuration.fromMap(Map.of("kafka.admin-timeout", "1ms")))
                .getProperty("default.api.timeout.ms"));
        for (String tooShort : List.of("0s", "500 micros")) {
            Configuration conf = Configuration.fromMap(Map.of("kafka.admin-timeout", tooShort));
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> KafkaOptions.adminProperties(conf));
            assertTrue(e.getMessage().startsWith("kafka.admin-timeout must be at least 1 ms, was "), e.getMessage());
        }
    }

    @Test
    void startingOffsetsParseTheirConfigSpelling() {
        Configuration conf = Configuration.fromMap(Map.of("source.starting-offsets", "committed-or-earliest"));
        assertEquals(StartingOffsets.COMMITTED_OR_EARLIEST, conf.get(KafkaOptions.STARTING_OFFSETS));
        assertEquals(StartingOffsets.LATEST,
                Configuration.fromMap(Map.of("source.starting-offsets", "latest")).get(KafkaOptions.STARTING_OFFSETS));
    }

    @Test
    void durationsAndDefaults() {
        Configuration conf = Configuration.fromMap(Map.of("kafka.transaction-timeout", "5 min"));
        assertEquals(Duration.ofMinutes(5), conf.get(KafkaOptions.TRANSACTION_TIMEOUT));
        // The default may not exceed a broker's default transaction.max.timeout.ms, 15 min, or every sink fails.
        assertEquals(Duration.ofMinutes(15), new Configuration().get(KafkaOptions.TRANSACTION_TIMEOUT));
        assertEquals(Duration.ofDays(7), conf.get(KafkaOptions.TOPIC_RETENTION));
        assertEquals("localhost:9092", conf.get(KafkaOptions.BOOTSTRAP_SERVERS));
    }

    /**
     * Every mode resets to the earliest record left where a restored position was deleted: the source's builder makes
     * the start's reset strategy the consumer's auto.offset.reset for good, and Flink's latest and timestamp modes
     * would skip to the end. Their starts are theirs.
     */
    @Test
    @SuppressWarnings("deprecation")
    void everyStartGoesOnFromTheEarliestRecordLeftWhereARestoredPositionIsGone() {
        for (StartingOffsets mode : StartingOffsets.values()) {
            Map<String, String> settings = new HashMap<>(Map.of("source.starting-offsets", mode.toString()));
            if (mode == StartingOffsets.TIMESTAMP) {
                settings.put("source.start-timestamp", "1000");
            }
            assertEquals(OffsetResetStrategy.EARLIEST,
                    StrawlessKafka.startingOffsets(Configuration.fromMap(settings)).getAutoOffsetResetStrategy(), mode.toString());
        }
        TopicPartition partition = new TopicPartition("steps", 0);
        OffsetsInitializer timestamp = StrawlessKafka.startingOffsets(Configuration.fromMap(
                Map.of("source.starting-offsets", "timestamp", "source.start-timestamp", "1000")));
        Map<TopicPartition, Long> starts = timestamp.getPartitionOffsets(List.of(partition), new PartitionOffsetsRetriever() {
            @Override
            public Map<TopicPartition, Long> committedOffsets(Collection<TopicPartition> partitions) {
                throw new AssertionError("a timestamp start reads no committed offsets");
            }

            @Override
            public Map<TopicPartition, Long> endOffsets(Collection<TopicPartition> partitions) {
                return Map.of(partition, 50L);
            }

            @Override
            public Map<TopicPartition, Long> beginningOffsets(Collection<TopicPartition> partitions) {
                return Map.of(partition, 0L);
            }

            @Override
            public Map<TopicPartition, OffsetAndTimestamp> offsetsForTimes(Map<TopicPartition, Long> timestamps) {
                assertEquals(Map.of(partition, 1000L), timestamps);
                return Map.of(partition, new OffsetAndTimestamp(7L, 1000L));
            }
        });
        assertEquals(Map.of(partition, 7L), starts, "the start is the timestamp's");
        assertThrows(IllegalArgumentException.class, () -> KafkaOptions.clientProperties(
                Configuration.fromMap(Map.of("kafka.client.auto.offset.reset", "latest"))));
    }

    @Test
    void timestampStartNeedsATimestampAndViceVersa() {
        Configuration noTimestamp = Configuration.fromMap(Map.of("source.starting-offsets", "timestamp"));
        assertThrows(IllegalArgumentException.class, () -> StrawlessKafka.startingOffsets(noTimestamp));

        Configuration ignoredTimestamp = Configuration.fromMap(Map.of("source.start-timestamp", "1000"));
        assertThrows(IllegalArgumentException.class, () -> StrawlessKafka.startingOffsets(ignoredTimestamp));
    }

    @Test
    void sourceIsBoundedExactlyWhenAStopTimestampIsSet() {
        assertEquals(Boundedness.CONTINUOUS_UNBOUNDED,
                StrawlessKafka.inputSource(new Configuration()).getBoundedness());
        Configuration backfill = Configuration.fromMap(Map.of(
                "source.starting-offsets", "timestamp",
                "source.start-timestamp", "1000",
                "source.stop-timestamp", "2000"));
        assertEquals(Boundedness.BOUNDED, StrawlessKafka.inputSource(backfill).getBoundedness());
    }

    @Test
    void theSourceReadsCommittedDataInSmallButFullFetchesUnlessToldOtherwise() {
        Properties defaults = StrawlessKafka.inputConsumerProperties(new Configuration());
        assertEquals("read_committed", defaults.getProperty("isolation.level"));
        assertEquals(Integer.toString(StrawlessKafka.INPUT_PARTITION_FETCH_BYTES),
                defaults.getProperty("max.partition.fetch.bytes"));

        assertEquals("65536", defaults.getProperty("fetch.min.bytes"), "a fetch waits for some data...");
        assertEquals("100", defaults.getProperty("fetch.max.wait.ms"), "...but not long");

        Configuration tuned = Configuration.fromMap(Map.of("kafka.client.max.partition.fetch.bytes", "1048576",
                "kafka.client.fetch.min.bytes", "1", "kafka.client.fetch.max.wait.ms", "500"));
        Properties properties = StrawlessKafka.inputConsumerProperties(tuned);
        assertEquals("1048576", properties.getProperty("max.partition.fetch.bytes"));
        assertEquals("1", properties.getProperty("fetch.min.bytes"));
        assertEquals("500", properties.getProperty("fetch.max.wait.ms"));
    }
}
