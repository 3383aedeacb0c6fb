package io.strawless.connectors;

import static org.apache.flink.configuration.description.TextElement.text;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Properties;
import java.util.Set;
import java.util.TreeSet;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.apache.flink.configuration.ConfigOption;
import org.apache.flink.configuration.ConfigOptions;
import org.apache.flink.configuration.DescribedEnum;
import org.apache.flink.configuration.ReadableConfig;
import org.apache.flink.configuration.description.InlineElement;
import org.apache.flink.connector.kafka.source.KafkaSourceOptions;
import org.apache.flink.util.TimeUtils;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.common.config.ConfigDef;
import org.apache.kafka.common.config.ConfigException;

/**
 * Every Kafka setting Strawless reads, in one place: the embedded demo, a cluster deployment and a
 * backfill all configure Kafka through these options.
 *
 * <p>Anything a dedicated option does not cover goes through the {@value #CLIENT_PREFIX} passthrough:
 * {@code kafka.client.security.protocol=SASL_SSL} reaches every Kafka client (source, sinks, admin,
 * plain producers and consumers) as {@code security.protocol=SASL_SSL}. See {@link #clientProperties}.
 */
public final class KafkaOptions {

    /** Keys with this prefix are handed to every Kafka client, prefix stripped. */
    public static final String CLIENT_PREFIX = "kafka.client.";

    public static final ConfigOption<String> BOOTSTRAP_SERVERS =
            ConfigOptions.key("kafka.bootstrap-servers")
                    .stringType()
                    .defaultValue("localhost:9092")
                    .withDescription("Kafka bootstrap servers (host:port, comma separated). The job jar's entry"
                            + " point refuses to start without it: the default is never a cluster's broker.");

    public static final ConfigOption<String> GROUP_ID =
            ConfigOptions.key("kafka.group-id")
                    .stringType()
                    .defaultValue("strawless")
                    .withDescription(
                            "Consumer group under which the job's input source commits its offsets"
                                    + " (for monitoring lag and for the committed-or-earliest start).");

    public static final ConfigOption<String> STEPS_TOPIC =
            ConfigOptions.key("topics.steps")
                    .stringType()
                    .defaultValue("agent.steps")
                    .withDescription("Input topic of StepEvent records, keyed by trajectory id.");

    public static final ConfigOption<String> OUTCOMES_TOPIC =
            ConfigOptions.key("topics.outcomes")
                    .stringType()
                    .defaultValue("agent.outcomes")
                    .withDescription("Input topic of OutcomeEvent records, keyed by trajectory id.");

    public static final ConfigOption<String> VERDICTS_TOPIC =
            ConfigOptions.key("topics.verdicts")
                    .stringType()
                    .defaultValue("agent.verdicts")
                    .withDescription("Input topic of VerifierSignal records, keyed by trajectory id.");

    public static final ConfigOption<String> BATCHES_TOPIC =
            ConfigOptions.key("topics.batches")
                    .stringType()
                    .defaultValue("credit.batches")
                    .withDescription(
                            "Output topic of TrainingBatch records, keyed by batch id, written in"
                                    + " Kafka transactions (read it with isolation.level=read_committed). Each output"
                                    + " topic must differ from the other two and from the input topics.");

    public static final ConfigOption<String> DEAD_LETTERS_TOPIC =
            ConfigOptions.key("topics.dead-letters")
                    .stringType()
                    .defaultValue("credit.dlq")
                    .withDescription(
                            "Output topic of DeadLetter records (inputs that could not be decoded or that broke a"
                                    + " rule, with the rule's name in error_class), keyed by the original record key."
                                    + " Never an input topic: the job would read its dead letters back.");

    public static final ConfigOption<String> UNSCORED_TOPIC =
            ConfigOptions.key("topics.unscored")
                    .stringType()
                    .defaultValue("credit.unscored")
                    .withDescription(
                            "Output topic of UnscoredTrajectory records (trajectories that could not be"
                                    + " scored), keyed by trajectory id.");

    public static final ConfigOption<Integer> TOPIC_PARTITIONS =
            ConfigOptions.key("topics.partitions")
                    .intType()
                    .defaultValue(4)
                    .withDescription(
                            "Partition count of every Strawless topic when the provisioner creates it."
                                    + " The job's source shares the partitions of its three input topics among its subtasks:"
                                    + " a source parallelism beyond three times this count stays idle.");

