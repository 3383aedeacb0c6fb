package io.strawless.connectors.topics;

import io.strawless.connectors.KafkaOptions;
import io.strawless.connectors.topics.TopicStatus.State;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ExecutionException;
import org.apache.flink.configuration.ReadableConfig;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.Config;
import org.apache.kafka.clients.admin.ConfigEntry;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.admin.TopicDescription;
import org.apache.kafka.common.KafkaFuture;
import org.apache.kafka.common.config.ConfigResource;
import org.apache.kafka.common.config.TopicConfig;
import org.apache.kafka.common.errors.AuthenticationException;
import org.apache.kafka.common.errors.ClusterAuthorizationException;
import org.apache.kafka.common.errors.InvalidConfigurationException;
import org.apache.kafka.common.errors.InvalidPartitionsException;
import org.apache.kafka.common.errors.InvalidReplicationFactorException;
import org.apache.kafka.common.errors.PolicyViolationException;
import org.apache.kafka.common.errors.TopicAuthorizationException;
import org.apache.kafka.common.errors.TopicExistsException;
import org.apache.kafka.common.errors.UnknownTopicOrPartitionException;

/**
 * Creates the six Strawless topics (three inputs, batches, dead letters, unscored) and checks existing
 * ones against {@link KafkaOptions}: partition count, replication factor, retention.ms and
 * min.insync.replicas; that they delete old records rather than compact them (cleanup.policy=delete); and
 * that the three output topics take the largest record the job writes (max.message.bytes, see
 * {@code kafka.max-record-bytes}).
 *
 * <p>Why never compacted: the inputs are keyed by trajectory id, so compaction would keep only the last step
 * of each trajectory and a replay would silently lose the others; and a compacted topic refuses a record
 * without a key, which a dead letter may be, so the dead-letter sink's transaction would fail on every restore.
 *
 * <p>Provisioning is idempotent and only ever creates: a topic that exists but differs is reported as
 * {@link State#DRIFT} and left alone, because changing partitions re-maps keys to partitions and
 * changing configs of a shared cluster is an operator's decision.
 */
public final class TopicProvisioner {

    private TopicProvisioner() {}

    /** Creates the missing topics; reports every topic as CREATED, EXISTS or DRIFT. */
    public static List<TopicStatus> ensureTopics(ReadableConfig conf) {
        return ensureTopics(conf, topicNames(conf));
    }

    /**
     * {@link #ensureTopics(ReadableConfig)} for some of the configured topics only: for a tool that needs a topic
     * before the others (e.g. inputs to fill before the job runs), made and checked exactly as the job's would be.
     *
     * @param topics some of {@link #topicNames}: a topic's settings depend on its role (input or output)
     */
    public static List<TopicStatus> ensureTopics(ReadableConfig conf, List<String> topics) {
        List<String> unknown = topics.stream().filter(topic -> !topicNames(conf).contains(topic)).toList();
        if (!unknown.isEmpty()) {
            throw new IllegalArgumentException(
                    "topics " + unknown + " are none of the configured topics " + topicNames(conf));
        }
        checkSettings(conf);
        return withAdmin(conf, admin -> inspect(admin, conf, topics, true));
    }

    /** Changes nothing; reports every topic as EXISTS, MISSING or DRIFT. */
    public static List<TopicStatus> check(ReadableConfig conf) {
        checkSettings(conf);
        return withAdmin(conf, admin -> inspect(admin, conf, topicNames(conf), false));
    }

    /** The configured topic names, in a stable order, each once (the input topics may share one). */
    public static List<String> topicNames(ReadableConfig conf) {
        Set<String> names = new LinkedHashSet<>(List.of(
                conf.get(KafkaOptions.STEPS_TOPIC),
                conf.get(KafkaOptions.OUTCOMES_TOPIC),
                conf.get(KafkaOptions.VERDICTS_TOPIC),
                conf.get(KafkaOptions.BATCHES_TOPIC),
                conf.get(KafkaOptions.DEAD_LETTERS_TOPIC),
                conf.get(KafkaOptions.UNSCORED_TOPIC)));
        return List.copyOf(names);
    }

