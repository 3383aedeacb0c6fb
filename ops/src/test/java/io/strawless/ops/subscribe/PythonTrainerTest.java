package io.strawless.ops.subscribe;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.strawless.connectors.KafkaOptions;
import io.strawless.connectors.StrawlessKafka;
import io.strawless.connectors.broker.InProcessKafka;
import io.strawless.connectors.topics.TopicProvisioner;
import io.strawless.connectors.trainer.BatchSubscriber;
import io.strawless.connectors.trainer.Delivery;
import io.strawless.connectors.trainer.TrainerOptions;
import io.strawless.ops.demo.DemoRun;
import io.strawless.ops.fleet.FleetSettings;
import io.strawless.pipeline.JobOptions;
import io.strawless.pipeline.credit.CreditOptions;
import io.strawless.pipeline.credit.Estimator;
import io.strawless.schemas.SchemaHistory;
import io.strawless.schemas.ScoredStep;
import io.strawless.schemas.ScoredTrajectory;
import io.strawless.schemas.TerminalKind;
import io.strawless.schemas.TrainingBatch;
import java.io.ByteArrayOutputStream;
import java.io.File;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.LongSummaryStatistics;
import java.util.Map;
import java.util.Objects;
import java.util.Properties;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.concurrent.TimeUnit;
import java.util.function.Function;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;
import org.apache.avro.Schema;
import org.apache.avro.generic.GenericData;
import org.apache.avro.generic.GenericDatumReader;
import org.apache.avro.generic.GenericRecord;
import org.apache.avro.io.DecoderFactory;
import org.apache.avro.io.EncoderFactory;
import org.apache.avro.message.BinaryMessageEncoder;
import org.apache.avro.specific.SpecificDatumWriter;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.configuration.CoreOptions;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ConditionEvaluationResult;
import org.junit.jupiter.api.extension.ExecutionCondition;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.extension.ExtensionContext;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/**
 * The Python trainer example (ops/python/strawless_trainer.py) against the in-process broker: after a demo
 * run it reads exactly the batches the Java client reads, with the same per-step advantages, token ids, logprobs,
 * payload references and process rewards, each aligned with its step, and the same trajectory weights, flags and scoring units,
 * and never a batch of an aborted transaction; it filters, commits only what it used, and
 * stops at a value that is not a TrainingBatch, naming it. Its reading loop outlives a step longer than
 * max.poll.interval.ms (a warning; the batch comes again) and a second trainer joining the group mid-step. The
 * broker-free Python tests (src/test/python/test_*.py) run here too.
 */
@ExtendWith(PythonTrainerTest.PythonPackages.class)
class PythonTrainerTest {

    /** Debian's interpreter, which sees Debian's python3-* packages (a pyenv python3 on the PATH does not). */
    private static final String PYTHON = "/usr/bin/python3";

    private static final Path SCRIPT = Path.of("python", "strawless_trainer.py");
    /** The example's reading loop with a slow first training step (src/test/python). */
    private static final Path SLOW_TRAINER = Path.of("src", "test", "python", "slow_first_step.py");
    /** The broker-free Python tests, test_*.py: filter settings, and what the reading loop commits. */
    private static final Path PYTHON_TESTS = Path.of("src", "test", "python");
    private static final String INSTALL_HINT = "run ops/bin/install-python-deps.sh (as root) to install them";

    /** A small fleet: a dozen batches over the four partitions, quick to score. */
    private static final FleetSettings FLEET = new FleetSettings(6, 4, 48, 4, 2, 8, 0.0, 0.0, 0.2, 11);

    private static final double TOLERANCE = 1e-9;
    /** Only bounds a broken run; the readers stop as soon as they have every batch. */
    private static final Duration PATIENCE = Duration.ofSeconds(60);

    private static final ObjectMapper JSON = new ObjectMapper();

    @RegisterExtension
    static final InProcessKafka kafka = new InProcessKafka();