    public static final ConfigOption<Integer> TOPIC_REPLICATION_FACTOR =
            ConfigOptions.key("topics.replication-factor")
                    .intType()
                    .defaultValue(1)
                    .withDescription(
                            "Replication factor of every Strawless topic when the provisioner creates it"
                                    + " (1 for a single broker; 3 in production).");

    public static final ConfigOption<Duration> TOPIC_RETENTION =
            ConfigOptions.key("topics.retention")
                    .durationType()
                    .defaultValue(Duration.ofDays(7))
                    .withDescription(
                            "retention.ms of every Strawless topic. Inputs must be retained at least as"
                                    + " long as a backfill may want to replay them.");

    public static final ConfigOption<Integer> TOPIC_MIN_INSYNC_REPLICAS =
            ConfigOptions.key("topics.min-insync-replicas")
                    .intType()
                    .defaultValue(1)
                    .withDescription(
                            "min.insync.replicas of every Strawless topic (2 with replication factor 3). At most"
                                    + " topics.replication-factor: the provisioner refuses more, since every write"
                                    + " that waits for all in-sync replicas (the job's transactions) would fail.");

    public static final ConfigOption<String> TRANSACTIONAL_ID_PREFIX =
            ConfigOptions.key("kafka.transactional-id-prefix")
                    .stringType()
                    .defaultValue("strawless")
                    .withDescription(
                            "Prefix of the transactional ids of the job's exactly-once sinks; each sink"
                                    + " appends its own suffix. Two jobs writing at the same time (live and"
                                    + " backfill) must use different prefixes.");

    public static final ConfigOption<Duration> TRANSACTION_TIMEOUT =
            ConfigOptions.key("kafka.transaction-timeout")
                    .durationType()
                    .defaultValue(Duration.ofMinutes(15))
                    .withDescription(
                            "transaction.timeout.ms of the exactly-once sinks. Must not exceed the broker's"
                                    + " transaction.max.timeout.ms (15 min by default), and must exceed the longest"
                                    + " a transaction can stay open, (1 + tolerable failed checkpoints) x"
                                    + " max(checkpoint interval, checkpoint timeout + min pause) + checkpoint timeout"
                                    + " (the job refuses to start otherwise; where execution.checkpointing.timeout is"
                                    + " not set it picks the largest that fits with a minute to spare), and the"
                                    + " recovery time, or the broker"
                                    + " aborts transactions the job still wants to commit.");

    /** Bytes a Kafka record takes besides its key and value, with room to spare: Kafka's record batch header (61)
     *  and the record's own varints (at most 21). */
    public static final int RECORD_OVERHEAD_BYTES = 1024;

    /** Kafka's default {@code message.max.bytes} (and so every topic's {@code max.message.bytes} unless set). */
    public static final int KAFKA_DEFAULT_MAX_MESSAGE_BYTES = 1_048_588;

    private static final List<ConfigOption<String>> OUTPUT_TOPICS =
            List.of(BATCHES_TOPIC, DEAD_LETTERS_TOPIC, UNSCORED_TOPIC);

    /** The passthrough key of the producers' {@code buffer.memory}: a producer refuses a record larger than it. */
    private static final String BUFFER_MEMORY_KEY = CLIENT_PREFIX + ProducerConfig.BUFFER_MEMORY_CONFIG;

    /** Kafka's default {@code buffer.memory} of a producer. */
    private static final long KAFKA_DEFAULT_BUFFER_MEMORY =
            (Long) ProducerConfig.configDef().defaultValues().get(ProducerConfig.BUFFER_MEMORY_CONFIG);

    public static final ConfigOption<Integer> MAX_RECORD_BYTES =
            ConfigOptions.key("kafka.max-record-bytes")
                    .intType()
                    .defaultValue(1_000_000)
                    .withDescription(
                            "Largest record, key and value together, the job writes to its output topics."
                                    + " A training batch is closed before it could grow past it; a group of"
                                    + " trajectories too large for any batch goes to the unscored topic (reason"
                                    + " OVERSIZED); an unscored trajectory or a dead letter over it is written without"
                                    + " its token ids (then without its steps, outcomes and verdicts) or without the"
                                    + " original record's bytes, and says so. The job's producers get a"
                                    + " max.request.size " + RECORD_OVERHEAD_BYTES + " bytes above it, which must not"
                                    + " exceed their buffer.memory (kafka.client.buffer.memory, by default Kafka's "
                                    + KAFKA_DEFAULT_BUFFER_MEMORY + "), and the output"
                                    + " topics need a max.message.bytes as large: the provisioner creates them so,"
                                    + " and reports a smaller one as DRIFT. The default fits Kafka's default limits"
                                    + " (message.max.bytes " + KAFKA_DEFAULT_MAX_MESSAGE_BYTES + "). At least 262144.");

