package io.strawless.ops.backfill;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.strawless.connectors.KafkaOptions;
import io.strawless.connectors.broker.EmbeddedKafka;
import io.strawless.connectors.broker.InProcessKafka;
import io.strawless.connectors.topics.KafkaUnreachableException;
import io.strawless.ops.StrawlessCli;
import io.strawless.schemas.OutcomeEvent;
import io.strawless.schemas.StepEvent;
import io.strawless.schemas.TerminalKind;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.io.Writer;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.apache.flink.configuration.Configuration;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.admin.RecordsToDelete;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.KafkaException;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.acl.AccessControlEntry;
import org.apache.kafka.common.acl.AclBinding;
import org.apache.kafka.common.acl.AclOperation;
import org.apache.kafka.common.acl.AclPermissionType;
import org.apache.kafka.common.resource.PatternType;
import org.apache.kafka.common.resource.ResourcePattern;
import org.apache.kafka.common.resource.ResourceType;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * What a backfill checks before its job runs, and after: a range that holds no records, or starts before what
 * retention has kept, missing input topics, settings the job refuses (a reporter list its books would not reach among
 * them), records deleted before the job read them (and after, which is no loss, as are commit markers), a broker
 * that does not answer, a cluster that does not let it delete its consumer group; and a topic that carries two input
 * kinds (what the books say once the job has run: {@link BackfillBookProblemsTest}). Inputs are a few undecodable
 * records (each one a dead letter) on a steps topic of one partition, one second apart, two hours ago.
 */
class BackfillChecksTest {

    private static final int RECORDS = 10;
    private static final byte[] NOT_AVRO = "not avro".getBytes(StandardCharsets.UTF_8);

    @RegisterExtension
    static final InProcessKafka kafka = new InProcessKafka();

    /** Retention took the first records of the range: refused, unless asked to replay what is left. */
    @Test
    void aRangeThatStartsBeforeWhatRetentionKeptIsRefusedUnlessAllowed() throws Exception {
        Instant first = inputs("gap", RECORDS);
        deleteRecordsBefore("gap.steps", 4);

        Outcome refused = backfill("gap", "--from", first.toString(), "--to", first.plusSeconds(60).toString(),
                "--output-topic", "gap.out");

        assertEquals(1, refused.exitCode(), refused.all());
        assertTrue(refused.err().contains("warning: input topic gap.steps holds records only from "
                + first.plusSeconds(4) + " on in partitions [0] (retention deleted the earlier ones): the range starts"
                + " there, not at --from " + first), refused.err());
        assertEquals("strawless backfill: --from " + first + " is earlier than the input topics still hold (see the"
                + " warnings): records of the range may have been deleted by retention. Pass --from "
                + first.plusSeconds(4) + " or later, or --allow-retention-gap to replay what is left",
                refused.lastErrorLine());
        assertFalse(topicExists("gap.out"), "refused before the output topics are created");

        Outcome allowed = backfill("gap", "--from", first.toString(), "--to", first.plusSeconds(60).toString(),
                "--output-topic", "gap.out", "--allow-retention-gap");

        assertEquals(0, allowed.exitCode(), allowed.all());
        assertTrue(allowed.err().contains("warning: input topic gap.steps holds records only from"), allowed.err());
        assertFalse(allowed.out().contains("warning:"), "warnings on standard error only");
        assertTrue(allowed.out().contains("Backfill finished: 6 input records replayed, of 6 in the range"),
                allowed.out());

        // A --from within what is kept is no gap, though the log no longer starts at offset 0.
        Outcome within = backfill("gap", "--from", first.plusSeconds(4).toString(), "--to",
                first.plusSeconds(60).toString(), "--output-topic", "gap.within");
        assertEquals(0, within.exitCode(), within.all());
        assertFalse(within.out().contains("warning"), within.out());
    }