    @Test
    void afterADemoRunPythonReadsExactlyWhatTheJavaClientReads(@TempDir Path temp) throws Exception {
        Configuration conf = new Configuration();
        conf.set(KafkaOptions.BOOTSTRAP_SERVERS, kafka.bootstrapServers());
        conf.set(CoreOptions.DEFAULT_PARALLELISM, 2);
        conf.set(JobOptions.BATCH_MAX_TRAJECTORIES, 4); // many small batches, spread over the partitions
        conf.set(CreditOptions.ESTIMATOR, Estimator.PROCESS); // per-step process rewards, on the steps verifiers judged
        TopicProvisioner.ensureTopics(conf);
        List<TrainingBatch> published =
                DemoRun.run(conf, FLEET, line -> {}).output().batches();
        assertFalse(published.isEmpty(), "the demo run published batches");
        // After the run: a batch in an aborted transaction, then a committed one behind it in the same partition.
        String topic = conf.get(KafkaOptions.BATCHES_TOPIC);
        writeInTransaction(conf, topic, handMadeBatch("aborted-batch", "outcome"), false);
        writeInTransaction(conf, topic, handMadeBatch("after-the-abort", "outcome"), true);
        // A suspect kept with weight 0 (job.suspect-policy=FLAG), one scored without its outcome, and one scored
        // without all of its required verdicts: the demo's fleet need not produce any.
        writeInTransaction(conf, topic, handMadeBatch("flagged", "outcome",
                handMadeTrajectory("flagged-suspect").setSuspect(true).setWeight(0).build(),
                handMadeTrajectory("flagged-timed-out").setOutcomeTimedOut(true).setOutcomeReward(0).setSuccess(false)
                        .setScoringUnit(1).setTerminal(TerminalKind.TRUNCATED).build(),
                handMadeTrajectory("flagged-missed-quorum").setVerifiersTimedOut(true).setScoringUnit(2).build()),
                true);
        // Written by the release before process_reward existed: its steps read as having none.
        writeInTransaction(conf, topic, writtenWith(SchemaHistory.of("TrainingBatch").get(3),
                handMadeBatch("before-v5", "process")), true);
        int expectedBatches = published.size() + 3;

        Map<String, Credit> javaCredit = readWithJavaClient(conf, expectedBatches);
        Path advantagesFile = temp.resolve("advantages.json");
        PythonRun python = runPythonExample(
                temp,
                "-D",
                "kafka.bootstrap-servers=" + kafka.bootstrapServers(),
                "-D",
                "topics.batches=" + topic,
                "-D",
                "trainer.group-id=python-trainer",
                "--max-batches",
                Integer.toString(expectedBatches),
                "--timeout",
                Long.toString(PATIENCE.toSeconds()),
                "--advantages-out",
                advantagesFile.toString());
        assertEquals(0, python.exitCode(), "the Python example failed: " + python.stderr());
        Map<String, Credit> pythonCredit = readPythonCredit(advantagesFile);

        Set<String> javaBatches = batchIds(javaCredit);
        assertTrue(
                javaBatches.contains("after-the-abort") && !javaBatches.contains("aborted-batch"),
                javaBatches::toString);
        assertEquals(javaBatches, batchIds(pythonCredit), "the same batches, the aborted one in neither");
        assertEquals(javaCredit.keySet(), pythonCredit.keySet(), "the same trajectories");
        assertTrue(javaCredit.values().stream().anyMatch(credit -> credit.tokenIds().contains(null)
                        && credit.tokenIds().stream().anyMatch(Objects::nonNull)),
                "trajectories with token ids on some steps and none on others (tool output), to line up");
        assertTrue(javaCredit.values().stream().anyMatch(credit -> credit.processRewards().contains(null)
                        && credit.processRewards().stream().anyMatch(Objects::nonNull)),
                "trajectories with a process reward on some steps and none on others, to line up");
        javaCredit.forEach((trajectory, credit) -> {
            Credit fromPython = pythonCredit.get(trajectory);
            assertEquals(credit.advantages().size(), fromPython.advantages().size(), trajectory + " steps");
            for (int step = 0; step < credit.advantages().size(); step++) {
                assertEquals(credit.advantages().get(step), fromPython.advantages().get(step), TOLERANCE,
                        trajectory + " step " + step);
            }
            // Each per-step sequence lines up with the advantages: its i-th entry is the i-th step's, null included.
            assertEquals(credit.stepIndices(), fromPython.stepIndices(), trajectory + " step_index");
            assertEquals(credit.tokenIds(), fromPython.tokenIds(), trajectory + " token_ids");
            assertEquals(credit.logprobs(), fromPython.logprobs(), trajectory + " logprob");
            assertEquals(credit.payloadRefs(), fromPython.payloadRefs(), trajectory + " payload_ref");
            assertEquals(credit.processRewards(), fromPython.processRewards(), trajectory + " process_reward");
            assertEquals(credit.weight(), fromPython.weight(), trajectory + " weight");
            assertEquals(credit.suspect(), fromPython.suspect(), trajectory + " suspect");
            assertEquals(credit.outcomeTimedOut(), fromPython.outcomeTimedOut(), trajectory + " outcome_timed_out");
            assertEquals(credit.verifiersTimedOut(), fromPython.verifiersTimedOut(), trajectory + " verifiers_timed_out");
            assertEquals(credit.scoringUnit(), fromPython.scoringUnit(), trajectory + " scoring_unit");
            assertEquals(credit.unitSize(), fromPython.unitSize(), trajectory + " unit_size");
            assertEquals(credit.terminal(), fromPython.terminal(), trajectory + " terminal");
        });
        Credit suspect = pythonCredit.get("flagged/flagged-suspect");
        assertTrue(suspect.suspect() && suspect.weight() == 0 && !suspect.outcomeTimedOut(), suspect::toString);
        Credit timedOut = pythonCredit.get("flagged/flagged-timed-out");
        assertTrue(timedOut.outcomeTimedOut() && timedOut.weight() == 1 && !timedOut.suspect(), timedOut::toString);
        Credit missedQuorum = pythonCredit.get("flagged/flagged-missed-quorum");
        assertTrue(missedQuorum.verifiersTimedOut() && !missedQuorum.outcomeTimedOut() && missedQuorum.weight() == 1,
                missedQuorum::toString);
        assertFalse(timedOut.verifiersTimedOut(), timedOut::toString);
        assertEquals(Arrays.asList(List.of(11, 12), null, List.of(13)), timedOut.tokenIds(), timedOut::toString);
        assertEquals(Arrays.asList(-0.5, null, -0.25), timedOut.logprobs(), timedOut::toString);
        assertEquals(Arrays.asList(null, "s3://payloads/1", null), timedOut.payloadRefs(), timedOut::toString);
        assertEquals(Arrays.asList(0.375, null, -0.75), timedOut.processRewards(), timedOut::toString);
        assertEquals(Arrays.asList(null, null, null),
                pythonCredit.get("before-v5/before-v5-trajectory").processRewards(), "a v4 batch has none");
        assertEquals(Arrays.asList(1, 1, "TRUNCATED"),
                Arrays.asList(timedOut.scoringUnit(), timedOut.unitSize(), timedOut.terminal()), timedOut::toString);

        JsonNode summary = JSON.readTree(python.stdout());
        assertEquals(expectedBatches, summary.get("batches").asInt());
        assertEquals("max-batches", summary.get("stopped_by").asText());
        assertEquals(0, summary.get("filtered_out").asInt(), "no trainer.* filter was set");
        assertEquals(javaCredit.size(), summary.get("trajectories").asInt());
        assertEquals(
                javaCredit.values().stream().mapToInt(credit -> credit.advantages().size()).sum(),
                summary.get("steps").asInt());
        // What a trainer applies: a weight-0 trajectory's advantages are read, not trained on.
        double javaSum = javaCredit.values().stream()
                .mapToDouble(credit -> credit.weight()
                        * credit.advantages().stream().mapToDouble(Double::doubleValue).sum())
                .sum();
        assertEquals(javaSum, summary.get("advantage_sum").asDouble(), TOLERANCE * Math.max(1, Math.abs(javaSum)));
        assertEquals(
                javaCredit.values().stream().filter(credit -> credit.weight() == 0).count(),
                summary.get("zero_weight_trajectories").asLong());
    }