    public static final ConfigOption<TransactionNaming> TRANSACTION_NAMING =
            ConfigOptions.key("kafka.transaction-naming")
                    .enumType(TransactionNaming.class)
                    .defaultValue(TransactionNaming.INCREMENTING)
                    .withDescription(
                            "How the exactly-once sinks name their Kafka transactions. The broker keeps every"
                                    + " transactional id it has seen for transactional.id.expiration.ms (7 days by"
                                    + " default).");

    public static final ConfigOption<StartingOffsets> STARTING_OFFSETS =
            ConfigOptions.key("source.starting-offsets")
                    .enumType(StartingOffsets.class)
                    .defaultValue(StartingOffsets.COMMITTED_OR_EARLIEST)
                    .withDescription(
                            "Where the input source starts when the job starts without a checkpoint or"
                                    + " savepoint (a restore always resumes from the checkpointed offsets, or, where"
                                    + " retention deleted one meanwhile, from the earliest record left, in every mode).");

    public static final ConfigOption<Long> START_TIMESTAMP =
            ConfigOptions.key("source.start-timestamp")
                    .longType()
                    .noDefaultValue()
                    .withDescription(
                            "Epoch millis to start reading from (inclusive), with"
                                    + " source.starting-offsets=timestamp. Used by backfill.");

    public static final ConfigOption<Long> STOP_TIMESTAMP =
            ConfigOptions.key("source.stop-timestamp")
                    .longType()
                    .noDefaultValue()
                    .withDescription(
                            "Epoch millis to stop reading at (exclusive). When set, the input source is"
                                    + " bounded and the job finishes after reaching it. Used by backfill.");

    public static final ConfigOption<Duration> PARTITION_DISCOVERY_INTERVAL =
            ConfigOptions.key("source.partition-discovery-interval")
                    .durationType()
                    .defaultValue(Duration.ofMinutes(1))
                    .withDescription(
                            "How often an unbounded input source looks for partitions added to its topics.");

    public static final ConfigOption<Duration> ADMIN_TIMEOUT =
            ConfigOptions.key("kafka.admin-timeout")
                    .durationType()
                    .defaultValue(Duration.ofSeconds(10))
                    .withDescription(
                            "How long topic provisioning and checks wait for the broker before failing"
                                    + " with an error that names the bootstrap servers. At least 1 ms.");

    public static final ConfigOption<Boolean> CHECK_BEFORE_START =
            ConfigOptions.key("kafka.check-before-start")
                    .booleanType()
                    .defaultValue(true)
                    .withDescription(
                            "Before the job jar's entry point submits the job (flink run, or application mode), check"
                                    + " that the six topics exist (create them with 'strawless topics create'), that"
                                    + " none refuses the job's writes (min.insync.replicas above its replicas,"
                                    + " max.message.bytes below kafka.max-record-bytes + 1024, a compacted dead-letter topic),"
                                    + " and that the broker's transaction.max.timeout.ms admits"
                                    + " kafka.transaction-timeout; each failure is one line that names what to change,"
                                    + " where the job would otherwise restart without end. A broker that does not"
                                    + " answer within kafka.admin-timeout, other drift from the topics.* settings and"
                                    + " settings the job may not read are warnings. Set false where the machine that"
                                    + " runs 'flink run' cannot reach the broker that the cluster reaches.");