    /**
     * Records of the range deleted after it was counted, just before the job starts: the job goes on from the
     * earliest record left (not the partition's end: it reads the 7 left), and the backfill fails naming the
     * shortfall rather than reporting 100% and exit code 0.
     */
    @Test
    void recordsDeletedBeforeTheJobReadThemFailTheBackfillNamingTheShortfall() throws Exception {
        Instant first = inputs("cut", RECORDS);
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();

        // As the backfill prints "reading ...": after it counted the range, before its job starts.
        int exitCode = StrawlessCli.commandLine().setOut(new PrintWriter(deletingOn("reading ", "cut.steps", 3, out)))
                .setErr(new PrintWriter(err))
                .execute(withInputs("cut", "--from", first.toString(), "--to", first.plusSeconds(60).toString(),
                        "--output-topic", "cut.out"));

        assertEquals(1, exitCode, out + "\n" + err);
        assertTrue(out.toString().contains("reading 10 offsets of the input topics"), out.toString());
        assertTrue(out.toString().contains("Backfill finished: 7 input records replayed, of 10 in the range"),
                out.toString());
        assertEquals("strawless backfill: up to 3 input records of the range were deleted before the job read them"
                + " (retention?): 3 in cut.steps-0. Its output lacks them: replay a later --from, or raise the input"
                + " topics' retention.ms, into a fresh output topic", err.toString().strip());
    }

    /**
     * Transactional producers' commit markers take offsets of the range that no reader sees, so the job reads fewer
     * records than the range has offsets: no loss, and the backfill ends with exit code 0. Its last progress line
     * counts offsets, as the ones before it (all of them: the job read every partition to its stop), and the records
     * read apart.
     */
    @Test
    void commitMarkersOfTransactionalInputAreNoLoss() throws Exception {
        Instant first = transactionalInputs("txn", 3, 4);
        Instant to = first.plus(1, ChronoUnit.HOURS);

        Outcome outcome = backfill("txn", "--from", first.toString(), "--to", to.toString(), "--output-topic",
                "txn.out");

        assertEquals(0, outcome.exitCode(), outcome.all());
        assertTrue(outcome.out().contains("100%  15 / 15 offsets, read up to " + to + " of " + to + "; job finished,"
                + " 12 input records read (its books)"), outcome.out());
        assertTrue(outcome.out().contains("Backfill finished: 12 input records replayed, of 15 in the range"),
                outcome.out());
    }

    /**
     * The range sees the position the job's source commits at each checkpoint, which lags what it has read by up to a
     * checkpoint interval. Here none was committed (as when the job reads the whole range before its first checkpoint
     * completes) when retention deleted half the range: the range counts those records as deleted unread. The job's
     * books, which count every record it read, bound the loss: none where it read all the range's offsets, else at
     * most the offsets it did not read (with transactional input, some of those are commit markers).
     */
    @Test
    void recordsDeletedAfterTheJobReadThemButBeforeACheckpointCommittedItsPositionAreNoLoss() throws Exception {
        Instant first = inputs("lag", RECORDS);
        Configuration jobConf = BackfillPlan.of(first, first.plusSeconds(60), "lag.out")
                .jobConfiguration(liveConf("lag"));
        TopicPartition steps = new TopicPartition("lag.steps", 0);

        try (InputRange range = InputRange.of(jobConf)) {
            deleteRecordsBefore("lag.steps", 5);
            range.jobFinished();

            assertEquals(Map.of(steps, 5L), range.deletedUnread(), "the committed position alone cannot tell");
            assertEquals(Optional.empty(), Backfill.shortfall(range.deletedUnread(), range.target(), RECORDS));
            assertEquals(Optional.of("up to 2 input records of the range were deleted before the job read them"
                    + " (retention?): 2 in lag.steps-0. Its output lacks them: replay a later --from, or raise the"
                    + " input topics' retention.ms, into a fresh output topic"),
                    Backfill.shortfall(range.deletedUnread(), range.target(), RECORDS - 2));
        }
        // Fewer deleted than not read: the count stands. Transactional input, 12 records and 3 commit markers, 10
        // offsets deleted: at most the 3 offsets not read.
        assertTrue(Backfill.shortfall(Map.of(steps, 2L), 15, 12).orElseThrow().startsWith("up to 2 input records"));
        assertTrue(Backfill.shortfall(Map.of(steps, 10L), 15, 12).orElseThrow()
                .contains("up to 3 input records of the range were deleted before the job read them (retention?): 3 in"
                        + " lag.steps-0."));
    }

