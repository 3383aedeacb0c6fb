package io.strawless.ops.backfill;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.strawless.connectors.KafkaOptions;
import io.strawless.connectors.KafkaOptions.StartingOffsets;
import io.strawless.connectors.serde.InputRecord;
import io.strawless.pipeline.JobOptions;
import java.lang.reflect.Field;
import java.lang.reflect.Method;
import java.lang.reflect.Proxy;
import java.net.URI;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.apache.flink.api.common.RuntimeExecutionMode;
import org.apache.flink.configuration.CheckpointingOptions;
import org.apache.flink.configuration.ConfigOptions;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.configuration.ExecutionOptions;
import org.apache.flink.configuration.RestartStrategyOptions;
import org.apache.flink.configuration.StateRecoveryOptions;
import org.apache.flink.connector.kafka.source.KafkaSource;
import org.apache.flink.connector.kafka.source.enumerator.initializer.OffsetsInitializer;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.common.TopicPartition;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine.TypeConversionException;

/** How a backfill turns the live job's configuration into its own; nothing here talks to Kafka. */
class BackfillPlanTest {

    private static final Instant FROM = Instant.parse("2025-11-25T16:00:00Z");
    private static final Instant TO = Instant.parse("2025-11-25T18:00:00Z");

    @Test
    void timesAreEpochMillisIsoInstantsDateTimesWithOffsetOrDates() {
        assertEquals(FROM, TimeArgument.parse(Long.toString(FROM.toEpochMilli())));
        assertEquals(FROM, TimeArgument.parse("2025-11-25T16:00:00Z"));
        assertEquals(FROM, TimeArgument.parse("2025-11-25T17:00:00+01:00"));
        assertEquals(Instant.parse("2025-11-25T00:00:00Z"), TimeArgument.parse("2025-11-25"));
        assertThrows(TypeConversionException.class, () -> TimeArgument.parse("yesterday"));
        // Outside what a Kafka timestamp holds: before 1970 (-1 and -2 ms mean latest and earliest to a lookup), or
        // beyond a long's epoch milliseconds.
        assertThrows(TypeConversionException.class, () -> TimeArgument.parse("1969-12-31T23:59:59.998Z"));
        assertThrows(TypeConversionException.class, () -> TimeArgument.parse("+999999999-12-31"));
        assertEquals(Instant.EPOCH, TimeArgument.parse("1970-01-01"));
    }

    /** Epoch seconds read as milliseconds fall in January 1970: refused, with what to do instead. */
    @Test
    void digitsTooSmallForEpochMillisAreRefusedAsEpochSeconds() {
        TypeConversionException seconds = assertThrows(TypeConversionException.class,
                () -> TimeArgument.parse(Long.toString(FROM.getEpochSecond())));
        assertTrue(seconds.getMessage().contains("looks like epoch seconds"), seconds.getMessage());
        assertTrue(seconds.getMessage().contains("append 000"), seconds.getMessage());
        assertThrows(TypeConversionException.class, () -> TimeArgument.parse("0"));
        assertEquals(Instant.ofEpochMilli(100_000_000_000L), TimeArgument.parse("100000000000"));
        assertThrows(TypeConversionException.class, () -> TimeArgument.parse("99999999999999999999"));
    }

    /**
     * The job reads the range's offsets, as counted; where retention deleted its position it goes on from the
     * earliest record left. A timestamp start (the connector's OffsetsInitializer.timestamp) would reset such a
     * partition to its end and skip the rest of the range.
     */
    @Test
    void theSourceReadsTheRangesOffsetsAndGoesOnFromTheEarliestRecordLeft() throws Exception {
        Configuration job = BackfillPlan.of(FROM, TO, "credit.backfill").jobConfiguration(new Configuration());
        TopicPartition steps = new TopicPartition(job.get(KafkaOptions.STEPS_TOPIC), 0);

        KafkaSource<InputRecord> source = Backfill.inputSource(job, Map.of(steps, 5L), Map.of(steps, 9L));

        Method configuration = KafkaSource.class.getDeclaredMethod("getConfiguration");
        configuration.setAccessible(true);
        assertEquals("earliest", ((Configuration) configuration.invoke(source)).get(
                ConfigOptions.key(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG).stringType().noDefaultValue()));
        assertEquals(Map.of(steps, 5L), offsets(source, "startingOffsetsInitializer", steps));
        assertEquals(Map.of(steps, 9L), offsets(source, "stoppingOffsetsInitializer", steps));
    }