    /**
     * Client settings that a dedicated option (or the exactly-once design) controls, each with what to do instead.
     * Passing them through {@value #CLIENT_PREFIX} is rejected rather than silently overridden.
     */
    private static final Map<String, String> CONTROLLED_CLIENT_KEYS = Map.ofEntries(
            Map.entry("bootstrap.servers", "set " + BOOTSTRAP_SERVERS.key()),
            Map.entry("group.id", "set " + GROUP_ID.key()),
            Map.entry("isolation.level", "the job reads and writes committed data only (read_committed)"),
            Map.entry("transactional.id", "set " + TRANSACTIONAL_ID_PREFIX.key()),
            Map.entry("transaction.timeout.ms", "set " + TRANSACTION_TIMEOUT.key()),
            Map.entry("max.request.size", "set " + MAX_RECORD_BYTES.key()),
            // The source builder sets it after the passthrough properties, so a passthrough value would be ignored.
            Map.entry("partition.discovery.interval.ms", "set " + PARTITION_DISCOVERY_INTERVAL.key()),
            // The source builder sets it from the starting mode's reset strategy.
            Map.entry("auto.offset.reset", "the input source goes on from the earliest record left where a position is"
                    + " gone, in every mode; " + STARTING_OFFSETS.key() + " sets where a fresh start begins"),
            Map.entry("enable.idempotence", "Kafka transactions need it on"),
            Map.entry("key.serializer", "the job's records are its own Avro bytes"),
            Map.entry("value.serializer", "the job's records are its own Avro bytes"),
            Map.entry("key.deserializer", "the job's records are its own Avro bytes"),
            Map.entry("value.deserializer", "the job's records are its own Avro bytes"));

    /**
     * Producer settings that Kafka transactions (the exactly-once sinks) constrain: a value outside the constraint is
     * rejected, with what the transactions need. Kafka turns idempotence off for {@code acks} other than all, retries 0
     * or more than 5 requests in flight, and then refuses every transactional producer ("Cannot set a transactional.id
     * without also enabling idempotence") only once the job runs, in a restart loop.
     */
    private static final Map<String, ClientValue> CONSTRAINED_CLIENT_KEYS = Map.of(
            "acks", new ClientValue(value -> value.equals("all") || value.equals("-1"),
                    "Kafka transactions need acks=all (the default)"),
            "retries", new ClientValue(value -> parsesTo(value, 1, Integer.MAX_VALUE),
                    "Kafka transactions need retries above 0 (the default is unbounded)"),
            "max.in.flight.requests.per.connection", new ClientValue(value -> parsesTo(value, 1, 5),
                    "Kafka transactions need 1 to 5 (the default is 5)"));

    /**
     * Every setting one of Kafka's own clients (admin, producer, consumer) knows. A passthrough key outside them
     * would be ignored by every client with no more than a logged warning: a misspelt
     * {@code kafka.client.securty.protocol} would leave the client on plaintext, and the user would be told the
     * broker is not reachable.
     */
    private static final Set<String> KAFKA_CLIENT_KEYS = kafkaClientKeys();

    /** The client settings Kafka types as passwords ({@code ssl.key.password}, {@code sasl.jaas.config}, ...). */
    private static final Set<String> KAFKA_CLIENT_SECRETS = Stream.of(
                    AdminClientConfig.configDef(), ProducerConfig.configDef(), ConsumerConfig.configDef())
            .flatMap(definition -> definition.configKeys().values().stream())
            .filter(key -> key.type == ConfigDef.Type.PASSWORD)
            .map(key -> key.name)
            .collect(Collectors.toUnmodifiableSet());

    /**
     * Families of keys Kafka reads beyond its clients' lists: a config provider's class and parameters ({@code
     * config.providers.file.class}), resolved with the secrets; the metrics context's labels (KIP-606); the JMX
     * reporter's include and exclude filters.
     */
    private static final List<String> KAFKA_CLIENT_PREFIXES = List.of("config.providers.", "metrics.context.",
            "metrics.jmx.");

    /**
     * Settings that name a plugin class (an interceptor, a metrics reporter, a SASL callback handler, ...). A plugin
     * reads keys of its own from the same properties, which no list knows: where one is set, an unknown key is
     * passed on rather than refused.
     */
    private static boolean namesAPlugin(String clientKey) {
        return clientKey.equals("interceptor.classes") || clientKey.equals("metric.reporters")
                || clientKey.equals("partitioner.class") || clientKey.endsWith(".callback.handler.class")
                || clientKey.equals("ssl.engine.factory.class");
    }

    /** Whether {@code key}, a {@value #CLIENT_PREFIX}* setting, holds a secret: one Kafka types as a password. */
    public static boolean isClientSecret(String key) {
        return key.startsWith(CLIENT_PREFIX) && KAFKA_CLIENT_SECRETS.contains(key.substring(CLIENT_PREFIX.length()));
    }