    /**
     * What the range notes as deleted before the job read it, look by look, the job's position being what its source
     * commits to the backfill's consumer group (set here as the source would): three transactions of 4 records, each
     * followed by its commit marker (offsets 4, 9 and 14).
     */
    @Test
    void onlyRecordsDeletedBeforeTheJobReadThemCountAsLost() throws Exception {
        Instant first = transactionalInputs("look", 3, 4);
        Configuration jobConf = BackfillPlan.of(first, first.plus(1, ChronoUnit.HOURS), "look.out")
                .jobConfiguration(liveConf("look"));
        String group = jobConf.get(KafkaOptions.GROUP_ID);
        TopicPartition steps = new TopicPartition("look.steps", 0);

        try (InputRange range = InputRange.of(jobConf); Admin admin = admin()) {
            assertEquals(15, range.target(), "12 records, 3 commit markers");
            assertEquals(0, range.position().read());

            // The source read two transactions: its position is the second one's commit marker, which it never sees.
            admin.alterConsumerGroupOffsets(group, Map.of(steps, new OffsetAndMetadata(9))).all().get();
            assertEquals(10, range.position().read(), "the marker after the last record read counts as read");
            // Retention deletes what the job read, the marker included: nothing lost.
            deleteRecordsBefore("look.steps", 10);
            range.position();
            assertEquals(Map.of(), range.deletedUnread());
            // Then two records it had not read: lost (the source goes on from the earliest record left).
            deleteRecordsBefore("look.steps", 12);
            range.position();
            assertEquals(Map.of(steps, 2L), range.deletedUnread());

            // It reads the rest, up to the last commit marker: all read; deleting that marker loses nothing more.
            admin.alterConsumerGroupOffsets(group, Map.of(steps, new OffsetAndMetadata(14))).all().get();
            assertEquals(15, range.position().read());
            deleteRecordsBefore("look.steps", 15);
            range.jobFinished();
            assertEquals(Map.of(steps, 2L), range.deletedUnread());
        }
    }

    /**
     * An empty range is refused before anything is created; a --to later than now is a warning, and so is a live
     * setting the backfill replaces.
     */
    @Test
    void anEmptyRangeIsRefusedAndAToLaterThanNowIsAWarning() throws Exception {
        inputs("empty", 0);
        Instant now = Instant.now().truncatedTo(ChronoUnit.MILLIS); // the resolution of Kafka timestamps

        Outcome outcome = backfill("empty", "--from", now.minus(1, ChronoUnit.HOURS).toString(), "--to",
                now.plus(1, ChronoUnit.HOURS).toString(), "--output-topic", "empty.out",
                "-D", "job.source-idleness=30s");

        assertEquals(1, outcome.exitCode(), outcome.all());
        assertTrue(outcome.err().contains("warning: -D job.source-idleness=30s is replaced by 365d for the backfill"),
                outcome.err());
        assertTrue(outcome.err().contains("warning: --to " + now.plus(1, ChronoUnit.HOURS) + " is later than now"),
                outcome.err());
        assertEquals("strawless backfill: no input records in [empty.steps, empty.outcomes, empty.verdicts] between"
                + " --from " + now.minus(1, ChronoUnit.HOURS) + " and --to " + now.plus(1, ChronoUnit.HOURS)
                + ": check the range (Kafka timestamps, the producers' create times) and kafka.bootstrap-servers",
                outcome.lastErrorLine());
        assertFalse(topicExists("empty.out"), "refused before the output topics are created");

        // So are input topics that do not exist, naming the settings that say which topics the live job reads.
        Outcome absent = backfill("absent", "--from", now.minus(1, ChronoUnit.HOURS).toString(), "--to",
                now.toString(), "--output-topic", "absent.out");
        assertEquals(1, absent.exitCode(), absent.all());
        assertEquals("strawless backfill failed: input topics [absent.steps, absent.outcomes, absent.verdicts] do not"
                + " exist at " + kafka.bootstrapServers() + ": nothing to replay. Pass the live job's -D topics.steps,"
                + " -D topics.outcomes and -D topics.verdicts (the topics it reads)", absent.lastErrorLine());
        assertFalse(topicExists("absent.out"), "refused before the output topics are created");
    }

