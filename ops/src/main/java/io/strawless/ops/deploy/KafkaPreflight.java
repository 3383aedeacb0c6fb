package io.strawless.ops.deploy;

import io.strawless.connectors.KafkaOptions;
import io.strawless.connectors.topics.KafkaAdmin;
import io.strawless.connectors.topics.TopicProvisioner;
import io.strawless.connectors.topics.TopicStatus;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.concurrent.ExecutionException;
import org.apache.flink.configuration.ReadableConfig;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.Config;
import org.apache.kafka.clients.admin.ConfigEntry;
import org.apache.kafka.common.Node;
import org.apache.kafka.common.config.ConfigResource;

/**
 * What the job needs of the Kafka cluster, checked before the job jar's entry point submits it
 * ({@code kafka.check-before-start}). Once submitted, a missing topic fails the job's source or sinks when they
 * start, and a broker whose {@code transaction.max.timeout.ms} is below {@code kafka.transaction-timeout} refuses
 * the sinks' transactions; the restart strategy then restarts the job without end, each time with a stack trace,
 * and no batch is published. Here each is one line that says what to change.
 */
final class KafkaPreflight {

    static final String BROKER_TRANSACTION_LIMIT = "transaction.max.timeout.ms";

    private KafkaPreflight() {}

    /**
     * Checks the broker, the six topics and the transaction timeout.
     *
     * @return warnings that do not stop the job: topics that differ from the configuration, a limit the broker
     *     would not show
     * @throws IllegalStateException naming what to change, where the job could not run
     */
    static List<String> check(ReadableConfig conf) {
        List<String> warnings = new ArrayList<>();
        // An unreachable broker is KafkaUnreachableException here: one line naming kafka.bootstrap-servers.
        List<TopicStatus> topics = TopicProvisioner.check(conf);
        List<String> missing = topics.stream()
                .filter(topic -> topic.state() == TopicStatus.State.MISSING)
                .map(TopicStatus::topic)
                .toList();
        if (!missing.isEmpty()) {
            throw new IllegalStateException("topics " + missing + " do not exist on "
                    + conf.get(KafkaOptions.BOOTSTRAP_SERVERS) + ": create them with 'strawless topics create' and the"
                    + " job's -D settings (or set " + KafkaOptions.CHECK_BEFORE_START.key() + "=false to start anyway)");
        }
        topics.stream()
                .filter(topic -> topic.state() == TopicStatus.State.DRIFT)
                .forEach(topic -> warnings.add("topic " + topic.topic() + " differs from the configuration: "
                        + topic.detail()));

        Duration transactionTimeout = conf.get(KafkaOptions.TRANSACTION_TIMEOUT);
        try (Admin admin = KafkaAdmin.create(conf)) {
            Collection<Node> nodes = KafkaAdmin.await(conf, admin.describeCluster().nodes());
            for (Node node : nodes) {
                ConfigResource broker = new ConfigResource(ConfigResource.Type.BROKER, node.idString());
                Config config = KafkaAdmin.await(conf, admin.describeConfigs(List.of(broker)).all()).get(broker);
                ConfigEntry limit = config == null ? null : config.get(BROKER_TRANSACTION_LIMIT);
                if (limit == null || limit.value() == null) {
                    continue;
                }
                long limitMillis = Long.parseLong(limit.value());
                if (transactionTimeout.toMillis() > limitMillis) {
                    throw new IllegalStateException(KafkaOptions.TRANSACTION_TIMEOUT.key() + " ("
                            + transactionTimeout + ") exceeds broker " + node.idString() + "'s "
                            + BROKER_TRANSACTION_LIMIT + " (" + Duration.ofMillis(limitMillis) + "), which refuses"
                            + " every transaction of the job's sinks: lower " + KafkaOptions.TRANSACTION_TIMEOUT.key()
                            + " (the job then fits the checkpoint timeout to it) or raise the broker's limit");
                }
            }
        } catch (ExecutionException e) {
            // An ACL may hide the brokers' settings (DESCRIBE_CONFIGS on the cluster): the sinks will tell, later.
            warnings.add("could not read the brokers' " + BROKER_TRANSACTION_LIMIT + " (" + e.getCause()
                    + "), so " + KafkaOptions.TRANSACTION_TIMEOUT.key() + " was not checked against it");
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted while checking the Kafka cluster", e);
        }
        return warnings;
    }
}