    @Test
    void pythonFiltersCommitsWhatItUsedAndStopsAtAnUndecodableValue(@TempDir Path temp) throws Exception {
        String topic = "python-undecodable";
        try (Admin admin = admin()) {
            admin.createTopics(List.of(new NewTopic(topic, 1, (short) 1))).all().get();
        }
        Configuration conf = configFor(topic);
        writeInTransaction(conf, topic, handMadeBatch("other-estimator", "gae"), true); // offset 0
        // Written by a release before the last schema change: the reader resolves the older writer schema.
        writeInTransaction(conf, topic, writtenWith(SchemaHistory.of("TrainingBatch").get(0), handMadeBatch("wanted", "grpo")),
                true); // 2 (1 is the commit marker)
        try (KafkaProducer<byte[], byte[]> producer = new KafkaProducer<>(
                StrawlessKafka.producerProperties(conf), new ByteArraySerializer(), new ByteArraySerializer())) {
            producer.send(new ProducerRecord<>(topic, "not avro".getBytes(StandardCharsets.UTF_8)))
                    .get(); // 4
        }

        PythonRun python = runPythonExample(
                temp,
                "-D",
                "kafka.bootstrap-servers=" + kafka.bootstrapServers(),
                "-D",
                "topics.batches=" + topic,
                "-D",
                "trainer.group-id=python-filtering",
                "-D",
                "trainer.estimator=grpo",
                "--timeout",
                Long.toString(PATIENCE.toSeconds()));

        assertEquals(2, python.exitCode(), "stops at the bad value; stderr: " + python.stderr());
        JsonNode error = JSON.readTree(
                python.stderr().lines().reduce((first, last) -> last).orElseThrow());
        assertEquals("undecodable", error.get("error").asText(), python.stderr());
        assertEquals(topic, error.get("topic").asText());
        assertEquals(0, error.get("partition").asInt());
        assertEquals(4, error.get("offset").asLong());
        assertEquals(3, committedOffset("python-filtering", topic), "committed past the filtered and the used batch, not past the bad value");
    }

