package io.strawless.ops.backfill;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.strawless.connectors.KafkaOptions;
import io.strawless.connectors.broker.InProcessKafka;
import io.strawless.ops.StrawlessCli;
import io.strawless.ops.demo.CreditOutput;
import io.strawless.ops.demo.DemoRun;
import io.strawless.ops.fleet.FleetRecord;
import io.strawless.ops.fleet.FleetSettings;
import io.strawless.pipeline.credit.CreditConfig;
import io.strawless.pipeline.credit.CreditOptions;
import io.strawless.pipeline.credit.Estimator;
import io.strawless.schemas.ScoredStep;
import io.strawless.schemas.ScoredTrajectory;
import io.strawless.schemas.TrainingBatch;
import io.strawless.schemas.UnscoredReason;
import io.strawless.schemas.UnscoredTrajectory;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.function.Function;
import java.util.stream.Collectors;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.configuration.CoreOptions;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.Config;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.config.ConfigResource;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * A live run first (the demo's: a synthetic fleet against the unbounded job, drained at the end), then
 * backfills of the same period: with the live estimator they reproduce the live scored steps; with another
 * estimator they carry its fingerprint.
 *
 * <p>The estimator is grpo: a group's advantages depend only on its members. The default {@code outcome}
 * estimator's per-task baseline depends on the order in which a task's trajectories complete, which two
 * runs reading three topics at their own pace need not share.
 */
class BackfillReplayTest {

    private static final FleetSettings FLEET = new FleetSettings(20, 8, 320, 4, 3, 12, 0.02, 0.05, 0.2, 11);
    /** Advantages may come from float kernels (OpenCL) in one run and Java in the other. */
    private static final double TOLERANCE = 1e-5;

    @RegisterExtension
    static final InProcessKafka kafka = new InProcessKafka();

    @Test
    void replayingAScoredPeriodReproducesTheScoredStepsAndAnotherEstimatorCarriesItsFingerprint() throws Exception {
        Configuration live = new Configuration();
        live.set(KafkaOptions.BOOTSTRAP_SERVERS, kafka.bootstrapServers());
        live.set(KafkaOptions.TOPIC_PARTITIONS, 1);
        live.set(CoreOptions.DEFAULT_PARALLELISM, 2);
        live.set(CreditOptions.ESTIMATOR, Estimator.GRPO);
        DemoRun.Result liveRun = DemoRun.run(live, FLEET, line -> { });
        CreditOutput liveOutput = liveRun.output();
        List<Long> timestamps = liveRun.script().records().stream().map(FleetRecord::timestamp).sorted().toList();
        Instant from = Instant.ofEpochMilli(timestamps.get(0));
        Instant to = Instant.ofEpochMilli(timestamps.get(timestamps.size() - 1) + 1);

        // The same estimator and configuration, through the API.
        Configuration sameConf = BackfillPlan.of(from, to, "credit.backfill.same").jobConfiguration(live);
        List<String> progress = new ArrayList<>();
        Backfill.Result same = Backfill.run(sameConf, progress::add);
        CreditOutput replay = CreditOutput.readCommitted(sameConf);

        assertEquals(liveRun.recordsIn().values().stream().mapToLong(Long::longValue).sum(), same.rangeRecords(),
                "the range covers every input record");
        assertEquals(same.rangeRecords(), same.recordsRead(), "the job read every record of the range");
        assertTrue(same.incomplete().isEmpty(), same.incomplete()::toString);
        assertEquals(List.of(), same.bookProblems(), "the books balance and agree with the dead-letter topic");
        assertSameScoredSteps(liveOutput, replay);
        assertEquals(fingerprints(liveOutput), fingerprints(replay));
        assertEquals(timedOut(liveOutput), timedOut(replay),
                "the same trajectories time out (event time, not wall time)");
        assertEquals(liveOutput.deadLetters().size(), replay.deadLetters().size(),
                "the same records are dead-lettered");
        assertEquals(replay.batches().size(), same.output().batches(), "the tally counts what a trainer reads");
        assertEquals(replay.scoredSteps(), same.output().steps());
        assertTrue(progress.get(progress.size() - 1).contains("100%"), progress.toString());

        // Another estimator, through the command line as a user runs it, with the live job's -D settings.
        StringWriter out = new StringWriter();
        int exitCode = StrawlessCli.commandLine().setOut(new PrintWriter(out)).execute("backfill",
                "--from", from.toString(), "--to", Long.toString(to.toEpochMilli()), "--estimator", "rloo",
                "--output-topic", "credit.backfill.rloo",
                "-D", "kafka.bootstrap-servers=" + kafka.bootstrapServers(), "-D", "topics.partitions=1",
                "-D", "credit.estimator=grpo");
        assertEquals(0, exitCode, out.toString());
        Configuration rlooConf = BackfillPlan.of(from, to, "credit.backfill.rloo").jobConfiguration(live);
        rlooConf.set(CreditOptions.ESTIMATOR, Estimator.RLOO);
        CreditOutput rloo = CreditOutput.readCommitted(rlooConf);
        String rlooFingerprint = CreditConfig.from(rlooConf).fingerprint();
        assertEquals(Set.of("rloo " + rlooFingerprint), fingerprints(rloo));
        assertNotEquals(fingerprints(liveOutput), fingerprints(rloo));
        assertEquals(scoredSteps(liveOutput).keySet(), scoredSteps(rloo).keySet(),
                "the same trajectories, scored anew");
        assertTrue(out.toString().contains("Backfill finished"), out.toString());
        assertTrue(out.toString().contains("rloo " + rlooFingerprint), out.toString());
        assertTrue(out.toString().contains("The job's books: in = batched + dead-lettered + unscored + dropped"),
                out.toString());
        assertFalse(out.toString().contains("MISMATCH"), out.toString());

        // A failure ends a backfill (it never restarts: see BackfillPlan), with the cause on the command line.
        StringWriter failedOut = new StringWriter();
        StringWriter failedErr = new StringWriter();
        int failed = StrawlessCli.commandLine().setOut(new PrintWriter(failedOut)).setErr(new PrintWriter(failedErr))
                .execute("backfill", "--from", from.toString(), "--to", to.toString(), "--output-topic",
                        "credit.backfill.failed",
                        "-D", "kafka.bootstrap-servers=" + kafka.bootstrapServers(),
                        "-D", "debug.inject-failures=1", "-D", "debug.inject-failure-after=100");
        assertEquals(1, failed, failedOut.toString());
        assertTrue(failedErr.toString().contains("injected failure"), failedErr.toString());
    }

    /** A run into an output topic emptied since an earlier run must not report that run's position. */
    @Test
    void aBackfillForgetsTheCommitsOfAnEarlierRunIntoTheSameTopic() throws Exception {
        Configuration live = new Configuration();
        live.set(KafkaOptions.BOOTSTRAP_SERVERS, kafka.bootstrapServers());
        Configuration jobConf = BackfillPlan.of(Instant.EPOCH, Instant.now(), "credit.backfill.again").jobConfiguration(live);
        String group = jobConf.get(KafkaOptions.GROUP_ID);
        try (Admin admin = Admin.create(Map.<String, Object>of("bootstrap.servers", kafka.bootstrapServers()))) {
            admin.createTopics(List.of(new NewTopic("agent.steps.again", 1, (short) 1))).all().get();
            admin.alterConsumerGroupOffsets(group, Map.of(new TopicPartition("agent.steps.again", 0),
                    new OffsetAndMetadata(0))).all().get();
            assertEquals(1, admin.listConsumerGroupOffsets(group).partitionsToOffsetAndMetadata().get().size());

            List<String> log = new ArrayList<>();
            Backfill.forgetEarlierRuns(jobConf, admin, log::add);
            assertTrue(admin.listConsumerGroupOffsets(group).partitionsToOffsetAndMetadata().get().isEmpty());
            Backfill.forgetEarlierRuns(jobConf, admin, log::add); // no group: nothing to forget
            assertEquals(List.of(), log);
        }
    }

    /**
     * A topic that differs from topics.* is one warning line each, and the backfill goes on; an output topic that
     * cannot take the job's largest record stops it before the job starts (the job would fail midway).
     */
    @Test
    void driftIsReportedAndAnOutputTopicTooSmallForTheJobsRecordsStopsTheBackfill() throws Exception {
        Configuration live = liveReading("drift");
        BackfillPlan plan = BackfillPlan.of(Instant.EPOCH, Instant.now(), "drift.backfill");
        try (Admin admin = Admin.create(Map.<String, Object>of("bootstrap.servers", kafka.bootstrapServers()))) {
            admin.createTopics(List.of(
                    new NewTopic("drift.steps", 1, (short) 1), // topics.partitions is 4
                    new NewTopic("drift.outcomes", 4, (short) 1),
                    new NewTopic("drift.verdicts", 4, (short) 1),
                    new NewTopic(plan.deadLetterTopic(), 2, (short) 1))).all().get();
        }

        List<String> log = new ArrayList<>();
        Backfill.prepareTopics(plan.jobConfiguration(live), log::add);

        assertEquals(List.of(
                "warning: input topic drift.steps: DRIFT partitions 1, configured 4",
                "warning: output topic drift.backfill.dlq: DRIFT partitions 2, configured 4"), log);

        BackfillPlan small = BackfillPlan.of(Instant.EPOCH, Instant.now(), "drift.small");
        try (Admin admin = Admin.create(Map.<String, Object>of("bootstrap.servers", kafka.bootstrapServers()))) {
            admin.createTopics(List.of(new NewTopic(small.unscoredTopic(), 4, (short) 1)
                    .configs(Map.of("max.message.bytes", "500000")))).all().get();
        }
        log.clear();
        IllegalStateException tooSmall = assertThrows(IllegalStateException.class,
                () -> Backfill.prepareTopics(small.jobConfiguration(live), log::add));

        assertTrue(tooSmall.getMessage().startsWith("output topics [drift.small.unscored] cannot take the records the"
                + " job writes (max.message.bytes 500000, kafka.max-record-bytes=1000000 needs at least 1001024)"),
                tooSmall.getMessage());
        assertTrue(log.contains("warning: output topic drift.small.unscored: DRIFT max.message.bytes 500000,"
                + " kafka.max-record-bytes=1000000 needs at least 1001024"), log.toString());
    }

    /**
     * A compacted dead-letter topic refuses a dead letter without a key (TopicProvisioner), so the job would fail on
     * one after committing part of its output: the backfill stops before its job starts, as the cluster's entry point
     * does.
     */
    @Test
    void anOutputTopicThatRefusesTheJobsWritesStopsTheBackfill() throws Exception {
        Configuration live = liveReading("compact");
        live.set(KafkaOptions.TOPIC_PARTITIONS, 1);
        BackfillPlan plan = BackfillPlan.of(Instant.EPOCH, Instant.now(), "compact.backfill");
        try (Admin admin = Admin.create(Map.<String, Object>of("bootstrap.servers", kafka.bootstrapServers()))) {
            admin.createTopics(List.of(new NewTopic(plan.deadLetterTopic(), 1, (short) 1)
                    .configs(Map.of("cleanup.policy", "compact")))).all().get();
        }

        IllegalStateException refused = assertThrows(IllegalStateException.class,
                () -> Backfill.prepareTopics(plan.jobConfiguration(live), line -> {}));

        assertEquals("output topics [compact.backfill.dlq] cannot take the records the job writes (cleanup.policy"
                + " compact, configured delete): choose other output topics, or change these (kafka-configs.sh)",
                refused.getMessage());
    }

    /** An output topic that holds records refuses the backfill before it makes any topic: the cluster stays as it was. */
    @Test
    void anOutputTopicThatHoldsRecordsIsRefusedBeforeAnyTopicIsMade() throws Exception {
        Configuration live = liveReading("held");
        BackfillPlan plan = BackfillPlan.of(Instant.EPOCH, Instant.now(), "held.backfill");
        try (Admin admin = Admin.create(Map.<String, Object>of("bootstrap.servers", kafka.bootstrapServers()))) {
            admin.createTopics(List.of(new NewTopic(plan.outputTopic(), 1, (short) 1))).all().get();
        }
        try (KafkaProducer<byte[], byte[]> producer = new KafkaProducer<>(Map.<String, Object>of(
                "bootstrap.servers", kafka.bootstrapServers()), new ByteArraySerializer(), new ByteArraySerializer())) {
            producer.send(new ProducerRecord<>(plan.outputTopic(), new byte[] {1})).get();
        }

        IllegalStateException held = assertThrows(IllegalStateException.class,
                () -> Backfill.prepareTopics(plan.jobConfiguration(live), line -> {}));

        assertTrue(held.getMessage().startsWith("output topic held.backfill already holds 1 records"), held.getMessage());
        try (Admin admin = Admin.create(Map.<String, Object>of("bootstrap.servers", kafka.bootstrapServers()))) {
            Set<String> topics = admin.listTopics().names().get();
            for (String made : List.of("held.steps", plan.deadLetterTopic(), plan.unscoredTopic())) {
                assertFalse(topics.contains(made), made + " was made");
            }
        }
    }

    /**
     * The output topics a backfill creates get --output-retention (forever: -1), not the input topics' retention:
     * backfilled batches are kept for research. Without it they get topics.retention, as the inputs do.
     */
    @Test
    void outputTopicsAreCreatedWithTheOutputRetention() throws Exception {
        Configuration live = liveReading("kept");
        live.set(KafkaOptions.TOPIC_PARTITIONS, 1);
        live.set(KafkaOptions.TOPIC_RETENTION, Duration.ofDays(3));
        try (Admin admin = Admin.create(Map.<String, Object>of("bootstrap.servers", kafka.bootstrapServers()))) {
            admin.createTopics(List.of(
                    new NewTopic("kept.steps", 1, (short) 1).configs(Map.of("retention.ms", "259200000")),
                    new NewTopic("kept.outcomes", 1, (short) 1).configs(Map.of("retention.ms", "259200000")),
                    new NewTopic("kept.verdicts", 1, (short) 1).configs(Map.of("retention.ms", "259200000"))))
                    .all().get();
        }
        BackfillPlan forever = BackfillPlan.of(Instant.EPOCH, Instant.now(), "kept.forever");
        BackfillPlan unchanged = BackfillPlan.of(Instant.EPOCH, Instant.now(), "kept.unchanged");
        List<String> log = new ArrayList<>();

        Backfill.prepareTopics(forever.jobConfiguration(live), Backfill.FOREVER, log::add);
        Backfill.prepareTopics(unchanged.jobConfiguration(live), log::add);

        assertEquals(List.of(), log, "no drift: inputs checked against topics.retention, outputs as created");
        Map<String, String> retention = retentionMs(List.of("kept.steps", forever.outputTopic(),
                forever.deadLetterTopic(), forever.unscoredTopic(), unchanged.outputTopic()));
        assertEquals(Map.of("kept.steps", "259200000", forever.outputTopic(), "-1", forever.deadLetterTopic(), "-1",
                forever.unscoredTopic(), "-1", unchanged.outputTopic(), "259200000"), retention);
    }

    private static Map<String, String> retentionMs(List<String> topics) throws Exception {
        try (Admin admin = Admin.create(Map.<String, Object>of("bootstrap.servers", kafka.bootstrapServers()))) {
            Map<ConfigResource, Config> configs = admin.describeConfigs(topics.stream()
                    .map(topic -> new ConfigResource(ConfigResource.Type.TOPIC, topic)).toList()).all().get();
            return configs.entrySet().stream().collect(Collectors.toMap(e -> e.getKey().name(),
                    e -> e.getValue().get("retention.ms").value()));
        }
    }

    private static void assertSameScoredSteps(CreditOutput expected, CreditOutput actual) {
        Map<String, List<ScoredStep>> want = scoredSteps(expected);
        Map<String, List<ScoredStep>> got = scoredSteps(actual);
        assertEquals(want.keySet(), got.keySet(), "the same trajectories are scored");
        want.forEach((id, steps) -> {
            List<ScoredStep> replayed = got.get(id);
            assertEquals(steps.size(), replayed.size(), id);
            for (int i = 0; i < steps.size(); i++) {
                assertEquals(steps.get(i).getStepIndex(), replayed.get(i).getStepIndex(), id);
                double advantage = steps.get(i).getAdvantage();
                assertEquals(advantage, replayed.get(i).getAdvantage(), TOLERANCE * Math.max(1, Math.abs(advantage)),
                        id + " step " + i + " advantage");
            }
        });
    }

    /** Each trajectory's scored steps, by trajectory id; a trajectory scored twice fails. */
    private static Map<String, List<ScoredStep>> scoredSteps(CreditOutput output) {
        return output.scoredTrajectories().collect(Collectors.toMap(ScoredTrajectory::getTrajectoryId,
                ScoredTrajectory::getSteps, (a, b) -> {
                    throw new AssertionError("a trajectory is scored twice");
                }, TreeMap::new));
    }

    private static Set<String> fingerprints(CreditOutput output) {
        return output.batches().stream().map(b -> b.getEstimator() + " " + b.getConfigFingerprint())
                .collect(Collectors.toSet());
    }

    private static Map<String, Integer> timedOut(CreditOutput output) {
        return output.unscored().stream().filter(u -> u.getReason() == UnscoredReason.OUTCOME_TIMEOUT)
                .collect(Collectors.toMap(UnscoredTrajectory::getTrajectoryId, u -> u.getSteps().size(), (a, b) -> {
                    throw new AssertionError("a trajectory timed out twice");
                }, TreeMap::new));
    }

    /** The live job's settings on the test's broker, its input topics {@code <prefix>.steps}, outcomes and verdicts. */
    private static Configuration liveReading(String prefix) {
        Configuration live = new Configuration();
        live.set(KafkaOptions.BOOTSTRAP_SERVERS, kafka.bootstrapServers());
        live.set(KafkaOptions.STEPS_TOPIC, prefix + ".steps");
        live.set(KafkaOptions.OUTCOMES_TOPIC, prefix + ".outcomes");
        live.set(KafkaOptions.VERDICTS_TOPIC, prefix + ".verdicts");
        return live;
    }
}