    private static Map<TopicPartition, Long> offsets(KafkaSource<?> source, String initializer, TopicPartition partition)
            throws ReflectiveOperationException {
        Field field = KafkaSource.class.getDeclaredField(initializer);
        field.setAccessible(true);
        // Only a timestamp or unknown partition needs to ask Kafka; these offsets are given.
        OffsetsInitializer.PartitionOffsetsRetriever noKafka = (OffsetsInitializer.PartitionOffsetsRetriever)
                Proxy.newProxyInstance(BackfillPlanTest.class.getClassLoader(),
                        new Class<?>[] {OffsetsInitializer.PartitionOffsetsRetriever.class}, (proxy, method, args) -> {
                            throw new AssertionError("asked Kafka: " + method.getName());
                        });
        return ((OffsetsInitializer) field.get(source)).getPartitionOffsets(List.of(partition), noKafka);
    }

    @Test
    void theReplayReadsTheRangeInStreamingModeAndWritesToTopicsAndIdsOfItsOwn() {
        Configuration live = new Configuration();
        live.set(KafkaOptions.GROUP_ID, "strawless-prod");
        live.set(KafkaOptions.TRANSACTIONAL_ID_PREFIX, "strawless-prod");

        Configuration job = BackfillPlan.of(FROM, TO, "credit.backfill").jobConfiguration(live);

        assertEquals(StartingOffsets.TIMESTAMP, job.get(KafkaOptions.STARTING_OFFSETS));
        assertEquals(FROM.toEpochMilli(), job.get(KafkaOptions.START_TIMESTAMP));
        assertEquals(TO.toEpochMilli(), job.get(KafkaOptions.STOP_TIMESTAMP));
        assertEquals("credit.backfill", job.get(KafkaOptions.BATCHES_TOPIC));
        assertEquals("credit.backfill.dlq", job.get(KafkaOptions.DEAD_LETTERS_TOPIC));
        assertEquals("credit.backfill.unscored", job.get(KafkaOptions.UNSCORED_TOPIC));
        assertEquals(live.get(KafkaOptions.STEPS_TOPIC), job.get(KafkaOptions.STEPS_TOPIC), "reads the live inputs");
        assertEquals("strawless-prod-backfill-credit.backfill", job.get(KafkaOptions.GROUP_ID));
        assertEquals("strawless-prod-backfill-credit.backfill", job.get(KafkaOptions.TRANSACTIONAL_ID_PREFIX));
        assertEquals(RuntimeExecutionMode.STREAMING, job.get(ExecutionOptions.RUNTIME_MODE));
        assertEquals(BackfillPlan.DEFAULT_CHECKPOINT_INTERVAL, job.get(CheckpointingOptions.CHECKPOINTING_INTERVAL));
        assertEquals(BackfillPlan.NO_IDLENESS, job.get(JobOptions.SOURCE_IDLENESS));
        assertEquals("none", job.get(RestartStrategyOptions.RESTART_STRATEGY));
        // The last batches are committed by the checkpoint Flink takes after the tasks have finished.
        assertTrue(job.get(CheckpointingOptions.ENABLE_CHECKPOINTS_AFTER_TASKS_FINISH));
    }