    /**
     * trainer.min-policy-version removes the scoring units with an older step from a batch, every member, and
     * delivers the rest of it, as the Java client does; the batch is not dropped, fresh data and all. A batch written
     * before scoring_unit existed is filtered by group_id, and a batch left empty is skipped.
     */
    @Test
    void pythonDropsWholeScoringUnitsOutsideThePolicyBoundsNotTheBatch(@TempDir Path temp) throws Exception {
        String topic = "python-policy-units";
        try (Admin admin = admin()) {
            admin.createTopics(List.of(new NewTopic(topic, 1, (short) 1))).all().get();
        }
        Configuration conf = configFor(topic);
        writeInTransaction(conf, topic, handMadeBatch("all-stale", "grpo",
                handMadeTrajectory("stale-2", "c", 0, 41, 41, 41)), true); // offset 0
        writeInTransaction(conf, topic, handMadeBatch("mixed", "grpo",
                handMadeTrajectory("stale-0", "g", 0, 42, 42, 42),
                handMadeTrajectory("stale-1", "g", 0, 42, 41, 42), // one step at 41: its whole unit goes
                handMadeTrajectory("fresh-0", "g", 1, 42, 42, 42), // the same group_id, scored apart
                handMadeTrajectory("fresh-1", "h", 2, 42, 42, 43)), true); // 2
        writeInTransaction(conf, topic, writtenWith(SchemaHistory.of("TrainingBatch").get(2), handMadeBatch("before-v4",
                "grpo",
                handMadeTrajectory("old-0", "a", null, 41, 41, 41),
                handMadeTrajectory("new-0", "b", null, 42, 42, 42),
                handMadeTrajectory("new-1", "b", null, 42, 42, 42))), true); // 4

        Path advantagesFile = temp.resolve("advantages.json");
        PythonRun python = runPythonExample(
                temp,
                "-D",
                "kafka.bootstrap-servers=" + kafka.bootstrapServers(),
                "-D",
                "topics.batches=" + topic,
                "-D",
                "trainer.group-id=python-policy-units",
                "-D",
                "trainer.min-policy-version=42",
                "--max-batches",
                "2",
                "--timeout",
                Long.toString(PATIENCE.toSeconds()),
                "--advantages-out",
                advantagesFile.toString());

        assertEquals(0, python.exitCode(), python.stderr());
        assertEquals(Set.of("mixed/fresh-0", "mixed/fresh-1", "before-v4/new-0", "before-v4/new-1"),
                readPythonCredit(advantagesFile).keySet());
        JsonNode summary = JSON.readTree(python.stdout());
        assertEquals("max-batches", summary.get("stopped_by").asText(), python.stdout());
        assertEquals(1, summary.get("filtered_out").asInt(), "all-stale");
        assertEquals(1 + 2 + 1, summary.get("filtered_out_trajectories").asInt(), python.stdout());
        assertEquals(5, committedOffset("python-policy-units", topic), "every batch acknowledged");
    }

    /**
     * Both clients refuse a trainer.estimator the job does not have (it would drop every batch); neither can see the
     * pipeline's estimators, so each keeps their names, and here they are held to the job's.
     */
    @Test
    void bothClientsKnowTheJobsEstimators() throws IOException {
        List<String> job = Arrays.stream(Estimator.values()).map(Estimator::toString).toList();
        assertEquals(job, TrainerOptions.ESTIMATORS, "Java");
        Matcher python = Pattern.compile("(?m)^ESTIMATORS = \\(([^)]*)\\)").matcher(Files.readString(SCRIPT));
        assertTrue(python.find(), "no ESTIMATORS tuple in " + SCRIPT);
        assertEquals(job, Arrays.stream(python.group(1).split(",")).map(name -> name.strip().replace("\"", ""))
                .filter(name -> !name.isEmpty()).toList(), "Python");
    }

    /** Run here so that they run wherever this class does: in CI, which must not skip it. */
    @Test
    void theBrokerFreePythonTestsPass(@TempDir Path temp) throws Exception {
        PythonRun tests = runPython(temp, List.of("-m", "unittest", "discover", "-s", PYTHON_TESTS.toString(), "-p",
                "test_*.py"));

        assertEquals(0, tests.exitCode(), tests.stderr());
        assertTrue(tests.stderr().lines().anyMatch(line -> line.matches("Ran [1-9][0-9]* tests? in .*")),
                "no Python test ran: " + tests.stderr());
    }

    @Test
    void pythonSaysWhatIsWrongInOneLine(@TempDir Path temp) throws Exception {
        PythonRun jobsGroup = runPythonExample(temp, "-D", "kafka.bootstrap-servers=" + kafka.bootstrapServers(),
                "-D", "trainer.group-id=strawless", "--timeout", "5");
        assertEquals(2, jobsGroup.exitCode(), jobsGroup.stderr());
        assertTrue(jobsGroup.stderr().contains("trainer.group-id=strawless is the job's own group"), jobsGroup.stderr());

        PythonRun crossedBounds = runPythonExample(temp, "-D", "kafka.bootstrap-servers=" + kafka.bootstrapServers(),
                "-D", "trainer.min-policy-version=50", "-D", "trainer.max-policy-version=40", "--timeout", "5");
        assertEquals(2, crossedBounds.exitCode(), crossedBounds.stderr());
        assertTrue(crossedBounds.stderr().contains("-D trainer.min-policy-version=50 is above -D"
                + " trainer.max-policy-version=40"), crossedBounds.stderr());

        PythonRun noHistory = runPythonExample(temp, "-D", "kafka.bootstrap-servers=" + kafka.bootstrapServers(),
                "--schema-history", temp.resolve("nowhere").toString(), "--timeout", "5");
        assertEquals(2, noHistory.exitCode(), noHistory.stderr());
        assertTrue(noHistory.stderr().contains("--schema-history " + temp.resolve("nowhere") + ": no v1.avsc there"),
                noHistory.stderr());

        PythonRun noTopic = runPythonExample(temp, "-D", "kafka.bootstrap-servers=" + kafka.bootstrapServers(),
                "-D", "topics.batches=no-such-topic", "-D", "trainer.group-id=python-no-topic", "--timeout",
                Long.toString(PATIENCE.toSeconds()));
        assertEquals(2, noTopic.exitCode(), noTopic.stderr());
        JsonNode error = JSON.readTree(noTopic.stderr().lines().reduce((first, last) -> last).orElseThrow());
        assertEquals("kafka", error.get("error").asText(), noTopic.stderr());
        assertTrue(error.get("reason").asText().contains("no-such-topic"), noTopic.stderr());
    }

