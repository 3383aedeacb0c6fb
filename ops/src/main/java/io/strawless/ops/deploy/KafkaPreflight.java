package io.strawless.ops.deploy;

import io.strawless.connectors.KafkaOptions;
import io.strawless.connectors.topics.KafkaAdmin;
import io.strawless.connectors.topics.KafkaAdminTimeoutException;
import io.strawless.connectors.topics.KafkaUnreachableException;
import io.strawless.connectors.topics.TopicProvisioner;
import io.strawless.connectors.topics.TopicStatus;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ExecutionException;
import org.apache.flink.configuration.ReadableConfig;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.Config;
import org.apache.kafka.clients.admin.ConfigEntry;
import org.apache.kafka.common.Node;
import org.apache.kafka.common.config.ConfigResource;
import org.apache.kafka.common.errors.AuthorizationException;

/**
 * What the job needs of the Kafka cluster, checked before the job jar's entry point submits it
 * ({@code kafka.check-before-start}). Once submitted, a missing topic fails the job's source or sinks when they
 * start, a topic that refuses the job's writes fails its sinks, and a broker whose {@code transaction.max.timeout.ms}
 * is below {@code kafka.transaction-timeout} refuses the sinks' transactions; the restart strategy then restarts the
 * job without end, each time with a stack trace, and no batch is published. Here each is one line that says what
 * to change.
 *
 * <p>What the check cannot learn is a warning, not a refusal: a broker that does not answer (in application mode
 * the entry point runs again when a JobManager fails over, and a broker away at that moment must not fail the
 * recovery: the job's clients retry), and settings the job's principal may not read (DESCRIBE_CONFIGS, which the
 * job itself does not need).
 */
public final class KafkaPreflight {

    static final String BROKER_TRANSACTION_LIMIT = "transaction.max.timeout.ms";

    private KafkaPreflight() {}

    /**
     * Checks the broker, the six topics and the transaction timeout.
     *
     * @return warnings that do not stop the job
     * @throws IllegalStateException naming what to change, where the job could not run
     */
    static List<String> check(ReadableConfig conf) {
        List<String> warnings = new ArrayList<>();
        List<TopicStatus> topics;
        try {
            topics = TopicProvisioner.check(conf);
        } catch (KafkaUnreachableException | KafkaAdminTimeoutException e) {
            warnings.add(e.getMessage() + " (the job starts anyway, its clients retry; nothing was checked)");
            return warnings;
        } catch (IllegalStateException e) {
            if (!deniedByAcl(e)) {
                throw e;
            }
            warnings.add("the job's principal may not read the topics' settings (DESCRIBE_CONFIGS): checked only that"
                    + " the topics exist");
            topics = existing(conf);
        }
        List<String> missing = topics.stream()
                .filter(topic -> topic.state() == TopicStatus.State.MISSING)
                .map(TopicStatus::topic)
                .toList();
        if (!missing.isEmpty()) {
            throw new IllegalStateException("topics " + missing + " do not exist on "
                    + conf.get(KafkaOptions.BOOTSTRAP_SERVERS) + ": create them with 'strawless topics create' and the"
                    + " job's -D settings (or set " + KafkaOptions.CHECK_BEFORE_START.key() + "=false to start anyway)");
        }
        for (TopicStatus topic : topics) {
            if (topic.state() != TopicStatus.State.DRIFT) {
                continue;
            }
            if (topic.writesFail()) {
                throw new IllegalStateException("topic " + topic.topic() + " refuses writes: " + topic.detail()
                        + ". Change the topic (kafka-configs.sh) or the job's settings, then run 'strawless topics"
                        + " check' (or set " + KafkaOptions.CHECK_BEFORE_START.key() + "=false to start anyway)");
            }
            warnings.add("topic " + topic.topic() + " differs from the configuration: " + topic.detail());
        }
        checkTransactionLimit(conf, warnings);
        return warnings;
    }

    /** The six topics as existing or missing, from the topic listing alone (which READ or WRITE on them allows). */
    private static List<TopicStatus> existing(ReadableConfig conf) {
        try (Admin admin = KafkaAdmin.create(conf)) {
            Set<String> listed = KafkaAdmin.await(conf, admin.listTopics().names());
            return TopicProvisioner.topicNames(conf).stream()
                    .map(topic -> listed.contains(topic)
                            ? new TopicStatus(topic, TopicStatus.State.EXISTS, "listed", false)
                            : new TopicStatus(topic, TopicStatus.State.MISSING, "does not exist", false))
                    .toList();
        } catch (ExecutionException e) {
            throw new IllegalStateException("could not list the topics on " + conf.get(KafkaOptions.BOOTSTRAP_SERVERS)
                    + ": " + e.getCause(), e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted while listing the topics", e);
        }
    }

    private static void checkTransactionLimit(ReadableConfig conf, List<String> warnings) {
        try (Admin admin = KafkaAdmin.create(conf)) {
            checkTransactionLimit(conf, admin, warnings);
        }
    }

    /**
     * Refuses a {@code kafka.transaction-timeout} above a broker's {@code transaction.max.timeout.ms}, which would
     * refuse every transaction of the sinks; adds a warning where the brokers' settings cannot be read.
     *
     * @throws IllegalStateException naming the key and the broker's limit
     */
    public static void checkTransactionLimit(ReadableConfig conf, Admin admin, List<String> warnings) {
        Duration transactionTimeout = conf.get(KafkaOptions.TRANSACTION_TIMEOUT);
        try {
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
        } catch (ExecutionException | KafkaUnreachableException | KafkaAdminTimeoutException e) {
            // An ACL may hide the brokers' settings (DESCRIBE_CONFIGS on the cluster): the sinks will tell, later.
            Throwable cause = e instanceof ExecutionException ? e.getCause() : e;
            warnings.add("could not read the brokers' " + BROKER_TRANSACTION_LIMIT + " (" + cause
                    + "), so " + KafkaOptions.TRANSACTION_TIMEOUT.key() + " was not checked against it");
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted while checking the Kafka cluster", e);
        }
    }

    private static boolean deniedByAcl(Throwable e) {
        for (Throwable cause = e; cause != null; cause = cause.getCause() == cause ? null : cause.getCause()) {
            if (cause instanceof AuthorizationException) {
                return true;
            }
        }
        return false;
    }
}