    /**
     * One topic may carry several input kinds (here steps and outcomes): the backfill counts and reads each of its
     * partitions once, and prints the job's books, which balance. A cluster's taskmanager.numberOfTaskSlots (1, below
     * the parallelism of 2) is left out of the local run, which would otherwise wait for a second slot, then fail.
     */
    @Test
    void aTopicCarryingTwoInputKindsIsReplayedOnceWithBalancedBooks() throws Exception {
        Instant first = inputs("shared", 0);
        try (KafkaProducer<byte[], byte[]> producer = producer(Map.of())) {
            for (String trajectory : List.of("t0", "t1")) {
                for (int step = 0; step < 2; step++) {
                    send(producer, "shared.steps", first.plusSeconds(step), trajectory, bytes(StepEvent.newBuilder()
                            .setTrajectoryId(trajectory).setStepIndex(step).setAgentId("a").setTaskId("task")
                            .setEventTime(first.plusSeconds(step))
                            .setTerminal(step == 1 ? TerminalKind.TERMINATED : TerminalKind.NONE)
                            .build().toByteBuffer()));
                }
                send(producer, "shared.steps", first.plusSeconds(2), trajectory, bytes(OutcomeEvent.newBuilder()
                        .setTrajectoryId(trajectory).setReward(1.0).setSuccess(true)
                        .setEventTime(first.plusSeconds(2)).build().toByteBuffer()));
            }
        }

        Outcome outcome = execute("backfill", "--from", first.toString(), "--to", first.plusSeconds(60).toString(),
                "--output-topic", "shared.out", "--parallelism", "2",
                "-D", "kafka.bootstrap-servers=" + kafka.bootstrapServers(), "-D", "topics.partitions=1",
                "-D", "topics.steps=shared.steps", "-D", "topics.outcomes=shared.steps",
                "-D", "topics.verdicts=shared.verdicts", "-D", "taskmanager.numberOfTaskSlots=1");

        assertEquals(0, outcome.exitCode(), outcome.all());
        assertTrue(outcome.out().contains("Backfill finished: 6 input records replayed, of 6 in the range"
                + " {shared.steps=6, shared.verdicts=0}"), outcome.out());
        assertTrue(outcome.out().contains("2 trajectories scored (4 steps) in 1 batches"), outcome.out());
        for (String book : List.of("steps 4 = 4 + 0 + 0 + 0 ok", "outcomes 2 = 2 + 0 + 0 + 0 ok",
                "verdicts 0 = 0 + 0 + 0 + 0 ok")) {
            assertTrue(outcome.out().replaceAll(" +", " ").contains(book), outcome.out());
        }
        assertTrue(outcome.err().contains("warning: -D taskmanager.numberOfTaskSlots is left out"), outcome.err());
    }