    /**
     * A training step longer than max.poll.interval.ms (a trainer's most likely rebalance): librdkafka drops the
     * member, so the broker refuses the commit of the batch it was training on. The trainer warns, naming the
     * setting, rejoins and gets that batch again (at least once), and goes on; it does not crash.
     */
    @Test
    void pythonOutlivesAStepLongerThanMaxPollIntervalAndGetsThatBatchAgain(@TempDir Path temp) throws Exception {
        String topic = "python-slow-step";
        try (Admin admin = admin()) {
            admin.createTopics(List.of(new NewTopic(topic, 1, (short) 1))).all().get();
        }
        Configuration conf = configFor(topic);
        writeInTransaction(conf, topic, handMadeBatch("slow-first", "outcome"), true); // offset 0
        writeInTransaction(conf, topic, handMadeBatch("second", "outcome"), true); // 2

        // The broker's smallest session timeout (group.min.session.timeout.ms) is 6 s, and librdkafka wants
        // max.poll.interval.ms at least as long.
        PythonRun python = runPython(
                temp,
                SLOW_TRAINER,
                "-D",
                "kafka.bootstrap-servers=" + kafka.bootstrapServers(),
                "-D",
                "topics.batches=" + topic,
                "-D",
                "trainer.group-id=python-slow-step",
                "-D",
                "kafka.client.session.timeout.ms=6000",
                "-D",
                "kafka.client.max.poll.interval.ms=6000",
                "--first-step-seconds",
                "8",
                "--max-batches",
                "3",
                "--timeout",
                "40");

        assertEquals(0, python.exitCode(), "a refused commit is not a crash; stderr: " + python.stderr());
        assertEquals(List.of("slow-first", "slow-first", "second"),
                batchIds(python.stdout()),
                "the batch whose commit was refused comes again, then the next one; stderr: " + python.stderr());
        assertTrue(python.stderr().lines().anyMatch(line -> line.contains("WARNING")
                        && line.contains("could not be committed") && line.contains("max.poll.interval.ms")),
                python.stderr());
        assertEquals(3, committedOffset("python-slow-step", topic), "both batches committed after all");
    }

    /**
     * A second trainer joins the group while the Python trainer holds a batch: the Python trainer finishes its
     * step, commits, hands partitions over in the rebalance (on_revoke) and goes on, without crashing; between
     * the two every batch is read at least once, and the batch it held is read again only if it said its
     * commit failed.
     */
    @Test
    void pythonHandsPartitionsOverWhenASecondTrainerJoinsMidStep(@TempDir Path temp) throws Exception {
        String topic = "python-rebalance";
        String group = "python-rebalance";
        try (Admin admin = admin()) {
            admin.createTopics(List.of(new NewTopic(topic, 2, (short) 1))).all().get();
        }
        Configuration conf = configFor(topic);
        Set<String> written = new TreeSet<>();
        for (int partition = 0; partition < 2; partition++) {
            for (int i = 0; i < 2; i++) {
                String batchId = "p" + partition + "-" + i;
                writeInTransaction(conf, topic, partition, bytes(handMadeBatch(batchId, "outcome")), true);
                written.add(batchId);
            }
        }

        Path holding = temp.resolve("holding");
        Path stdout = temp.resolve("python.out");
        Path stderr = temp.resolve("python.err");
        Process python = new ProcessBuilder(
                        PYTHON,
                        SLOW_TRAINER.toString(),
                        "-D",
                        "kafka.bootstrap-servers=" + kafka.bootstrapServers(),
                        "-D",
                        "topics.batches=" + topic,
                        "-D",
                        "trainer.group-id=" + group,
                        "--first-step-seconds",
                        "4",
                        "--holding-file",
                        holding.toString(),
                        "--max-batches",
                        "100",
                        "--timeout",
                        "10")
                .redirectOutput(stdout.toFile())
                .redirectError(stderr.toFile())
                .start();
        Instant deadline = Instant.now().plus(Duration.ofSeconds(30));
        List<String> javaRead = new ArrayList<>();
        try {
            while (!Files.exists(holding)) {
                assertTrue(python.isAlive() && Instant.now().isBefore(deadline),
                        "the Python trainer never started its step: " + Files.readString(stderr));
                Thread.sleep(50);
            }
            Configuration trainerConf = new Configuration(conf);
            trainerConf.set(TrainerOptions.GROUP_ID, group);
            try (BatchSubscriber subscriber = new BatchSubscriber(trainerConf)) {
                // Until the Python trainer stopped (at its --timeout) and everything it did not read came here.
                while (python.isAlive() || !javaRead.containsAll(notIn(written, pythonRead(stdout)))) {
                    assertTrue(Instant.now().isBefore(deadline), "the Java trainer read only " + javaRead);
                    for (Delivery delivery : subscriber.poll(Duration.ofMillis(200))) {
                        javaRead.add(delivery.batch().getBatchId().toString());
                        delivery.ack();
                    }
                }
            }
        } finally {
            python.destroyForcibly();
        }

        String pythonErr = Files.readString(stderr);
        assertEquals(0, python.exitValue(), pythonErr);
        List<String> pythonRead = pythonRead(stdout);
        assertFalse(pythonRead.isEmpty(), pythonErr);
        Set<String> read = new TreeSet<>(pythonRead);
        read.addAll(javaRead);
        assertEquals(written, read, "every batch read at least once; python " + pythonRead + ", java " + javaRead);
        boolean commitRefused = pythonErr.contains("could not be committed");
        if (commitRefused) {
            assertTrue(javaRead.contains(pythonRead.get(0)),
                    "the batch whose commit the Python trainer was refused is delivered again; " + pythonErr);
        } else {
            assertFalse(javaRead.contains(pythonRead.get(0)),
                    "the batch the Python trainer held and committed is not read again; " + pythonErr);
        }
    }