    private static Set<String> kafkaClientKeys() {
        Set<String> keys = new TreeSet<>(AdminClientConfig.configNames());
        keys.addAll(ProducerConfig.configNames());
        keys.addAll(ConsumerConfig.configNames());
        // Flink's Kafka source and sink read their own settings from the same properties (client.id.prefix, ...).
        for (ConfigOption<?> option : List.of(KafkaSourceOptions.CLIENT_ID_PREFIX,
                KafkaSourceOptions.PARTITION_DISCOVERY_INTERVAL_MS, KafkaSourceOptions.REGISTER_KAFKA_CONSUMER_METRICS,
                KafkaSourceOptions.COMMIT_OFFSETS_ON_CHECKPOINT)) {
            keys.add(option.key());
        }
        keys.add("register.producer.metrics"); // the sink's KafkaWriter, which has no option class for them
        keys.add("flink.disable-metrics");
        return Set.copyOf(keys);
    }

    /** A passthrough value's constraint and why. */
    private record ClientValue(java.util.function.Predicate<String> allowed, String why) {}

    private static boolean parsesTo(String value, int min, int max) {
        try {
            int parsed = Integer.parseInt(value);
            return parsed >= min && parsed <= max;
        } catch (NumberFormatException e) {
            return false;
        }
    }

    private KafkaOptions() {}

    /**
     * {@code kafka.max-record-bytes}, checked: a batch must have room for trajectories besides its envelope (up to
     * 50 KB); and the producers' {@code max.request.size}, {@value #RECORD_OVERHEAD_BYTES} bytes above it, must be an
     * int no larger than their {@code buffer.memory}, or Kafka's producer refuses the largest records with a
     * RecordTooLargeException, which fails the sink's transaction on every restart.
     *
     * @throws IllegalArgumentException naming the key, when it is below 262144 or leaves no such max.request.size
     */
    public static int maxRecordBytes(ReadableConfig conf) {
        int bytes = conf.get(MAX_RECORD_BYTES);
        if (bytes < 262_144) {
            throw new IllegalArgumentException(MAX_RECORD_BYTES.key() + " must be at least 262144, was " + bytes);
        }
        if (bytes > Integer.MAX_VALUE - RECORD_OVERHEAD_BYTES) {
            throw new IllegalArgumentException(MAX_RECORD_BYTES.key() + " must be at most "
                    + (Integer.MAX_VALUE - RECORD_OVERHEAD_BYTES) + ", was " + bytes + ": the producers'"
                    + " max.request.size, " + RECORD_OVERHEAD_BYTES + " bytes above it, is an int");
        }
        long bufferMemory = producerBufferMemory(conf);
        if (bytes + RECORD_OVERHEAD_BYTES > bufferMemory) {
            throw new IllegalArgumentException(MAX_RECORD_BYTES.key() + " (" + bytes + ") + " + RECORD_OVERHEAD_BYTES
                    + " must not exceed the producers' buffer.memory, " + bufferMemory + " (" + BUFFER_MEMORY_KEY
                    + ", Kafka's default where not set): Kafka's producer refuses a larger record"
                    + " (RecordTooLargeException), and the job would restart without end; lower "
                    + MAX_RECORD_BYTES.key() + " or raise " + BUFFER_MEMORY_KEY);
        }
        return bytes;
    }

    /** The producers' {@code buffer.memory}: {@code kafka.client.buffer.memory} where set, else Kafka's default. */
    private static long producerBufferMemory(ReadableConfig conf) {
        String given = conf.toMap().get(BUFFER_MEMORY_KEY);
        if (given == null) {
            return KAFKA_DEFAULT_BUFFER_MEMORY;
        }
        try {
            // As the producer reads it; it would refuse a value that does not parse only once the job runs.
            return (Long) ConfigDef.parseType(ProducerConfig.BUFFER_MEMORY_CONFIG, given, ConfigDef.Type.LONG);
        } catch (ConfigException e) {
            throw new IllegalArgumentException(BUFFER_MEMORY_KEY + "=" + given + ": not a number of bytes"
                    + " (e.g. 67108864)", e);
        }
    }

    /** The topics the job writes: {@code topics.batches}, {@code topics.dead-letters}, {@code topics.unscored}. */
    public static List<String> outputTopics(ReadableConfig conf) {
        return OUTPUT_TOPICS.stream().map(conf::get).toList();
    }

