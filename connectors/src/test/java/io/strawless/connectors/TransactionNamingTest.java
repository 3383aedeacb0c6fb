package io.strawless.connectors;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.strawless.connectors.KafkaOptions.TransactionNaming;
import io.strawless.connectors.broker.InProcessKafka;
import io.strawless.connectors.serde.TestRecords;
import io.strawless.connectors.topics.TopicProvisioner;
import io.strawless.schemas.DeadLetter;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.Collectors;
import org.apache.flink.configuration.CheckpointingOptions;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.TransactionListing;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * The sinks' transactional ids: under incrementing naming every checkpoint leaves the broker a new id to keep for a
 * week; under pooling a few ids serve every checkpoint. Both commit every record exactly once.
 */
class TransactionNamingTest {

    @RegisterExtension
    static final InProcessKafka kafka = new InProcessKafka();

    @Test
    void poolingReusesAFewIdsWhereIncrementingTakesOneACheckpoint() throws Exception {
        Set<String> incrementing = run(TransactionNaming.INCREMENTING);
        Set<String> pooling = run(TransactionNaming.POOLING);

        // About 3.6 s of checkpoints every 100 ms (a slow machine completes fewer): pooling keeps to its few ids
        // however many complete, incrementing leaves one more with each, so it leaves more than pooling can.
        assertTrue(pooling.size() <= 3, "a few ids for every checkpoint: " + pooling);
        assertTrue(incrementing.size() > 3, "one id a checkpoint: " + incrementing);
    }

    /** Writes 60 dead letters over about 3.6 s of checkpoints; returns the transactional ids the broker now keeps. */
    private static Set<String> run(TransactionNaming naming) throws Exception {
        String name = naming.toString();
        Configuration conf = kafka.topicsNamed(name);
        conf.set(KafkaOptions.TOPIC_PARTITIONS, 1);
        conf.set(KafkaOptions.TRANSACTIONAL_ID_PREFIX, "naming-" + name);
        conf.set(KafkaOptions.TRANSACTION_NAMING, naming);
        conf.set(CheckpointingOptions.CHECKPOINTING_INTERVAL, Duration.ofMillis(100));
        TopicProvisioner.ensureTopics(conf);

        StreamExecutionEnvironment env = StreamExecutionEnvironment.getExecutionEnvironment(conf);
        env.setParallelism(1);
        env.fromSequence(1, 60)
                .map(i -> {
                    Thread.sleep(60); // spread the records over many checkpoints
                    return TestRecords.deadLetter(null, new byte[] {i.byteValue()});
                })
                .returns(DeadLetter.class)
                .sinkTo(StrawlessKafka.deadLetterSink(conf));
        env.execute("transaction-naming-" + name);

        try (KafkaConsumer<byte[], byte[]> consumer = new KafkaConsumer<>(
                StrawlessKafka.consumerProperties(conf, "naming-reader-" + name), new ByteArrayDeserializer(),
                new ByteArrayDeserializer())) {
            consumer.subscribe(List.of(name + ".dlq"));
            int read = 0;
            long deadline = System.currentTimeMillis() + 30_000;
            while (read < 60 && System.currentTimeMillis() < deadline) {
                read += consumer.poll(Duration.ofMillis(200)).count();
            }
            assertEquals(60, read, "every record committed once (" + name + ")");
        }
        try (Admin admin = Admin.create(Map.<String, Object>of("bootstrap.servers", kafka.bootstrapServers()))) {
            return admin.listTransactions().all().get().stream()
                    .map(TransactionListing::transactionalId)
                    .filter(id -> id.startsWith("naming-" + name))
                    .collect(Collectors.toSet());
        }
    }
}