    /**
     * Skips the class where the example's Python packages are missing. A condition, not an assumption in
     * {@code @BeforeAll}: JUnit evaluates it before any before-all callback, so no broker starts for a class that
     * will not run.
     */
    static final class PythonPackages implements ExecutionCondition {
        /** Asked for the class and again for each test: the answer is found once. */
        private static ConditionEvaluationResult answer;

        @Override
        public synchronized ConditionEvaluationResult evaluateExecutionCondition(ExtensionContext context) {
            if (answer == null) {
                answer = check();
            }
            return answer;
        }

        private static ConditionEvaluationResult check() {
            if (!new File(PYTHON).canExecute()) {
                return ConditionEvaluationResult.disabled(PYTHON + " is missing; the example needs Debian's python3 with"
                        + " python3-confluent-kafka and python3-avro: " + INSTALL_HINT);
            }
            try {
                Process check = new ProcessBuilder(PYTHON, "-c", "import confluent_kafka, avro.io")
                        .redirectErrorStream(true)
                        .redirectOutput(ProcessBuilder.Redirect.DISCARD)
                        .start();
                if (check.waitFor(30, TimeUnit.SECONDS) && check.exitValue() == 0) {
                    return ConditionEvaluationResult.enabled("the example's Python packages are installed");
                }
            } catch (IOException e) {
                // reported below
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            return ConditionEvaluationResult.disabled(
                    "python3-confluent-kafka or python3-avro is not installed for " + PYTHON + ": " + INSTALL_HINT);
        }
    }

    private static Admin admin() {
        return Admin.create(
                Map.<String, Object>of(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, kafka.bootstrapServers()));
    }

    private static Configuration configFor(String batchesTopic) {
        Configuration conf = new Configuration();
        conf.set(KafkaOptions.BOOTSTRAP_SERVERS, kafka.bootstrapServers());
        conf.set(KafkaOptions.BATCHES_TOPIC, batchesTopic);
        return conf;
    }

    private static void writeInTransaction(Configuration conf, String topic, TrainingBatch batch, boolean commit)
            throws Exception {
        writeInTransaction(conf, topic, bytes(batch), commit);
    }

    /** {@code batch} as a release that wrote {@code writer} would have sent it (single-object encoding). */
    private static byte[] writtenWith(Schema writer, TrainingBatch batch) throws Exception {
        ByteArrayOutputStream current = new ByteArrayOutputStream();
        var encoder = EncoderFactory.get().binaryEncoder(current, null);
        new SpecificDatumWriter<TrainingBatch>(TrainingBatch.getClassSchema()).write(batch, encoder);
        encoder.flush();
        GenericRecord old = new GenericDatumReader<GenericRecord>(TrainingBatch.getClassSchema(), writer)
                .read(null, DecoderFactory.get().binaryDecoder(current.toByteArray(), null));
        return new BinaryMessageEncoder<GenericRecord>(GenericData.get(), writer).encode(old).array();
    }

    /** Writes one batch to partition 0 in its own transaction, committed or aborted. */
    private static void writeInTransaction(Configuration conf, String topic, byte[] batch, boolean commit)
            throws Exception {
        writeInTransaction(conf, topic, 0, batch, commit);
    }

    /** Writes one batch to {@code partition} in its own transaction, committed or aborted. */
    private static void writeInTransaction(Configuration conf, String topic, int partition, byte[] batch,
            boolean commit) throws Exception {
        Properties properties = StrawlessKafka.producerProperties(conf);
        properties.setProperty(ProducerConfig.TRANSACTIONAL_ID_CONFIG, "python-trainer-test");
        try (KafkaProducer<byte[], byte[]> producer =
                new KafkaProducer<>(properties, new ByteArraySerializer(), new ByteArraySerializer())) {
            producer.initTransactions();
            producer.beginTransaction();
            producer.send(new ProducerRecord<>(topic, partition, null, batch)).get();
            if (commit) {
                producer.commitTransaction();
            } else {
                producer.abortTransaction();
            }
        }
    }

    private static TrainingBatch handMadeBatch(String batchId, String estimator) {
        return handMadeBatch(batchId, estimator, handMadeTrajectory(batchId + "-trajectory").build());
    }