    /**
     * Refuses an output topic ({@code topics.batches}, {@code topics.dead-letters}, {@code topics.unscored}) that is
     * another output topic or an input topic; the input topics may share one topic, by design. Dead letters written to
     * an input topic would be read back and dead-lettered again without end, a trainer reading batches would stop on
     * a record of another type, and the provisioner and the preflight, which check each topic once, would check
     * fewer topics without a word.
     *
     * @throws IllegalArgumentException naming both keys
     */
    public static void requireSeparateOutputTopics(ReadableConfig conf) {
        List<ConfigOption<String>> before = new ArrayList<>(List.of(STEPS_TOPIC, OUTCOMES_TOPIC, VERDICTS_TOPIC));
        for (ConfigOption<String> output : OUTPUT_TOPICS) {
            String topic = conf.get(output);
            for (ConfigOption<String> other : before) {
                if (conf.get(other).equals(topic)) {
                    throw new IllegalArgumentException(output.key() + " and " + other.key() + " are both " + topic
                            + ": each output topic must differ from the other output topics and from the input topics"
                            + " (the job would read its own output, or mix two kinds of record on one topic); give "
                            + output.key() + " a topic of its own");
                }
            }
            before.add(output);
        }
    }

    /**
     * {@code kafka.admin-timeout}, checked: Kafka's admin client takes it in whole milliseconds, and at 0 every call
     * would time out before the broker could answer, reported as a broker that is not reachable.
     *
     * @throws IllegalArgumentException when it is below 1 ms
     */
    public static Duration adminTimeout(ReadableConfig conf) {
        Duration timeout = conf.get(ADMIN_TIMEOUT);
        if (timeout.toMillis() < 1) {
            throw new IllegalArgumentException(ADMIN_TIMEOUT.key() + " must be at least 1 ms, was "
                    + TimeUtils.formatWithHighestUnit(timeout) + ": every admin call would time out before the broker"
                    + " answered (the default is 10 s)");
        }
        return timeout;
    }

    /** The {@code max.message.bytes} an output topic needs for the largest record the job writes. */
    public static int outputTopicMaxMessageBytes(ReadableConfig conf) {
        return maxRecordBytes(conf) + RECORD_OVERHEAD_BYTES;
    }

    /**
     * The {@value #CLIENT_PREFIX}* entries of {@code conf}, prefix stripped, ready to add to any Kafka
     * client's properties. The values may be secrets (SASL JAAS configs, SSL passwords): never log them.
     *
     * @throws IllegalArgumentException when a passthrough key is no Kafka client's setting or names a setting a
     *     dedicated option controls, or gives acks, retries or max.in.flight.requests.per.connection a value Kafka
     *     transactions cannot work with (see {@link #checkClientSetting})
     */
    public static Properties clientProperties(ReadableConfig conf) {
        Properties properties = new Properties();
        Map<String, String> settings = conf.toMap();
        for (Map.Entry<String, String> entry : settings.entrySet()) {
            if (entry.getKey().startsWith(CLIENT_PREFIX)) {
                checkClientSetting(entry.getKey(), entry.getValue(), settings.keySet());
                properties.setProperty(entry.getKey().substring(CLIENT_PREFIX.length()), entry.getValue());
            }
        }
        return properties;
    }

    /**
     * Checks one {@value #CLIENT_PREFIX}* setting as {@link #clientProperties} passes it on: the stripped key must be
     * a setting of one of Kafka's clients and not one a dedicated option controls, and the value must be one Kafka
     * transactions work with. The value may be a secret: it appears in no message but those of the constrained
     * keys (acks, retries, max.in.flight.requests.per.connection).
     *
     * @param key the key with its prefix, e.g. {@code kafka.client.security.protocol}
     * @param allKeys every key of the configuration: where one names a plugin class, an unknown key is the plugin's
     * @throws IllegalArgumentException that starts with {@code key} and says what to do instead
     */
    public static void checkClientSetting(String key, String value, Set<String> allKeys) {
        String clientKey = key.substring(CLIENT_PREFIX.length());
        String instead = CONTROLLED_CLIENT_KEYS.get(clientKey);
        if (instead != null) {
            throw new IllegalArgumentException(key + " is not allowed: " + instead);
        }
        boolean plugins = allKeys.stream()
                .anyMatch(other -> other.startsWith(CLIENT_PREFIX) && namesAPlugin(other.substring(CLIENT_PREFIX.length())));
        if (!KAFKA_CLIENT_KEYS.contains(clientKey) && KAFKA_CLIENT_PREFIXES.stream().noneMatch(clientKey::startsWith)
                && !plugins) {
            // Not one the job controls: that would be refused next.
            String closest = Misspelling.meant(clientKey, KAFKA_CLIENT_KEYS.stream()
                    .filter(known -> !CONTROLLED_CLIENT_KEYS.containsKey(known))
                    .toList());
            throw new IllegalArgumentException(key + ": not a Kafka client setting (" + CLIENT_PREFIX + "* takes the"
                    + " settings of Kafka's producer, consumer and admin client, and of Flink's Kafka source"
                    + (closest == null ? "" : "; did you mean " + CLIENT_PREFIX + closest + "?") + ")");
        }
        ClientValue constraint = CONSTRAINED_CLIENT_KEYS.get(clientKey);
        // Kafka trims string settings, and so accepts " all "; values of these keys are no secrets.
        if (constraint != null && !constraint.allowed().test(value.trim())) {
            throw new IllegalArgumentException(key + "=" + value + " is not allowed: " + constraint.why());
        }
    }