    /**
     * A setting the job refuses is a usage error (exit code 2) that names the key, and leaves the cluster as it
     * was: no output topic created, the consumer group of an earlier run not deleted.
     */
    @Test
    void settingsTheJobRefusesAreUsageErrorsBeforeAnySideEffect() throws Exception {
        Instant first = inputs("tt", RECORDS);
        String group = "strawless-backfill-tt.out";
        try (Admin admin = admin()) {
            admin.alterConsumerGroupOffsets(group, Map.of(new TopicPartition("tt.steps", 0), new OffsetAndMetadata(2)))
                    .all().get();
        }

        Outcome outcome = backfill("tt", "--from", first.toString(), "--to", first.plusSeconds(60).toString(),
                "--output-topic", "tt.out", "-D", "kafka.transaction-timeout=1min",
                "-D", "execution.checkpointing.timeout=2min");

        assertEquals(2, outcome.exitCode(), outcome.all());
        assertTrue(outcome.err().contains("kafka.transaction-timeout (PT1M) must exceed"), outcome.err());
        assertFalse(topicExists("tt.out"), "no output topic created");

        // So are a topics.* setting the provisioner refuses and a kafka.client.* value the admin client refuses, as
        // for 'strawless topics', naming the key, before anything is asked of Kafka.
        Outcome topics = backfill("tt", "--from", first.toString(), "--to", first.plusSeconds(60).toString(),
                "--output-topic", "tt.out", "-D", "topics.min-insync-replicas=2");
        assertEquals(2, topics.exitCode(), topics.all());
        assertTrue(topics.err().startsWith("topics.min-insync-replicas=2 exceeds"), topics.err());
        Outcome client = backfill("tt", "--from", first.toString(), "--to", first.plusSeconds(60).toString(),
                "--output-topic", "tt.out", "-D", "kafka.client.security.protocol=BANANA");
        assertEquals(2, client.exitCode(), client.all());
        assertTrue(client.err().startsWith("bad kafka.client.* setting:") && client.err().contains("security.protocol"),
                client.err());
        // A reporter list without the books' reporter would leave the books at 0, found only once the whole range
        // was replayed.
        Outcome unreported = backfill("tt", "--from", first.toString(), "--to", first.plusSeconds(60).toString(),
                "--output-topic", "tt.out", "-D", "metrics.reporters=jmx");
        assertEquals(2, unreported.exitCode(), unreported.all());
        assertTrue(unreported.err().startsWith("metrics.reporters=jmx leaves out the reporter the job's books are read"
                + " through: -D metrics.reporters must name strawless-demo, or be left unset"), unreported.err());
        assertFalse(topicExists("tt.out"), "no output topic created");

        // A transaction timeout the broker refuses (its transaction.max.timeout.ms, 15 min) would fail every
        // transaction after the topics were made: refused before, as the cluster's entry point refuses it.
        Outcome limit = backfill("tt", "--from", first.toString(), "--to", first.plusSeconds(60).toString(),
                "--output-topic", "tt.out", "-D", "kafka.transaction-timeout=20min");
        assertEquals(1, limit.exitCode(), limit.all());
        assertTrue(limit.lastErrorLine().startsWith("strawless backfill: kafka.transaction-timeout (PT20M) exceeds"
                + " broker"), limit.err());
        assertFalse(topicExists("tt.out"), "no output topic created");
        try (Admin admin = admin()) {
            assertEquals(1, admin.listConsumerGroupOffsets(group).partitionsToOffsetAndMetadata().get().size(),
                    "the group is still there");
        }
    }

    /** Each admin call gives up after kafka.admin-timeout, with the one line every tool prints, not after a minute. */
    @Test
    void anUnreachableBrokerFailsWithinTheAdminTimeout() {
        Configuration conf = BackfillPlan.of(Instant.parse("2026-11-25T00:00:00Z"),
                Instant.parse("2026-11-26T00:00:00Z"), "nowhere").jobConfiguration(new Configuration());
        conf.set(KafkaOptions.BOOTSTRAP_SERVERS, "localhost:1");
        conf.set(KafkaOptions.ADMIN_TIMEOUT, Duration.ofSeconds(1));
        String expected = "Kafka broker not reachable at localhost:1 within 1s (set kafka.bootstrap-servers)";

        KafkaUnreachableException range = assertTimeoutPreemptively(Duration.ofSeconds(20),
                () -> assertThrows(KafkaUnreachableException.class, () -> InputRange.of(conf)));
        assertEquals(expected, range.getMessage());
        KafkaUnreachableException tally = assertTimeoutPreemptively(Duration.ofSeconds(20),
                () -> assertThrows(KafkaUnreachableException.class, () -> OutputTally.read(conf)));
        assertEquals(expected, tally.getMessage());
    }

    /** A progress consumer that cannot be made leaves no admin client (and its thread) behind. */
    @Test
    void aRangeWhoseConsumerCannotBeMadeClosesItsAdminClient() throws Exception {
        Instant first = inputs("leak", 1);
        Configuration conf = liveConf("leak");
        conf.setString(KafkaOptions.CLIENT_PREFIX + "client.id", "range-leak-check");
        // A consumer's setting out of range; the admin client does not know the key.
        conf.setString(KafkaOptions.CLIENT_PREFIX + "fetch.max.bytes", "-1");
        Configuration jobConf = BackfillPlan.of(first, first.plusSeconds(60), "leak.out").jobConfiguration(conf);

        assertThrows(KafkaException.class, () -> InputRange.of(jobConf));

        assertFalse(Thread.getAllStackTraces().keySet().stream()
                        .anyMatch(t -> t.isAlive() && t.getName().endsWith("| range-leak-check")),
                "an admin client thread of the failed range is still running");
    }