    /** A batch of {@code trajectories}; its min/max_policy_version are those of their steps, as the job writes them. */
    private static TrainingBatch handMadeBatch(String batchId, String estimator, ScoredTrajectory... trajectories) {
        LongSummaryStatistics versions = Arrays.stream(trajectories).flatMap(t -> t.getSteps().stream())
                .mapToLong(ScoredStep::getPolicyVersion).summaryStatistics();
        return TrainingBatch.newBuilder()
                .setBatchId(batchId)
                .setCreatedAt(Instant.ofEpochMilli(System.currentTimeMillis()))
                .setEstimator(estimator)
                .setConfigFingerprint("test")
                .setMinPolicyVersion(versions.getMin())
                .setMaxPolicyVersion(versions.getMax())
                .setTrajectories(List.of(trajectories))
                .build();
    }

    /** A {@link #handMadeTrajectory} in {@code groupId} and {@code scoringUnit}, its steps from {@code policies}. */
    private static ScoredTrajectory handMadeTrajectory(String trajectoryId, String groupId, Integer scoringUnit,
            long... policies) {
        ScoredTrajectory trajectory = handMadeTrajectory(trajectoryId).setGroupId(groupId).setScoringUnit(scoringUnit)
                .build();
        for (int step = 0; step < policies.length; step++) {
            trajectory.getSteps().get(step).setPolicyVersion(policies[step]);
        }
        return trajectory;
    }

    /**
     * A successful trajectory of three steps, weight 1 and no flags, scored alone as unit 0: two policy steps with
     * tokens, a logprob and a process reward around a tool step that has none of them, its output stored by reference.
     */
    private static ScoredTrajectory.Builder handMadeTrajectory(String trajectoryId) {
        List<ScoredStep> steps = List.of(
                ScoredStep.newBuilder()
                        .setStepIndex(0)
                        .setTrainable(true)
                        .setAdvantage(0.125)
                        .setTargetReturn(1)
                        .setTokenIds(List.of(11, 12))
                        .setLogprob(-0.5)
                        .setProcessReward(0.375)
                        .build(),
                ScoredStep.newBuilder()
                        .setStepIndex(1)
                        .setTrainable(false)
                        .setAdvantage(0)
                        .setTargetReturn(0)
                        .setPayloadRef("s3://payloads/1")
                        .build(),
                ScoredStep.newBuilder()
                        .setStepIndex(2)
                        .setTrainable(true)
                        .setAdvantage(-1.0 / 3)
                        .setTargetReturn(1)
                        .setTokenIds(List.of(13))
                        .setLogprob(-0.25)
                        .setProcessReward(-0.75)
                        .build());
        return ScoredTrajectory.newBuilder()
                .setTrajectoryId(trajectoryId)
                .setAgentId("test")
                .setTaskId("test")
                .setOutcomeReward(1)
                .setSuccess(true)
                .setSteps(steps)
                .setScoringUnit(0)
                .setUnitSize(1)
                .setTerminal(TerminalKind.TERMINATED);
    }

    private static byte[] bytes(TrainingBatch batch) throws Exception {
        ByteBuffer buffer = batch.toByteBuffer();
        byte[] bytes = new byte[buffer.remaining()];
        buffer.get(bytes);
        return bytes;
    }

    /**
     * What a trainer uses of a trajectory: its steps' fields, one list each, aligned by step (null where a step has
     * none), the weight of its loss, its flags, and its scoring unit.
     */
    private record Credit(List<Integer> stepIndices, List<Double> advantages, List<List<Integer>> tokenIds,
            List<Double> logprobs, List<String> payloadRefs, List<Double> processRewards, double weight,
            boolean suspect, boolean outcomeTimedOut, boolean verifiersTimedOut, Integer scoringUnit, Integer unitSize,
            String terminal) {}

    /** Credit by "batch id/trajectory id", read with the Java client in its own group. */
    private static Map<String, Credit> readWithJavaClient(Configuration conf, int batches) {
        Configuration trainerConf = new Configuration(conf);
        trainerConf.set(TrainerOptions.GROUP_ID, "java-trainer");
        Map<String, Credit> credit = new TreeMap<>();
        int delivered = 0;
        Instant deadline = Instant.now().plus(PATIENCE);
        try (BatchSubscriber subscriber = new BatchSubscriber(trainerConf)) {
            while (delivered < batches) {
                assertTrue(
                        Instant.now().isBefore(deadline),
                        "the Java client got " + delivered + " of " + batches + " batches");
                for (Delivery delivery : subscriber.poll(Duration.ofMillis(200))) {
                    TrainingBatch batch = delivery.batch();
                    for (ScoredTrajectory trajectory : batch.getTrajectories()) {
                        List<ScoredStep> steps = trajectory.getSteps();
                        String key = batch.getBatchId() + "/" + trajectory.getTrajectoryId();
                        Credit read = new Credit(
                                steps.stream().map(ScoredStep::getStepIndex).toList(),
                                steps.stream().map(ScoredStep::getAdvantage).toList(),
                                steps.stream().map(step -> step.getTokenIds() == null ? null
                                        : new ArrayList<>(step.getTokenIds())).collect(Collectors.toList()),
                                steps.stream().map(ScoredStep::getLogprob).collect(Collectors.toList()),
                                steps.stream().map(ScoredStep::getPayloadRef).collect(Collectors.toList()),
                                steps.stream().map(ScoredStep::getProcessReward).collect(Collectors.toList()),
                                trajectory.getWeight(), trajectory.getSuspect(), trajectory.getOutcomeTimedOut(),
                                trajectory.getVerifiersTimedOut(), trajectory.getScoringUnit(), trajectory.getUnitSize(),
                                trajectory.getTerminal() == null ? null : trajectory.getTerminal().name());
                        assertEquals(null, credit.put(key, read), key + " read twice");
                    }
                    delivered++;
                    delivery.ack();
                }
            }
        }
        return credit;
    }