    /**
     * What to set for {@code key}, a Kafka client's setting given without the {@value #CLIENT_PREFIX} prefix (where
     * Flink would ignore it): the job's own setting where it controls the key, else the prefixed key; empty where
     * {@code key} is no Kafka client's setting.
     */
    public static Optional<String> unprefixedClientSetting(String key) {
        if (!KAFKA_CLIENT_KEYS.contains(key)) {
            return Optional.empty();
        }
        String instead = CONTROLLED_CLIENT_KEYS.get(key);
        return Optional.of(instead != null ? "a Kafka client setting the job controls: " + instead
                : "a Kafka client setting, which goes under " + CLIENT_PREFIX + " (" + CLIENT_PREFIX + key + ")");
    }

    /**
     * {@link #clientProperties} for an admin client of the configured cluster whose every call gives up after
     * {@code kafka.admin-timeout} (the client's own default is a minute a call): a tool that finds no broker says
     * so soon, with {@link io.strawless.connectors.topics.KafkaUnreachableException}.
     */
    public static Properties adminProperties(ReadableConfig conf) {
        String timeoutMillis = Long.toString(adminTimeout(conf).toMillis());
        Properties properties = clientProperties(conf);
        properties.setProperty(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, conf.get(BOOTSTRAP_SERVERS));
        properties.setProperty(AdminClientConfig.DEFAULT_API_TIMEOUT_MS_CONFIG, timeoutMillis);
        properties.setProperty(AdminClientConfig.REQUEST_TIMEOUT_MS_CONFIG, timeoutMillis);
        return properties;
    }

    /** How the exactly-once sinks name their transactions: Flink's Kafka connector's two strategies. */
    public enum TransactionNaming implements DescribedEnum {
        INCREMENTING(
                "incrementing",
                "a new transactional id per checkpoint, subtask and sink (the connector's default): a job"
                        + " checkpointing every 10 s at parallelism 4 leaves the broker about 730,000 ids to keep"
                        + " for a week"),
        POOLING(
                "pooling",
                "reuses a few ids per subtask and sink. Needs Kafka 3.0+, and where ACLs are on, DESCRIBE on the"
                        + " job's transactional ids and the output topics (it lists open transactions). A job"
                        + " restores an incrementing savepoint under pooling, not the other way round");

        private final String value;
        private final String description;

        TransactionNaming(String value, String description) {
            this.value = value;
            this.description = description;
        }

        /** The spelling used in configuration; Flink matches it case-insensitively. */
        @Override
        public String toString() {
            return value;
        }

        @Override
        public InlineElement getDescription() {
            return text(description);
        }
    }

    /** Where the input source starts when there is no checkpoint to restore from. */
    public enum StartingOffsets implements DescribedEnum {
        COMMITTED_OR_EARLIEST(
                "committed-or-earliest",
                "the group's committed offsets, and the earliest offset of a partition without one"),
        EARLIEST("earliest", "the earliest retained offset of every partition"),
        LATEST("latest", "the end of every partition (only records produced from now on)"),
        TIMESTAMP("timestamp", "the first record at or after source.start-timestamp");

        private final String value;
        private final String description;

        StartingOffsets(String value, String description) {
            this.value = value;
            this.description = description;
        }

        /** The spelling used in configuration; Flink matches it case-insensitively. */
        @Override
        public String toString() {
            return value;
        }

        @Override
        public InlineElement getDescription() {
            return text(description);
        }
    }
}
