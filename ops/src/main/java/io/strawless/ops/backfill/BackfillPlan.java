package io.strawless.ops.backfill;

import io.strawless.connectors.KafkaOptions;
import io.strawless.connectors.KafkaOptions.StartingOffsets;
import io.strawless.connectors.topics.TopicProvisioner;
import io.strawless.pipeline.JobOptions;
import java.time.Duration;
import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.stream.Stream;
import java.util.stream.StreamSupport;
import org.apache.flink.api.common.RuntimeExecutionMode;
import org.apache.flink.configuration.CheckpointingOptions;
import org.apache.flink.configuration.ConfigOption;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.configuration.ExecutionOptions;
import org.apache.flink.configuration.FallbackKey;
import org.apache.flink.configuration.RestartStrategyOptions;
import org.apache.flink.configuration.StateRecoveryOptions;

/**
 * What a backfill replays and where it writes: the input records whose Kafka timestamps lie in
 * {@code [from, to)}, scored into three output topics of their own.
 *
 * <p>A backfill is the live job with a different configuration ({@link #jobConfiguration}), so every
 * setting means what it means live. Kafka timestamps are the producers' create times, which agents set to
 * the event time (the synthetic fleet does); the job itself still works in the event times of the records.
 */
public record BackfillPlan(Instant from, Instant to, String outputTopic, String deadLetterTopic, String unscoredTopic) {

    /** Checkpoints commit the output and advance the progress line; a local backfill checkpoints this often. */
    public static final Duration DEFAULT_CHECKPOINT_INTERVAL = Duration.ofSeconds(2);
    /**
     * {@code job.source-idleness} of a backfill: in effect never. Live, idleness keeps a quiet partition from
     * holding the watermark back. A backfill has no quiet partitions, only ones that still have records to
     * read and ones that have finished (and no longer count); a reader marked idle would merely be a stalled
     * one (a slow broker, a throttled client), and the partitions that have already finished would then carry
     * the watermark to the end of time and time out everything still open.
     */
    static final Duration NO_IDLENESS = Duration.ofDays(365);

    public BackfillPlan {
        if (!from.isBefore(to)) {
            throw new IllegalArgumentException("--from (" + from + ") must be before --to (" + to + ")");
        }
        for (String topic : List.of(outputTopic, deadLetterTopic, unscoredTopic)) {
            if (topic.isBlank()) {
                throw new IllegalArgumentException("output topic names must not be blank");
            }
        }
    }

    /** The dead-letter and unscored topics named after the batches topic: {@code T.dlq} and {@code T.unscored}. */
    public static BackfillPlan of(Instant from, Instant to, String outputTopic) {
        return new BackfillPlan(from, to, outputTopic, outputTopic + ".dlq", outputTopic + ".unscored");
    }

    /**
     * The job configuration of this backfill: {@code live} (the live job's settings, so that the replay
     * scores as the live job did) with the keys of {@link #ownSettings} set on top.
     *
     * @throws IllegalArgumentException when an output topic is one of the live job's topics, when
     *     {@code live} asks for a runtime mode other than STREAMING, or asks to restore from a savepoint or
     *     checkpoint (see {@link #ownSettings})
     */
    public Configuration jobConfiguration(Configuration live) {
        // That the three differ from each other the job checks itself, as for every run (KafkaOptions).
        List<String> liveTopics = TopicProvisioner.topicNames(live);
        for (String topic : List.of(outputTopic, deadLetterTopic, unscoredTopic)) {
            if (liveTopics.contains(topic)) {
                throw new IllegalArgumentException("output topic " + topic + " is one of the live job's topics "
                        + liveTopics + ": a backfill writes to topics of its own");
            }
        }
        RuntimeExecutionMode mode = live.get(ExecutionOptions.RUNTIME_MODE);
        if (mode != RuntimeExecutionMode.STREAMING) {
            throw new IllegalArgumentException(ExecutionOptions.RUNTIME_MODE.key() + "=" + mode + " is not allowed: a"
                    + " backfill runs in STREAMING mode so that its timeouts fire in event time as they did live");
        }
        if (live.contains(StateRecoveryOptions.SAVEPOINT_PATH)) {
            throw new IllegalArgumentException(StateRecoveryOptions.SAVEPOINT_PATH.key() + " is not allowed: a backfill"
                    + " restored from a savepoint or checkpoint never ends (FLINK-31006 in flink-connector-kafka"
                    + " 5.0.0); run it again into fresh output topics instead");
        }
        Configuration job = new Configuration(live);
        ownSettings(live).forEach((key, value) -> job.setString(key, value));
        return job;
    }