    private static List<TopicStatus> inspect(Admin admin, ReadableConfig conf, List<String> topics, boolean create)
            throws Exception {
        Set<String> existing = KafkaAdmin.await(conf, admin.listTopics().names());

        Set<String> created = new LinkedHashSet<>();
        // Listed or not, a topic the broker says exists is there: a topic created a moment ago (by another
        // provisioner, or an operator) may be missing from the listing until every broker's metadata has it.
        Set<String> alreadyThere = new LinkedHashSet<>();
        if (create) {
            List<NewTopic> toCreate = topics.stream()
                    .filter(topic -> !existing.contains(topic))
                    .map(topic -> newTopic(topic, conf))
                    .toList();
            Map<String, KafkaFuture<Void>> results = admin.createTopics(toCreate).values();
            for (Map.Entry<String, KafkaFuture<Void>> result : results.entrySet()) {
                try {
                    KafkaAdmin.await(conf, result.getValue());
                    created.add(result.getKey());
                } catch (KafkaAdminTimeoutException e) {
                    throw e.whileDoing("creating topic " + result.getKey());
                } catch (ExecutionException e) {
                    // Someone else created it since we listed, or the listing did not show it yet: fine, it is
                    // checked below like the rest.
                    if (!(e.getCause() instanceof TopicExistsException)) {
                        throw createFailed(result.getKey(), e.getCause(), conf);
                    }
                    alreadyThere.add(result.getKey());
                }
            }
        }

        List<String> present = topics.stream()
                .filter(t -> existing.contains(t) || created.contains(t) || alreadyThere.contains(t)).toList();
        long deadline = System.nanoTime() + KafkaOptions.adminTimeout(conf).toNanos();
        Map<String, TopicDescription> descriptions = untilKnown(
                () -> KafkaAdmin.await(conf, admin.describeTopics(present).allTopicNames()), deadline);
        Map<ConfigResource, Config> configs = untilKnown(() -> KafkaAdmin.await(conf, admin.describeConfigs(present
                .stream().map(topic -> new ConfigResource(ConfigResource.Type.TOPIC, topic)).toList()).all()), deadline);

        List<TopicStatus> statuses = new ArrayList<>();
        for (String topic : topics) {
            if (!present.contains(topic)) {
                statuses.add(new TopicStatus(topic, State.MISSING, "does not exist", false));
                continue;
            }
            List<String> writesFail = new ArrayList<>();
            List<String> drift = drift(topic, descriptions.get(topic),
                    configs.get(new ConfigResource(ConfigResource.Type.TOPIC, topic)), conf, writesFail);
            if (!drift.isEmpty()) {
                statuses.add(new TopicStatus(topic, State.DRIFT, String.join("; ", drift), !writesFail.isEmpty()));
            } else {
                State state = created.contains(topic) ? State.CREATED : State.EXISTS;
                statuses.add(new TopicStatus(topic, state, describe(conf), false));
            }
        }
        return statuses;
    }

    private static NewTopic newTopic(String topic, ReadableConfig conf) {
        Map<String, String> configs = new HashMap<>(expectedConfigs(conf));
        if (outputTopics(conf).contains(topic)) {
            configs.put(TopicConfig.MAX_MESSAGE_BYTES_CONFIG, Integer.toString(KafkaOptions.outputTopicMaxMessageBytes(conf)));
        }
        return new NewTopic(topic, conf.get(KafkaOptions.TOPIC_PARTITIONS), replicationFactor(conf)).configs(configs);
    }

    /** The topics the job writes: they must take its largest record. */
    private static Set<String> outputTopics(ReadableConfig conf) {
        return Set.of(conf.get(KafkaOptions.BATCHES_TOPIC), conf.get(KafkaOptions.DEAD_LETTERS_TOPIC),
                conf.get(KafkaOptions.UNSCORED_TOPIC));
    }

    /** The configs every topic is created with and checked for, in a stable order (they are printed). */
    private static Map<String, String> expectedConfigs(ReadableConfig conf) {
        Map<String, String> configs = new LinkedHashMap<>();
        configs.put(TopicConfig.CLEANUP_POLICY_CONFIG, TopicConfig.CLEANUP_POLICY_DELETE); // see the class comment
        configs.put(TopicConfig.RETENTION_MS_CONFIG, Long.toString(conf.get(KafkaOptions.TOPIC_RETENTION).toMillis()));
        configs.put(TopicConfig.MIN_IN_SYNC_REPLICAS_CONFIG,
                Integer.toString(conf.get(KafkaOptions.TOPIC_MIN_INSYNC_REPLICAS)));
        return configs;
    }