    @Test
    void theLiveJobsOwnSettingsCarryOver() {
        Configuration live = new Configuration();
        live.set(CheckpointingOptions.CHECKPOINTING_INTERVAL, Duration.ofSeconds(30));
        live.set(JobOptions.OUTCOME_TIMEOUT, Duration.ofMinutes(7));

        Configuration job = BackfillPlan.of(FROM, TO, "credit.backfill").jobConfiguration(live);

        assertEquals(Duration.ofSeconds(30), job.get(CheckpointingOptions.CHECKPOINTING_INTERVAL));
        assertEquals(Duration.ofMinutes(7), job.get(JobOptions.OUTCOME_TIMEOUT));
        assertNotEquals(live.get(KafkaOptions.GROUP_ID), job.get(KafkaOptions.GROUP_ID));
        assertEquals(Map.of(), BackfillPlan.of(FROM, TO, "credit.backfill").replacedSettings(live),
                "none of the backfill's own keys was given");
    }

    /** A live setting the backfill replaces is named; one equal to the backfill's as the job reads it is not. */
    @Test
    void theLiveSettingsABackfillReplacesAreNamed() {
        Configuration live = new Configuration();
        live.setString("job.source-idleness", "30 s");
        live.setString("restart-strategy.type", "fixed-delay");
        live.setString("execution.runtime-mode", "streaming");

        assertEquals(Map.of("job.source-idleness", "30 s", "restart-strategy.type", "fixed-delay"),
                BackfillPlan.of(FROM, TO, "credit.backfill").replacedSettings(live));

        live.setString("job.source-idleness", "365 d");
        live.setString("restart-strategy.type", "disable");
        assertEquals(Map.of(), BackfillPlan.of(FROM, TO, "credit.backfill").replacedSettings(live));
    }

    /**
     * Without a checkpoint after the tasks finish, the sinks never commit what they wrote after the last checkpoint
     * before the end of the input: a live setting that turns it off is replaced, and named, under either of its keys.
     */
    @Test
    void theCheckpointAfterTheTasksFinishIsPinnedOn() {
        BackfillPlan plan = BackfillPlan.of(FROM, TO, "credit.backfill");
        String key = CheckpointingOptions.ENABLE_CHECKPOINTS_AFTER_TASKS_FINISH.key();
        Configuration live = new Configuration();
        live.set(CheckpointingOptions.ENABLE_CHECKPOINTS_AFTER_TASKS_FINISH, false);

        assertTrue(plan.jobConfiguration(live).get(CheckpointingOptions.ENABLE_CHECKPOINTS_AFTER_TASKS_FINISH));
        assertEquals(Map.of(key, "false"), plan.replacedSettings(live));
        assertEquals("true", plan.ownSettings(live).get(key), "and so on a cluster");

        Configuration deprecated = new Configuration();
        deprecated.setString(key + ".enabled", "false");
        assertTrue(plan.jobConfiguration(deprecated).get(CheckpointingOptions.ENABLE_CHECKPOINTS_AFTER_TASKS_FINISH));
        assertEquals(Map.of(key, "false"), plan.replacedSettings(deprecated));
    }

    /**
     * Settings of the cluster's deployment would change the local run: its MiniCluster would take the cluster's
     * taskmanager.numberOfTaskSlots as its slots (fewer than the job's parallel tasks starve it), reach for the
     * cluster's high-availability services, and bind the cluster's REST port. Each is left out, with a warning that
     * names the key but not the value (a credential, perhaps).
     */
    @Test
    void theClustersOwnSettingsAreLeftOutOfTheLocalRunWithAWarningEach(@TempDir Path workDir) {
        Configuration live = new Configuration();
        live.setString("taskmanager.numberOfTaskSlots", "1");
        live.setString("high-availability.type", "zookeeper");
        live.setString("high-availability.zookeeper.client.authorization", "digest:secret");
        live.setString("rest.port", "8081");
        live.setString("execution.checkpointing.interval", "10 s");
        List<String> log = new ArrayList<>();

        Configuration local = Backfill.localConfiguration(
                BackfillPlan.of(FROM, TO, "credit.backfill").jobConfiguration(live), workDir, log::add);

        List<String> clusterKeys = List.of("high-availability.type", "high-availability.zookeeper.client.authorization",
                "rest.port", "taskmanager.numberOfTaskSlots");
        clusterKeys.forEach(key -> assertFalse(local.containsKey(key), key));
        assertEquals(clusterKeys, log.stream().map(line -> line.split(" ")[2]).toList(), log.toString());
        assertTrue(log.get(3).startsWith("warning: -D taskmanager.numberOfTaskSlots is left out: the local MiniCluster"
                + " would have that many slots instead of one per parallel task"), log.get(3));
        assertFalse(log.toString().contains("secret"), log.toString());
        assertEquals(Duration.ofSeconds(10), local.get(CheckpointingOptions.CHECKPOINTING_INTERVAL), "the job's own");
    }