    /**
     * The keys a backfill sets, as strings (the form {@code -Dkey=value} takes on a cluster): the bounded
     * time range, the output topics, STREAMING mode, and a consumer group and transactional-id prefix derived
     * from the live ones and the output topic, so that a backfill never commits offsets or fences
     * transactions of the live job (and keeps the live ids' prefix, which Kafka ACLs are often granted on).
     * Checkpointing defaults to {@link #DEFAULT_CHECKPOINT_INTERVAL}. Nothing secret is among them.
     *
     * <p>Checkpoints after tasks finish stay on (Flink's default): the job's sinks commit the output written since the
     * last checkpoint in the checkpoint taken once the sources have finished, and without it that end of the output
     * is never committed.
     *
     * <p>No restarts: in flink-connector-kafka 5.0.0 a bounded Kafka source restored from a checkpoint never
     * learns that no more partitions will come (FLINK-31006, fix proposed in apache/flink-connector-kafka#318),
     * so a backfill restarted after its first checkpoint reads to its stop offsets and then waits forever. A
     * failure therefore ends the backfill (its committed output stays, exactly once up to the last checkpoint)
     * and the user runs it again into fresh topics, rather than it hanging at 100%.
     */
    public Map<String, String> ownSettings(Configuration live) {
        Map<String, String> settings = new LinkedHashMap<>();
        ownOptions(live).forEach((option, value) -> settings.put(option.key(), value));
        return settings;
    }

    /**
     * The live settings this backfill replaces with values of its own, key to the value given (under the key or a
     * deprecated one), compared as the job reads them ({@code 365 d} is {@code 365d}, {@code streaming} is {@code
     * STREAMING}).
     */
    public Map<String, String> replacedSettings(Configuration live) {
        Map<String, String> replaced = new LinkedHashMap<>();
        Map<String, String> given = live.toMap();
        ownOptions(live).forEach((option, value) -> {
            if (live.contains(option) && !sameSetting(option, live, Configuration.fromMap(Map.of(option.key(), value)))) {
                Stream<String> keys = Stream.concat(Stream.of(option.key()),
                        StreamSupport.stream(option.fallbackKeys().spliterator(), false).map(FallbackKey::getKey));
                replaced.put(option.key(), keys.filter(given::containsKey).map(given::get).findFirst().orElseThrow());
            }
        });
        return replaced;
    }

    private static boolean sameSetting(ConfigOption<?> option, Configuration a, Configuration b) {
        if (option.equals(RestartStrategyOptions.RESTART_STRATEGY)) { // Flink's aliases of no restarts
            List<String> none = List.of("none", "off", "disable");
            return none.contains(a.get(RestartStrategyOptions.RESTART_STRATEGY).toLowerCase(Locale.ROOT))
                    && none.contains(b.get(RestartStrategyOptions.RESTART_STRATEGY).toLowerCase(Locale.ROOT));
        }
        return Objects.equals(a.get(option), b.get(option));
    }

    private Map<ConfigOption<?>, String> ownOptions(Configuration live) {
        Map<ConfigOption<?>, String> settings = new LinkedHashMap<>();
        settings.put(KafkaOptions.STARTING_OFFSETS, StartingOffsets.TIMESTAMP.toString());
        settings.put(KafkaOptions.START_TIMESTAMP, Long.toString(from.toEpochMilli()));
        settings.put(KafkaOptions.STOP_TIMESTAMP, Long.toString(to.toEpochMilli()));
        settings.put(KafkaOptions.BATCHES_TOPIC, outputTopic);
        settings.put(KafkaOptions.DEAD_LETTERS_TOPIC, deadLetterTopic);
        settings.put(KafkaOptions.UNSCORED_TOPIC, unscoredTopic);
        settings.put(KafkaOptions.GROUP_ID, live.get(KafkaOptions.GROUP_ID) + "-backfill-" + outputTopic);
        settings.put(KafkaOptions.TRANSACTIONAL_ID_PREFIX,
                live.get(KafkaOptions.TRANSACTIONAL_ID_PREFIX) + "-backfill-" + outputTopic);
        settings.put(JobOptions.JOB_NAME, live.get(JobOptions.JOB_NAME) + "-backfill-" + outputTopic);
        settings.put(ExecutionOptions.RUNTIME_MODE, RuntimeExecutionMode.STREAMING.name());
        settings.put(JobOptions.SOURCE_IDLENESS, NO_IDLENESS.toDays() + "d");
        settings.put(RestartStrategyOptions.RESTART_STRATEGY, "none");
        settings.put(CheckpointingOptions.ENABLE_CHECKPOINTS_AFTER_TASKS_FINISH, "true");
        if (!live.contains(CheckpointingOptions.CHECKPOINTING_INTERVAL)) {
            settings.put(CheckpointingOptions.CHECKPOINTING_INTERVAL, DEFAULT_CHECKPOINT_INTERVAL.toSeconds() + "s");
        }
        return settings;
    }
}
