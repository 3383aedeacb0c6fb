package io.strawless.connectors.broker;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.strawless.connectors.KafkaOptions;
import io.strawless.connectors.StrawlessKafka;
import io.strawless.connectors.serde.InputDeserializer;
import io.strawless.connectors.serde.InputRecord;
import io.strawless.connectors.serde.InputRecord.Kind;
import io.strawless.connectors.serde.TestRecords;
import io.strawless.connectors.topics.TopicProvisioner;
import io.strawless.schemas.StepEvent;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import org.apache.flink.api.common.functions.util.ListCollector;
import org.apache.flink.configuration.Configuration;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.KafkaException;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/** The embedded broker does real transactions: committed data is visible to read_committed readers, aborted is not. */
class EmbeddedKafkaTest {

    @RegisterExtension
    static final InProcessKafka kafka = new InProcessKafka();

    private static Configuration conf;

    @BeforeAll
    static void provisionTopics() {
        conf = new Configuration();
        conf.set(KafkaOptions.BOOTSTRAP_SERVERS, kafka.bootstrapServers());
        TopicProvisioner.ensureTopics(conf);
    }

    @Test
    void bootstrapServersAreLoopback() {
        assertTrue(kafka.bootstrapServers().matches("127\\.0\\.0\\.1:\\d+"), kafka.bootstrapServers());
    }

    @Test
    void readCommittedSeesCommittedTransactionsOnly() throws Exception {
        String topic = conf.get(KafkaOptions.STEPS_TOPIC);
        Properties producerProperties = StrawlessKafka.producerProperties(conf);
        producerProperties.setProperty(ProducerConfig.TRANSACTIONAL_ID_CONFIG, "embedded-kafka-test");
        try (KafkaProducer<byte[], byte[]> producer =
                new KafkaProducer<>(producerProperties, new ByteArraySerializer(), new ByteArraySerializer())) {
            producer.initTransactions();
            sendInTransaction(producer, topic, 0, 3, true);
            sendInTransaction(producer, topic, 3, 2, false);
            sendInTransaction(producer, topic, 5, 1, true);
        }

        List<ConsumerRecord<byte[], byte[]>> committed = readAll(topic, "read_committed");
        List<ConsumerRecord<byte[], byte[]>> everything = readAll(topic, "read_uncommitted");

        assertEquals(List.of(0, 1, 2, 5), decodedStepIndexes(committed));
        assertEquals(6, everything.size(), "the aborted transaction's records are in the log");
    }

    /**
     * The broker keeps Kafka's default transaction.max.timeout.ms (15 min) as a stock cluster does: the job's default
     * kafka.transaction-timeout is accepted, one above it fails here rather than first in production.
     */
    @Test
    void transactionTimeoutsAboveAStockBrokersLimitAreRefused() {
        Duration accepted = conf.get(KafkaOptions.TRANSACTION_TIMEOUT);
        try (KafkaProducer<byte[], byte[]> producer = transactionalProducer("timeout-default", accepted)) {
            producer.initTransactions();
        }

        try (KafkaProducer<byte[], byte[]> producer = transactionalProducer("timeout-20min", Duration.ofMinutes(20))) {
            KafkaException e = assertThrows(KafkaException.class, producer::initTransactions);
            // The client reports the broker's INVALID_TRANSACTION_TIMEOUT as a plain KafkaException saying why.
            assertTrue(e.getMessage().contains("larger than the maximum value allowed by the broker"), e::toString);
        }
    }

    private static KafkaProducer<byte[], byte[]> transactionalProducer(String transactionalId, Duration timeout) {
        Properties properties = StrawlessKafka.producerProperties(conf);
        properties.setProperty(ProducerConfig.TRANSACTIONAL_ID_CONFIG, transactionalId);
        properties.setProperty(ProducerConfig.TRANSACTION_TIMEOUT_CONFIG, Long.toString(timeout.toMillis()));
        properties.setProperty(ProducerConfig.MAX_BLOCK_MS_CONFIG, "10000");
        return new KafkaProducer<>(properties, new ByteArraySerializer(), new ByteArraySerializer());
    }

    private static void sendInTransaction(
            KafkaProducer<byte[], byte[]> producer, String topic, int firstStep, int steps, boolean commit)
            throws Exception {
        producer.beginTransaction();
        for (int index = firstStep; index < firstStep + steps; index++) {
            StepEvent step = TestRecords.step("traj-1", index);
            producer.send(new ProducerRecord<>(topic, "traj-1".getBytes(StandardCharsets.UTF_8),
                    step.toByteBuffer().array()));
        }
        if (commit) {
            producer.commitTransaction();
        } else {
            producer.flush();
            producer.abortTransaction();
        }
    }

    /** Reads every partition up to its end offset (the last stable offset for read_committed). */
    private static List<ConsumerRecord<byte[], byte[]>> readAll(String topic, String isolation) {
        Properties properties = StrawlessKafka.consumerProperties(conf, "test-" + isolation);
        properties.setProperty(ConsumerConfig.ISOLATION_LEVEL_CONFIG, isolation);
        List<ConsumerRecord<byte[], byte[]>> records = new ArrayList<>();
        try (KafkaConsumer<byte[], byte[]> consumer =
                new KafkaConsumer<>(properties, new ByteArrayDeserializer(), new ByteArrayDeserializer())) {
            List<TopicPartition> partitions = consumer.partitionsFor(topic).stream()
                    .map(p -> new TopicPartition(topic, p.partition()))
                    .toList();
            consumer.assign(partitions);
            consumer.seekToBeginning(partitions);
            Map<TopicPartition, Long> end = consumer.endOffsets(partitions);
            while (partitions.stream().anyMatch(p -> consumer.position(p) < end.get(p))) {
                consumer.poll(Duration.ofMillis(200)).forEach(records::add);
            }
        }
        return records;
    }

    private static List<Integer> decodedStepIndexes(List<ConsumerRecord<byte[], byte[]>> records) {
        InputDeserializer deserializer = new InputDeserializer(conf.get(KafkaOptions.STEPS_TOPIC),
                conf.get(KafkaOptions.OUTCOMES_TOPIC), conf.get(KafkaOptions.VERDICTS_TOPIC));
        deserializer.open(null);
        List<InputRecord> decoded = new ArrayList<>();
        records.forEach(record -> deserializer.deserialize(record, new ListCollector<>(decoded)));
        assertTrue(decoded.stream().allMatch(r -> r.kind() == Kind.STEP), decoded::toString);
        return decoded.stream().map(r -> r.stepIndex()).sorted().toList();
    }
}