    @Test
    void locallyCheckpointsGoToAFileDirectoryUnlessTheLiveSettingsNameOne(@TempDir Path workDir) {
        BackfillPlan plan = BackfillPlan.of(FROM, TO, "credit.backfill");

        // Not the JobManager's memory, which refuses more than 5 MB of state per task: real history has more.
        Configuration local =
                Backfill.localConfiguration(plan.jobConfiguration(new Configuration()), workDir, line -> {});
        String directory = local.get(CheckpointingOptions.CHECKPOINTS_DIRECTORY);
        assertNotNull(directory, "a checkpoint directory");
        URI checkpoints = URI.create(directory);
        assertEquals("file", checkpoints.getScheme(), checkpoints::toString);
        assertTrue(Path.of(checkpoints).startsWith(workDir), checkpoints::toString);

        Configuration live = new Configuration();
        live.set(CheckpointingOptions.CHECKPOINTS_DIRECTORY, "s3://checkpoints/strawless");
        assertEquals("s3://checkpoints/strawless", Backfill.localConfiguration(plan.jobConfiguration(live), workDir,
                line -> {}).get(CheckpointingOptions.CHECKPOINTS_DIRECTORY));
        // What the command prints for a cluster leaves checkpoints to the cluster's own storage.
        assertFalse(plan.ownSettings(new Configuration())
                .containsKey(CheckpointingOptions.CHECKPOINTS_DIRECTORY.key()));
    }

    @Test
    void refusesWhatWouldMixWithTheLiveJobOrNeverEnd() {
        Configuration live = new Configuration();
        assertThrows(IllegalArgumentException.class, () -> BackfillPlan.of(TO, FROM, "credit.backfill"));
        assertThrows(IllegalArgumentException.class,
                () -> BackfillPlan.of(FROM, TO, live.get(KafkaOptions.BATCHES_TOPIC)).jobConfiguration(live));
        assertThrows(IllegalArgumentException.class,
                () -> BackfillPlan.of(FROM, TO, live.get(KafkaOptions.STEPS_TOPIC)).jobConfiguration(live));
        assertThrows(IllegalArgumentException.class,
                () -> new BackfillPlan(FROM, TO, "credit.backfill", live.get(KafkaOptions.DEAD_LETTERS_TOPIC), "u")
                        .jobConfiguration(live));
        // That its own three differ the command checks first, naming its flags (StrawlessCliTest); a plan made
        // otherwise meets the job's own check, which the backfill runs before it touches Kafka.
        IllegalArgumentException shared = assertThrows(IllegalArgumentException.class, () -> Backfill.checkJob(
                new BackfillPlan(FROM, TO, "credit.backfill", "credit.backfill", "u").jobConfiguration(live)));
        assertTrue(shared.getMessage().startsWith("topics.dead-letters and topics.batches are both credit.backfill"),
                shared.getMessage());

        Configuration batch = new Configuration();
        batch.set(ExecutionOptions.RUNTIME_MODE, RuntimeExecutionMode.BATCH);
        assertThrows(IllegalArgumentException.class, () -> BackfillPlan.of(FROM, TO, "credit.backfill")
                .jobConfiguration(batch));

        Configuration restored = new Configuration();
        restored.set(StateRecoveryOptions.SAVEPOINT_PATH, "file:///tmp/savepoint-1");
        IllegalArgumentException refused = assertThrows(IllegalArgumentException.class,
                () -> BackfillPlan.of(FROM, TO, "credit.backfill").jobConfiguration(restored));
        assertTrue(refused.getMessage().contains("FLINK-31006"), refused.getMessage());
    }
}