    /**
     * How {@code topic} differs from the configuration; what of it makes writes to the topic fail is also added to
     * {@code writesFail}: too few replicas for its min.insync.replicas, too small a max.message.bytes for the job's
     * records, compaction of the dead-letter topic (a dead letter may have no key, which a compacted topic refuses).
     */
    private static List<String> drift(String topic, TopicDescription description, Config config, ReadableConfig conf,
            List<String> writesFail) {
        List<String> drift = new ArrayList<>();
        int partitions = description.partitions().size();
        if (partitions != conf.get(KafkaOptions.TOPIC_PARTITIONS)) {
            drift.add("partitions " + partitions + ", configured " + conf.get(KafkaOptions.TOPIC_PARTITIONS));
        }
        int replicas = description.partitions().get(0).replicas().size();
        if (replicas != replicationFactor(conf)) {
            drift.add("replication factor " + replicas + ", configured " + replicationFactor(conf));
        }
        expectedConfigs(conf).forEach((key, expected) -> {
            ConfigEntry actual = config.get(key);
            String actualValue = actual == null ? null : actual.value();
            if (!expected.equals(actualValue)) {
                drift.add(key + " " + actualValue + ", configured " + expected);
                if (key.equals(TopicConfig.CLEANUP_POLICY_CONFIG) && topic.equals(conf.get(KafkaOptions.DEAD_LETTERS_TOPIC))
                        && actualValue != null && actualValue.contains(TopicConfig.CLEANUP_POLICY_COMPACT)) {
                    writesFail.add(key);
                }
            }
        });
        ConfigEntry minInsync = config.get(TopicConfig.MIN_IN_SYNC_REPLICAS_CONFIG);
        if (minInsync != null && minInsync.value() != null && Integer.parseInt(minInsync.value()) > replicas) {
            drift.add(TopicConfig.MIN_IN_SYNC_REPLICAS_CONFIG + " " + minInsync.value() + " exceeds the topic's " + replicas
                    + " replicas: every acks=all write fails with NotEnoughReplicas");
            writesFail.add(TopicConfig.MIN_IN_SYNC_REPLICAS_CONFIG);
        }
        if (outputTopics(conf).contains(topic)) {
            // At least, not equal: a topic made for larger records takes the job's too. The value is the topic's
            // own or the broker's message.max.bytes it inherits.
            ConfigEntry actual = config.get(TopicConfig.MAX_MESSAGE_BYTES_CONFIG);
            int needed = KafkaOptions.outputTopicMaxMessageBytes(conf);
            if (actual != null && actual.value() != null && Long.parseLong(actual.value()) < needed) {
                drift.add(TopicConfig.MAX_MESSAGE_BYTES_CONFIG + " " + actual.value() + ", " + KafkaOptions.MAX_RECORD_BYTES.key()
                        + "=" + KafkaOptions.maxRecordBytes(conf) + " needs at least " + needed);
                writesFail.add(TopicConfig.MAX_MESSAGE_BYTES_CONFIG);
            }
        }
        return drift;
    }

    private static String describe(ReadableConfig conf) {
        return conf.get(KafkaOptions.TOPIC_PARTITIONS) + " partitions, replication factor " + replicationFactor(conf)
                + ", " + expectedConfigs(conf);
    }

    /**
     * Refuses topic settings no topic can work with, before anything is created: no partitions, no replicas, a
     * min.insync.replicas above the replication factor, which makes every acks=all write (the job's transactional
     * sinks, the fleet's producers) fail with NotEnoughReplicas, or an output topic that is another of the six
     * ({@link KafkaOptions#requireSeparateOutputTopics}), which the job refuses too.
     */
    public static void checkSettings(ReadableConfig conf) {
        KafkaOptions.requireSeparateOutputTopics(conf);
        int partitions = conf.get(KafkaOptions.TOPIC_PARTITIONS);
        if (partitions < 1) {
            throw new IllegalArgumentException(KafkaOptions.TOPIC_PARTITIONS.key() + " must be >= 1, was " + partitions);
        }
        short factor = replicationFactor(conf);
        int minInsync = conf.get(KafkaOptions.TOPIC_MIN_INSYNC_REPLICAS);
        if (minInsync < 1) {
            throw new IllegalArgumentException(KafkaOptions.TOPIC_MIN_INSYNC_REPLICAS.key() + " must be >= 1, was " + minInsync);
        }
        if (minInsync > factor) {
            throw new IllegalArgumentException(KafkaOptions.TOPIC_MIN_INSYNC_REPLICAS.key() + "=" + minInsync
                    + " exceeds " + KafkaOptions.TOPIC_REPLICATION_FACTOR.key() + "=" + factor
                    + ": every write that waits for all in-sync replicas (acks=all, the job's transactions) would fail"
                    + " with NotEnoughReplicas; lower the former or raise the latter");
        }
    }