    /**
     * Where ACLs do not let the backfill delete its group, it warns, naming the ACL, and goes on: the job reads
     * the range's offsets whatever the group holds; only the progress line may start from an earlier run's.
     */
    @Test
    void aGroupTheBackfillMayNotDeleteIsAWarningNamingTheAcl() throws Exception {
        String group = "strawless-backfill-acl.out";
        // Anyone may do anything but delete the group: an ACL on a resource ends the default allowance there.
        ResourcePattern groupResource = new ResourcePattern(ResourceType.GROUP, group, PatternType.LITERAL);
        try (EmbeddedKafka withAcls = EmbeddedKafka.start(Map.of(
                "authorizer.class.name", "org.apache.kafka.metadata.authorizer.StandardAuthorizer",
                "allow.everyone.if.no.acl.found", "true"));
                Admin admin = Admin.create(Map.<String, Object>of("bootstrap.servers", withAcls.bootstrapServers()))) {
            admin.createAcls(List.of(
                    new AclBinding(groupResource, new AccessControlEntry(
                            "User:ANONYMOUS", "*", AclOperation.ALL, AclPermissionType.ALLOW)),
                    new AclBinding(groupResource, new AccessControlEntry(
                            "User:ANONYMOUS", "*", AclOperation.DELETE, AclPermissionType.DENY)))).all().get();
            Configuration live = new Configuration();
            live.set(KafkaOptions.BOOTSTRAP_SERVERS, withAcls.bootstrapServers());
            Configuration jobConf = BackfillPlan.of(Instant.parse("2026-11-25T00:00:00Z"),
                    Instant.parse("2026-11-26T00:00:00Z"), "acl.out").jobConfiguration(live);
            List<String> log = new ArrayList<>();

            Backfill.forgetEarlierRuns(jobConf, admin, log::add);

            assertEquals(List.of("warning: not allowed to delete the backfill's consumer group " + group
                    + " (grant DELETE on group " + group + "): the progress line may start where an earlier backfill"
                    + " into acl.out stopped; the job reads its whole range either way"), log);
        }
    }

    private record Outcome(int exitCode, String out, String err) {
        String all() {
            return out + "\n" + err;
        }

        /** The refusal: the last line on standard error, after any warnings. */
        String lastErrorLine() {
            String[] lines = err.strip().split("\n");
            return lines[lines.length - 1];
        }
    }

    private static Outcome backfill(String prefix, String... args) {
        return execute(withInputs(prefix, args));
    }

    private static Outcome execute(String... commandLine) {
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        int exitCode = StrawlessCli.commandLine().setOut(new PrintWriter(out)).setErr(new PrintWriter(err))
                .execute(commandLine);
        return new Outcome(exitCode, out.toString(), err.toString());
    }

    /**
     * Standard output into {@code out} that deletes the records of {@code topic} before offset {@code before} (as
     * retention would) once {@code trigger} is printed, before the backfill goes on.
     */
    private static Writer deletingOn(String trigger, String topic, long before, StringWriter out) {
        return new Writer() {
            private boolean deleted;

            @Override
            public void write(char[] chars, int offset, int length) {
                out.write(chars, offset, length);
                if (!deleted && out.toString().contains(trigger)) {
                    deleted = true;
                    deleteRecordsBefore(topic, before);
                }
            }

            @Override
            public void flush() {}

            @Override
            public void close() {}
        };
    }

    /** The backfill command line reading the input topics {@code <prefix>.steps} and so on. */
    private static String[] withInputs(String prefix, String... args) {
        List<String> command = new ArrayList<>(List.of("backfill"));
        command.addAll(List.of(args));
        command.addAll(List.of("-D", "kafka.bootstrap-servers=" + kafka.bootstrapServers(),
                "-D", "topics.partitions=1", "-D", "topics.steps=" + prefix + ".steps",
                "-D", "topics.outcomes=" + prefix + ".outcomes", "-D", "topics.verdicts=" + prefix + ".verdicts"));
        return command.toArray(String[]::new);
    }

