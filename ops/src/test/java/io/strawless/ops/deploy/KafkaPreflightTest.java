package io.strawless.ops.deploy;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.strawless.connectors.KafkaOptions;
import io.strawless.connectors.broker.InProcessKafka;
import io.strawless.connectors.topics.KafkaAdmin;
import io.strawless.connectors.topics.TopicProvisioner;
import io.strawless.connectors.topics.TopicStatus;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.apache.flink.configuration.Configuration;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AlterConfigOp;
import org.apache.kafka.clients.admin.ConfigEntry;
import org.apache.kafka.common.config.ConfigResource;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/** What the cluster entry point checks of the Kafka cluster before it submits the job, on a real broker. */
class KafkaPreflightTest {

    @RegisterExtension
    static final InProcessKafka kafka = new InProcessKafka();

    @Test
    void missingTopicsAreNamedWithTheCommandThatCreatesThem() {
        Configuration conf = kafka.topicsNamed("preflight-missing");
        TopicProvisioner.ensureTopics(conf, List.of("preflight-missing.steps"));

        IllegalStateException e = assertThrows(IllegalStateException.class, () -> KafkaPreflight.check(conf));
        assertEquals("topics [preflight-missing.outcomes, preflight-missing.verdicts, preflight-missing.batches,"
                + " preflight-missing.dlq, preflight-missing.unscored] do not exist on "
                + kafka.bootstrapServers() + ": create them with 'strawless topics create' and the job's -D settings"
                + " (or set kafka.check-before-start=false to start anyway)", e.getMessage());

        TopicProvisioner.ensureTopics(conf);
        assertEquals(List.of(), KafkaPreflight.check(conf));
    }

    @Test
    void aTransactionTimeoutTheBrokerRefusesIsNamed() {
        Configuration conf = kafka.topicsNamed("preflight-transactions");
        TopicProvisioner.ensureTopics(conf);
        conf.set(KafkaOptions.TRANSACTION_TIMEOUT, Duration.ofMinutes(20)); // the broker allows 15 min, as by default

        IllegalStateException e = assertThrows(IllegalStateException.class, () -> KafkaPreflight.check(conf));
        assertTrue(e.getMessage().startsWith("kafka.transaction-timeout (PT20M) exceeds broker "), e.getMessage());
        assertTrue(e.getMessage().contains("'s transaction.max.timeout.ms (PT15M), which refuses every transaction of"
                + " the job's sinks"), e.getMessage());
    }

    @Test
    void driftIsAWarning() {
        Configuration conf = kafka.topicsNamed("preflight-drift");
        TopicProvisioner.ensureTopics(conf);
        conf.set(KafkaOptions.TOPIC_PARTITIONS, conf.get(KafkaOptions.TOPIC_PARTITIONS) + 1);

        List<String> warnings = KafkaPreflight.check(conf);
        assertEquals(6, warnings.size(), warnings.toString());
        assertTrue(warnings.get(0).startsWith("topic preflight-drift.steps differs from the configuration: "),
                warnings.get(0));
    }

    @Test
    void aTopicThatRefusesTheJobsWritesStopsTheJob() throws Exception {
        Configuration conf = kafka.topicsNamed("preflight-refuses");
        TopicProvisioner.ensureTopics(conf);
        try (Admin admin = KafkaAdmin.create(conf)) {
            // One broker, one replica: a min.insync.replicas of 2 makes every acks=all write fail.
            ConfigResource batches = new ConfigResource(ConfigResource.Type.TOPIC, "preflight-refuses.batches");
            admin.incrementalAlterConfigs(Map.of(batches, List.of(new AlterConfigOp(
                    new ConfigEntry("min.insync.replicas", "2"), AlterConfigOp.OpType.SET)))).all().get();
        }
        // The broker applies the change through its metadata log: wait until it shows.
        long deadline = System.nanoTime() + Duration.ofSeconds(10).toNanos();
        while (TopicProvisioner.check(conf).stream().noneMatch(TopicStatus::writesFail) && System.nanoTime() < deadline) {
            Thread.sleep(100);
        }

        IllegalStateException e = assertThrows(IllegalStateException.class, () -> KafkaPreflight.check(conf));
        assertTrue(e.getMessage().startsWith("topic preflight-refuses.batches refuses writes: "), e.getMessage());
        assertTrue(e.getMessage().contains("min.insync.replicas 2 exceeds the topic's 1 replicas"), e.getMessage());
    }

    @Test
    void anAbsentBrokerIsAWarningThatNamesTheAddress() {
        // In application mode the entry point runs again when a JobManager fails over: a broker away at that moment
        // must not fail the recovery.
        Configuration conf = kafka.topicsNamed("preflight-absent");
        conf.set(KafkaOptions.BOOTSTRAP_SERVERS, "localhost:1");
        conf.set(KafkaOptions.ADMIN_TIMEOUT, Duration.ofSeconds(2));
        List<String> warnings = KafkaPreflight.check(conf);
        assertEquals(1, warnings.size(), warnings.toString());
        assertTrue(warnings.get(0).contains("localhost:1"), warnings.get(0));
        assertTrue(warnings.get(0).endsWith("(the job starts anyway, its clients retry; nothing was checked)"),
                warnings.get(0));
    }
}