    private static short replicationFactor(ReadableConfig conf) {
        int factor = conf.get(KafkaOptions.TOPIC_REPLICATION_FACTOR);
        if (factor < 1 || factor > Short.MAX_VALUE) {
            throw new IllegalArgumentException(KafkaOptions.TOPIC_REPLICATION_FACTOR.key() + " must be >= 1, was " + factor);
        }
        return (short) factor;
    }

    private interface AdminAction<T> {
        T apply(Admin admin) throws Exception;
    }

    /**
     * Runs {@code action} with an admin client of {@link KafkaAdmin} (whose calls report an absent broker and a
     * timeout), and turns its other failures into one line: a refused authentication names the {@code
     * kafka.client.*} settings, anything else says what Kafka said.
     */
    private static <T> T withAdmin(ReadableConfig conf, AdminAction<T> action) {
        String servers = conf.get(KafkaOptions.BOOTSTRAP_SERVERS);
        Admin admin = KafkaAdmin.create(conf);
        try {
            return action.apply(admin);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted while talking to Kafka at " + servers, e);
        } catch (RuntimeException e) {
            throw e; // our own checks, KafkaAdmin's timeouts, and the failures inspect names itself
        } catch (Exception e) {
            Throwable cause = e instanceof ExecutionException ? e.getCause() : e;
            if (cause instanceof AuthenticationException) {
                throw new IllegalStateException("Kafka at " + servers + " refused the admin client's authentication"
                        + " (check the " + KafkaOptions.CLIENT_PREFIX + "* security settings): "
                        + KafkaUnreachableException.rootMessage(cause), e);
            }
            throw new IllegalStateException("Kafka admin request to " + servers + " failed: "
                    + KafkaUnreachableException.rootMessage(cause), e);
        } finally {
            admin.close(KafkaOptions.adminTimeout(conf));
        }
    }

    /** Why creating {@code topic} failed, with the option that decides what the broker refused. */
    private static RuntimeException createFailed(String topic, Throwable cause, ReadableConfig conf) {
        String hint;
        if (cause instanceof InvalidReplicationFactorException) {
            hint = "check " + KafkaOptions.TOPIC_REPLICATION_FACTOR.key() + "=" + conf.get(KafkaOptions.TOPIC_REPLICATION_FACTOR)
                    + ": at most the number of brokers";
        } else if (cause instanceof InvalidPartitionsException) {
            hint = "check " + KafkaOptions.TOPIC_PARTITIONS.key() + "=" + conf.get(KafkaOptions.TOPIC_PARTITIONS);
        } else if (cause instanceof InvalidConfigurationException || cause instanceof PolicyViolationException) {
            hint = "check the topic settings from " + KafkaOptions.TOPIC_RETENTION.key() + ", "
                    + KafkaOptions.TOPIC_MIN_INSYNC_REPLICAS.key() + " and " + KafkaOptions.MAX_RECORD_BYTES.key();
        } else if (cause instanceof TopicAuthorizationException || cause instanceof ClusterAuthorizationException) {
            hint = "the client needs CREATE on the topic or the cluster";
        } else {
            hint = null;
        }
        return new IllegalStateException("creating topic " + topic + " on " + conf.get(KafkaOptions.BOOTSTRAP_SERVERS)
                + " failed: " + KafkaUnreachableException.rootMessage(cause) + (hint == null ? "" : " (" + hint + ")"),
                cause);
    }

    /**
     * A topic just created is not yet in the metadata of every broker (and not even of a single
     * combined node, for a moment): describing it answers UnknownTopicOrPartition. Retry until known.
     */
    private static <T> T untilKnown(AdminCall<T> call, long deadlineNanos) throws Exception {
        while (true) {
            try {
                return call.get();
            } catch (ExecutionException e) {
                if (!(e.getCause() instanceof UnknownTopicOrPartitionException) || System.nanoTime() > deadlineNanos) {
                    throw e;
                }
                Thread.sleep(100);
            }
        }
    }

    @FunctionalInterface
    private interface AdminCall<T> {
        T get() throws Exception;
    }
}