    private static Configuration liveConf(String prefix) {
        Configuration live = new Configuration();
        live.set(KafkaOptions.BOOTSTRAP_SERVERS, kafka.bootstrapServers());
        live.set(KafkaOptions.TOPIC_PARTITIONS, 1);
        live.set(KafkaOptions.STEPS_TOPIC, prefix + ".steps");
        live.set(KafkaOptions.OUTCOMES_TOPIC, prefix + ".outcomes");
        live.set(KafkaOptions.VERDICTS_TOPIC, prefix + ".verdicts");
        return live;
    }

    /**
     * Creates the three input topics of {@code prefix}, one partition each, and writes {@code records} records to
     * the steps topic, timestamped one second apart from two hours ago (whole seconds); returns the first time.
     */
    private static Instant inputs(String prefix, int records) throws Exception {
        Instant first = Instant.now().minus(2, ChronoUnit.HOURS).truncatedTo(ChronoUnit.SECONDS);
        try (Admin admin = admin()) {
            admin.createTopics(List.of(new NewTopic(prefix + ".steps", 1, (short) 1),
                    new NewTopic(prefix + ".outcomes", 1, (short) 1),
                    new NewTopic(prefix + ".verdicts", 1, (short) 1))).all().get();
        }
        try (KafkaProducer<byte[], byte[]> producer = producer(Map.of())) {
            for (int i = 0; i < records; i++) {
                send(producer, prefix + ".steps", first.plusSeconds(i), "t" + i, NOT_AVRO);
            }
        }
        return first;
    }

    /**
     * As {@link #inputs}, the steps written by a transactional producer, from a minute ago: {@code transactions}
     * transactions of {@code records} records each, each followed by its commit marker, which takes an offset. A
     * marker's Kafka timestamp is when it was written (now), and a lookup by timestamp finds it: a range that holds
     * the records must end after now.
     */
    private static Instant transactionalInputs(String prefix, int transactions, int records) throws Exception {
        inputs(prefix, 0);
        Instant first = Instant.now().minus(1, ChronoUnit.MINUTES).truncatedTo(ChronoUnit.SECONDS);
        try (KafkaProducer<byte[], byte[]> producer = producer(Map.of("transactional.id", prefix + "-agent"))) {
            producer.initTransactions();
            for (int t = 0; t < transactions; t++) {
                producer.beginTransaction();
                for (int i = 0; i < records; i++) {
                    int index = t * records + i;
                    send(producer, prefix + ".steps", first.plusSeconds(index), "t" + index, NOT_AVRO);
                }
                producer.commitTransaction();
            }
        }
        return first;
    }

    private static KafkaProducer<byte[], byte[]> producer(Map<String, Object> settings) {
        Map<String, Object> properties = new HashMap<>(settings);
        properties.put("bootstrap.servers", kafka.bootstrapServers());
        return new KafkaProducer<>(properties, new ByteArraySerializer(), new ByteArraySerializer());
    }

    /** One record on partition 0 of {@code topic}, its Kafka timestamp {@code time}, keyed by {@code key}. */
    private static void send(KafkaProducer<byte[], byte[]> producer, String topic, Instant time, String key,
            byte[] value) throws Exception {
        producer.send(new ProducerRecord<>(topic, 0, time.toEpochMilli(), key.getBytes(StandardCharsets.UTF_8), value))
                .get();
    }

    private static byte[] bytes(ByteBuffer buffer) {
        byte[] bytes = new byte[buffer.remaining()];
        buffer.get(bytes);
        return bytes;
    }

    /** What retention does to the oldest segments, to offset {@code before}. */
    private static void deleteRecordsBefore(String topic, long before) {
        try (Admin admin = admin()) {
            admin.deleteRecords(Map.of(new TopicPartition(topic, 0), RecordsToDelete.beforeOffset(before))).all().get();
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }

    private static boolean topicExists(String topic) throws Exception {
        try (Admin admin = admin()) {
            return admin.listTopics().names().get().contains(topic);
        }
    }

    private static Admin admin() {
        return Admin.create(Map.<String, Object>of("bootstrap.servers", kafka.bootstrapServers()));
    }
}