    private record PythonRun(int exitCode, String stdout, String stderr) {}

    private static PythonRun runPythonExample(Path temp, String... arguments) throws Exception {
        return runPython(temp, SCRIPT, arguments);
    }

    private static PythonRun runPython(Path temp, Path script, String... arguments) throws Exception {
        List<String> scriptAndArguments = new ArrayList<>(List.of(script.toString()));
        scriptAndArguments.addAll(List.of(arguments));
        return runPython(temp, scriptAndArguments);
    }

    /** Runs {@link #PYTHON} with {@code arguments} until it stops by itself, within {@link #PATIENCE}. */
    private static PythonRun runPython(Path temp, List<String> arguments) throws Exception {
        List<String> command = new ArrayList<>(List.of(PYTHON));
        command.addAll(arguments);
        Path stdout = Files.createTempFile(temp, "python", ".out");
        Path stderr = Files.createTempFile(temp, "python", ".err");
        Process python = new ProcessBuilder(command)
                .redirectOutput(stdout.toFile())
                .redirectError(stderr.toFile())
                .start();
        if (!python.waitFor(PATIENCE.toSeconds() + 30, TimeUnit.SECONDS)) {
            python.destroyForcibly();
            throw new AssertionError("Python " + arguments.get(0) + " did not stop by itself; stderr: "
                    + Files.readString(stderr));
        }
        return new PythonRun(python.exitValue(), Files.readString(stdout), Files.readString(stderr));
    }

    /** The batch ids slow_first_step.py printed, in the order it read them; none while it runs. */
    private static List<String> pythonRead(Path stdout) throws Exception {
        return batchIds(Files.exists(stdout) ? Files.readString(stdout) : "");
    }

    /** slow_first_step.py's output: a JSON list of batch ids; empty before it printed it. */
    private static List<String> batchIds(String printed) throws Exception {
        List<String> ids = new ArrayList<>();
        if (!printed.isBlank()) {
            JSON.readTree(printed).forEach(id -> ids.add(id.asText()));
        }
        return ids;
    }

    private static Set<String> notIn(Set<String> all, List<String> some) {
        Set<String> rest = new TreeSet<>(all);
        some.forEach(rest::remove);
        return rest;
    }

    /** Credit by "batch id/trajectory id", from the Python example's --advantages-out file. */
    private static Map<String, Credit> readPythonCredit(Path file) throws Exception {
        Map<String, Credit> credit = new HashMap<>();
        for (JsonNode trajectory : JSON.readTree(file.toFile())) {
            String key = trajectory.get("batch_id").asText() + "/"
                    + trajectory.get("trajectory_id").asText();
            Credit read = new Credit(
                    perStep(trajectory, "step_indices", JsonNode::asInt),
                    perStep(trajectory, "advantages", JsonNode::asDouble),
                    perStep(trajectory, "token_ids", ids -> {
                        List<Integer> tokens = new ArrayList<>();
                        ids.forEach(id -> tokens.add(id.asInt()));
                        return tokens;
                    }),
                    perStep(trajectory, "logprobs", JsonNode::asDouble),
                    perStep(trajectory, "payload_refs", JsonNode::asText),
                    perStep(trajectory, "process_rewards", JsonNode::asDouble),
                    trajectory.required("weight").asDouble(),
                    trajectory.required("suspect").asBoolean(), trajectory.required("outcome_timed_out").asBoolean(),
                    trajectory.required("verifiers_timed_out").asBoolean(),
                    orNull(trajectory.required("scoring_unit"), JsonNode::asInt),
                    orNull(trajectory.required("unit_size"), JsonNode::asInt),
                    orNull(trajectory.required("terminal"), JsonNode::asText));
            assertEquals(null, credit.put(key, read), key + " read twice");
        }
        return credit;
    }

    /** The {@code field} list of a trajectory in the --advantages-out file, one entry a step; JSON null stays null. */
    private static <T> List<T> perStep(JsonNode trajectory, String field, Function<JsonNode, T> value) {
        List<T> steps = new ArrayList<>();
        trajectory.required(field).forEach(step -> steps.add(orNull(step, value)));
        return steps;
    }

    private static <T> T orNull(JsonNode node, Function<JsonNode, T> value) {
        return node.isNull() ? null : value.apply(node);
    }

    private static Set<String> batchIds(Map<String, ?> credit) {
        Set<String> ids = new TreeSet<>();
        credit.keySet().forEach(key -> ids.add(key.substring(0, key.indexOf('/'))));
        return ids;
    }

    /** The offset {@code group} has committed on partition 0 of {@code topic}. */
    private static long committedOffset(String group, String topic) throws Exception {
        try (Admin admin = admin()) {
            return admin.listConsumerGroupOffsets(group).partitionsToOffsetAndMetadata().get()
                    .get(new TopicPartition(topic, 0)).offset();
        }
    }
}
