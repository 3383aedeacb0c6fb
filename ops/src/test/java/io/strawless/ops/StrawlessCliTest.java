package io.strawless.ops;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

class StrawlessCliTest {

    @Test
    void unknownFlagIsNamedAndExitsWithUsageCode() {
        Outcome outcome = run("demo", "--agnets", "5");
        assertEquals(2, outcome.exitCode());
        assertTrue(outcome.err().contains("--agnets"), outcome.err());
        // The error, the flag meant, and where the usage is: not the whole usage, which would bury them.
        assertTrue(outcome.err().contains("--agents"), outcome.err());
        assertTrue(outcome.err().strip().endsWith("Try 'strawless demo --help' for usage."), outcome.err());
        assertFalse(outcome.err().contains("Usage:"), outcome.err());
    }

    @Test
    void unparsableValueNamesItsFlag() {
        Outcome outcome = run("demo", "--agents", "many");
        assertEquals(2, outcome.exitCode());
        assertTrue(outcome.err().contains("--agents"), outcome.err());
    }

    @Test
    void outOfRangeValueNamesItsFlag() {
        Outcome outcome = run("demo", "--malformed-share", "1.5");
        assertEquals(2, outcome.exitCode());
        assertTrue(outcome.err().contains("--malformed-share"), outcome.err());
    }

    /**
     * Picocli formats every help text with {@link String#format}: a stray {@code %} makes it print a warning above
     * the help and show the text raw.
     */
    @Test
    void everyCommandsHelpRendersWithoutWarnings() {
        PrintStream stderr = System.err;
        ByteArrayOutputStream warnings = new ByteArrayOutputStream();
        System.setErr(new PrintStream(warnings, true, StandardCharsets.UTF_8));
        try {
            renderHelp(StrawlessCli.commandLine());
        } finally {
            System.setErr(stderr);
        }
        assertEquals("", warnings.toString(StandardCharsets.UTF_8));
    }

    private static void renderHelp(CommandLine command) {
        command.getUsageMessage();
        command.getSubcommands().values().forEach(StrawlessCliTest::renderHelp);
    }

    @Test
    void missingCommandIsAUsageError() {
        assertEquals(2, run().exitCode());
    }

    @Test
    void topicsNamesAnUnreachableBrokerAndFails() {
        Outcome outcome =
                run("topics", "check", "-D", "kafka.bootstrap-servers=localhost:1", "-D", "kafka.admin-timeout=1s");
        assertEquals(1, outcome.exitCode());
        assertEquals(
                "strawless topics check: Kafka broker not reachable at localhost:1 within 1s (set kafka.bootstrap-servers)",
                outcome.err().strip(),
                "one line that says what to set");
    }

    /** Settings no topic can work with are refused before the broker is asked (here there is none). */
    @Test
    void topicsSettingsItRefusesAreUsageErrors() {
        for (String command : new String[] {"create", "check"}) {
            Outcome outcome = run("topics", command, "-D", "topics.min-insync-replicas=3",
                    "-D", "kafka.bootstrap-servers=localhost:1", "-D", "kafka.admin-timeout=1s");
            assertEquals(2, outcome.exitCode(), outcome.err());
            assertTrue(outcome.err().startsWith("-D topics.min-insync-replicas=3 exceeds topics.replication-factor=1"),
                    outcome.err());
            assertFalse(outcome.err().contains("Exception"), outcome.err());
        }
    }

    /** At 0 every admin call would time out at once, which reads as a broker that is not there. */
    @Test
    void aZeroAdminTimeoutIsAUsageError() {
        Outcome outcome = run("topics", "check", "-D", "kafka.bootstrap-servers=localhost:1",
                "-D", "kafka.admin-timeout=0s");
        assertEquals(2, outcome.exitCode(), outcome.err());
        assertTrue(outcome.err().startsWith("-D kafka.admin-timeout must be at least 1 ms, was 0 ms"), outcome.err());
    }

    @Test
    void backfillNamesAnUnreachableBrokerInOneLine() {
        Outcome outcome = run(
                "backfill",
                "--from",
                "2026-11-25",
                "--to",
                "2026-11-26",
                "--output-topic",
                "replayed",
                "-D",
                "kafka.bootstrap-servers=localhost:1",
                "-D",
                "kafka.admin-timeout=1s");
        assertEquals(1, outcome.exitCode());
        assertEquals(
                "strawless backfill: Kafka broker not reachable at localhost:1 within 1s (set kafka.bootstrap-servers)",
                outcome.err().strip());
    }

    /**
     * The live job's settings are passed with -D, parallelism.default among them: --parallelism without a value
     * leaves it as given (else 2), and where both are given the flag wins. The line for a cluster says which.
     */
    @Test
    void backfillParallelismIsTheFlagsElseTheSettingElseTwo() {
        String[] common = {"backfill", "--from", "2026-11-25", "--to", "2026-11-26", "--output-topic", "replayed",
                "-D", "kafka.bootstrap-servers=localhost:1", "-D", "kafka.admin-timeout=1s"};

        assertEquals(2, backfillParallelism(common));
        assertEquals(5, backfillParallelism(concat(common, "-D", "parallelism.default=5")));
        assertEquals(3, backfillParallelism(concat(common, "-D", "parallelism.default=5", "--parallelism", "3")));
        assertEquals(3, backfillParallelism(concat(common, "--parallelism", "3")));

        Outcome zero = run(concat(common, "-D", "parallelism.default=0"));
        assertEquals(2, zero.exitCode(), zero.err());
        assertTrue(zero.err().contains("-D parallelism.default must be at least 1, was 0"), zero.err());
        Outcome flagZero = run(concat(common, "-D", "parallelism.default=5", "--parallelism", "0"));
        assertEquals(2, flagZero.exitCode(), flagZero.err());
        assertTrue(flagZero.err().contains("--parallelism must be at least 1, was 0"), flagZero.err());
        // evaluate and demo read the setting the same way (refused before their broker starts).
        for (String command : new String[] {"evaluate", "demo"}) {
            Outcome other = run(command, "-D", "parallelism.default=0");
            assertEquals(2, other.exitCode(), command + ": " + other.err());
            assertTrue(other.err().contains("-D parallelism.default must be at least 1, was 0"), other.err());
        }
    }

    /** The parallelism the backfill's "On a cluster" line names (printed before it finds no broker). */
    private static int backfillParallelism(String... args) {
        String out = backfillOutput(args);
        Matcher matcher = Pattern.compile(" -Dparallelism\\.default=(\\d+) ").matcher(out);
        assertTrue(matcher.find(), out);
        return Integer.parseInt(matcher.group(1));
    }

    /** What a backfill prints before it finds that there is no broker. */
    private static String backfillOutput(String... args) {
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        int exitCode = StrawlessCli.commandLine().setErr(new PrintWriter(err)).setOut(new PrintWriter(out))
                .execute(args);
        assertEquals(1, exitCode, out + "\n" + err);
        return out.toString();
    }

    /** The backfill says how long its new output topics keep records; --output-retention takes a duration or forever. */
    @Test
    void backfillOutputRetentionIsADurationOrForever() {
        String[] common = {"backfill", "--from", "2026-11-25", "--to", "2026-11-26", "--output-topic", "replayed",
                "-D", "kafka.bootstrap-servers=localhost:1", "-D", "kafka.admin-timeout=1s"};

        assertTrue(backfillOutput(common).contains("New output topics keep records for 7 d (--output-retention)"));
        assertTrue(backfillOutput(concat(common, "-D", "topics.retention=3d"))
                .contains("New output topics keep records for 3 d (--output-retention)"));
        assertTrue(backfillOutput(concat(common, "--output-retention", "forever"))
                .contains("New output topics keep records forever (--output-retention)"));
        assertTrue(backfillOutput(concat(common, "--output-retention", "30d", "-D", "topics.retention=3d"))
                .contains("New output topics keep records for 30 d (--output-retention)"));

        for (String bad : List.of("0", "soon", "-5d")) {
            Outcome outcome = run(concat(common, "--output-retention", bad));
            assertEquals(2, outcome.exitCode(), bad + ": " + outcome.err());
            assertTrue(outcome.err().contains("--output-retention"), outcome.err());
        }
    }

    private static String[] concat(String[] first, String... more) {
        return Stream.concat(Arrays.stream(first), Arrays.stream(more)).toArray(String[]::new);
    }

    /** 1764086400 as milliseconds is 1970-01-21: a backfill of it would find nothing, or the wrong records. */
    @Test
    void epochSecondsAreAUsageErrorNamingTheFlag() {
        Outcome outcome = run("backfill", "--from", "1764086400", "--to", "1764090000000", "--output-topic", "t",
                "-D", "kafka.bootstrap-servers=localhost:1", "-D", "kafka.admin-timeout=1s");
        assertEquals(2, outcome.exitCode(), outcome.err());
        assertTrue(outcome.err().contains("--from"), outcome.err());
        assertTrue(outcome.err().contains("'1764086400' looks like epoch seconds"), outcome.err());
    }

    /** Refused before the broker is asked (here there is none), naming the flag to change. */
    @Test
    void backfillTopicNamesKafkaRefusesAreUsageErrors() {
        Outcome bad = backfillWithoutABroker("--output-topic", "credit batches");
        assertEquals(2, bad.exitCode(), bad.err());
        assertTrue(bad.err().contains("Invalid value for --output-topic: Topic name is invalid: 'credit batches'"),
                bad.err());

        // 245 characters are a legal name (249 at most), and with ".dlq" appended, but not with ".unscored".
        Outcome tooLong = backfillWithoutABroker("--output-topic", "t".repeat(245));
        assertEquals(2, tooLong.exitCode(), tooLong.err());
        assertTrue(tooLong.err().contains("Invalid value for --output-topic (the unscored topic"), tooLong.err());
    }

    /**
     * Two output topics that are one are refused naming the flags, which override the topics.* keys the job's own
     * check would name; a topic named after --output-topic counts too.
     */
    @Test
    void backfillOutputTopicsThatCoincideAreUsageErrorsNamingTheFlags() {
        Outcome same = backfillWithoutABroker("--output-topic", "credit.out", "--dead-letter-topic", "credit.out");
        assertEquals(2, same.exitCode(), same.err());
        assertTrue(same.err().startsWith("Invalid value: --output-topic and --dead-letter-topic both name credit.out:"
                + " the batches, the dead letters and the unscored trajectories each need a topic of their own (one"
                + " topic would mix their records); pass another --output-topic, --dead-letter-topic or"
                + " --unscored-topic"), same.err());

        Outcome named = backfillWithoutABroker("--output-topic", "credit.out", "--dead-letter-topic",
                "credit.out.unscored");
        assertEquals(2, named.exitCode(), named.err());
        assertTrue(named.err().startsWith("Invalid value: --dead-letter-topic and --output-topic (the unscored topic"
                + " credit.out.unscored is named after it) both name credit.out.unscored"), named.err());
    }

    /** What the job refuses is a usage error before anything touches Kafka (here there is no broker to touch). */
    @Test
    void backfillJobSettingsAreCheckedBeforeTheBroker() {
        Outcome outcome = backfillWithoutABroker("--output-topic", "t", "-D", "kafka.transaction-timeout=1min",
                "-D", "execution.checkpointing.timeout=2min");
        assertEquals(2, outcome.exitCode(), outcome.err());
        assertTrue(outcome.err().contains("kafka.transaction-timeout (PT1M) must exceed"), outcome.err());
    }

    /** Flink refuses an interval under 10 ms in words that do not name the key; the refusal here does. */
    @Test
    void backfillNamesTheCheckpointIntervalFlinkRefuses() {
        Outcome outcome = backfillWithoutABroker("--output-topic", "t", "-D", "execution.checkpointing.interval=0");
        assertEquals(2, outcome.exitCode(), outcome.err());
        assertTrue(outcome.err().startsWith("execution.checkpointing.interval must be at least 10 ms, was 0 ms"),
                outcome.err());
    }

    @Test
    void aMisspeltSettingIsAUsageErrorBeforeAnythingStarts() {
        Outcome outcome = run("demo", "-D", "job.outcome-timeot=1min");
        assertEquals(2, outcome.exitCode());
        assertTrue(outcome.err().contains("-D job.outcome-timeot: not a Strawless setting"), outcome.err());
    }

    /** Refused for every command before a client is made, rather than ignored by the client and reported as no broker. */
    @Test
    void aMisspeltKafkaClientSettingIsAUsageError() {
        Outcome outcome = run("topics", "check", "-D", "kafka.client.securty.protocol=SASL_SSL",
                "-D", "kafka.bootstrap-servers=localhost:1", "-D", "kafka.admin-timeout=1s");
        assertEquals(2, outcome.exitCode(), outcome.err());
        assertTrue(outcome.err().contains("-D kafka.client.securty.protocol: not a Kafka client setting"),
                outcome.err());
        assertTrue(outcome.err().contains("did you mean kafka.client.security.protocol?"), outcome.err());
    }

    @Test
    void aSettingOfTheWrongTypeNamesItsKey() {
        Outcome outcome =
                run("backfill", "--from", "1764086400000", "--to", "1764090000000", "--output-topic", "t",
                        "-D", "batch.max-latency=soon");
        assertEquals(2, outcome.exitCode());
        assertTrue(outcome.err().contains("-D batch.max-latency=soon"), outcome.err());
    }

    @Test
    void anUnknownEstimatorIsAUsageErrorBeforeTheBrokerStarts() {
        Outcome outcome = run("demo", "-D", "credit.estimator=bogus");
        assertEquals(2, outcome.exitCode());
        assertTrue(outcome.err().contains("-D credit.estimator=bogus: Could not parse value 'bogus' for key"
                + " 'credit.estimator': expected one of: outcome, grpo, "), outcome.err());
    }

    /** Their results come after minutes of work: a path that cannot be written is refused before anything runs. */
    @Test
    void outputFilesAreCheckedBeforeTheRun(@TempDir Path dir) {
        String missing = dir.resolve("no-such-dir").resolve("out.json").toString();
        Outcome benchJson = run("bench", "--json", missing);
        assertEquals(2, benchJson.exitCode(), benchJson.err());
        assertTrue(benchJson.err().contains("Invalid value: --json " + missing + ": directory "
                + dir.resolve("no-such-dir") + " does not exist"), benchJson.err());

        Outcome benchProfile = run("bench", "--profile", dir.resolve("no-such-dir").resolve("bench").toString());
        assertEquals(2, benchProfile.exitCode(), benchProfile.err());
        assertTrue(benchProfile.err().contains("Invalid value: --profile "), benchProfile.err());

        // A tiny run, so that a check come too late fails here quickly, not after minutes of measuring.
        Outcome kernelsJson = run("bench-kernels", "--estimators", "grpo", "--backends", "java", "--shapes", "4x2",
                "--iterations", "1", "--warmup-seconds", "0", "--json", missing);
        assertEquals(2, kernelsJson.exitCode(), kernelsJson.err());
        assertTrue(kernelsJson.err().contains("Invalid value: --json " + missing + ": directory "
                + dir.resolve("no-such-dir") + " does not exist"), kernelsJson.err());

        Outcome evaluateJson = run("evaluate", "--json", missing);
        assertEquals(2, evaluateJson.exitCode(), evaluateJson.err());
        assertTrue(evaluateJson.err().contains("Invalid value: --json " + missing), evaluateJson.err());

        Outcome aDirectory = run("demo", "--json", dir.toString());
        assertEquals(2, aDirectory.exitCode(), aDirectory.err());
        assertTrue(aDirectory.err().contains("--json " + dir + ": it is a directory"), aDirectory.err());
    }

    @Test
    void evaluateChecksTheCreditSettingsOfEachEstimatorBeforeTheBrokerStarts() {
        Outcome outcome = run("evaluate", "-D", "credit.std-ddof=2");
        assertEquals(2, outcome.exitCode(), outcome.err());
        assertTrue(outcome.err().contains("Invalid value: -D credit.std-ddof must be 0 or 1"), outcome.err());

        // Allowed for grpo, not for gigpo: the run of gigpo would fail after the others.
        Outcome oneEstimator = run("evaluate", "--estimators", "grpo,gigpo", "-D", "credit.scale-rewards=batch");
        assertEquals(2, oneEstimator.exitCode(), oneEstimator.err());
        assertTrue(oneEstimator.err().contains("credit.scale-rewards batch is defined for grpo only"),
                oneEstimator.err());
        // Each estimator's run reads the topics named after it: a second grpo run would count the first's batches.
        Outcome twice = run("evaluate", "--estimators", "grpo,outcome,grpo");
        assertEquals(2, twice.exitCode(), twice.err());
        assertTrue(twice.err().contains("Invalid value: --estimators: 'grpo' is named twice"), twice.err());
    }

    @Test
    void aParallelismThatDoesNotReadSaysWhy() {
        Outcome outcome = run("demo", "-D", "parallelism.default=two");
        assertEquals(2, outcome.exitCode(), outcome.err());
        assertTrue(outcome.err().contains("-D parallelism.default: Could not parse value 'two' for key"
                + " 'parallelism.default': For input string: \"two\""), outcome.err());
    }

    @Test
    void aFlagsBadValueIsNamedByTheFlag() {
        Outcome backfill = run("backfill", "--from", "2025-01-01T00:00:00Z", "--to", "2025-01-02T00:00:00Z",
                "--output-topic", "credit.batches.v2", "--estimator", "nope");
        assertEquals(2, backfill.exitCode(), backfill.err());
        assertTrue(backfill.err().contains("Invalid value for option '--estimator': Could not parse value 'nope' for"
                + " key 'credit.estimator': expected one of: outcome, grpo, "), backfill.err());

        Outcome kernels = run("bench-kernels", "--backends", "gpu", "--iterations", "1");
        assertEquals(2, kernels.exitCode(), kernels.err());
        assertTrue(kernels.err().contains("Invalid value for option '--backends' (B): Could not parse value 'gpu' for"
                + " key 'credit.backend': expected one of: auto, opencl, jtp, java"), kernels.err());
    }

    @Test
    void demoAndEvaluateCheckTheJobsSettingsBeforeTheBrokerStarts() {
        // The job refuses a transaction timeout its checkpoints could outlast; it used to fail after the broker, the
        // topics and the fleet's records (demo), or after the runs of the estimators before (evaluate).
        for (String command : List.of("demo", "evaluate")) {
            Outcome outcome = run(command, "-D", "kafka.transaction-timeout=1s");
            assertEquals(2, outcome.exitCode(), command + ": " + outcome.err());
            assertTrue(outcome.err().contains("Invalid value: -D kafka.transaction-timeout (PT1S) must exceed"),
                    command + ": " + outcome.err());
            assertFalse(outcome.out().contains("Starting the in-process Kafka broker"), command + ": " + outcome.out());

            Outcome interval = run(command, "-D", "execution.checkpointing.interval=0");
            assertEquals(2, interval.exitCode(), command + ": " + interval.err());
            assertTrue(interval.err().contains("-D execution.checkpointing.interval must be at least 10 ms"),
                    command + ": " + interval.err());
        }
    }

    /**
     * What the topics and the admin client would refuse once the broker is up is refused before it starts, as the job's
     * own settings are: a min.insync.replicas above the replication factor used to fail the demo after the broker. So
     * is a reporter list without the demo's reporter, which used to fail it only after its run.
     */
    @Test
    void demoAndEvaluateCheckTheTopicClientAndReporterSettingsBeforeTheBrokerStarts() {
        for (String command : List.of("demo", "evaluate")) {
            Outcome outcome = run(command, "-D", "topics.min-insync-replicas=2");
            assertEquals(2, outcome.exitCode(), command + ": " + outcome.err());
            assertTrue(outcome.err().contains("Invalid value: -D topics.min-insync-replicas=2 exceeds"
                    + " topics.replication-factor=1"), command + ": " + outcome.err());
            assertFalse(outcome.out().contains("Starting the in-process Kafka broker"), command + ": " + outcome.out());

            Outcome protocol = run(command, "-D", "kafka.client.security.protocol=SASL_SSLX");
            assertEquals(2, protocol.exitCode(), command + ": " + protocol.err());
            assertTrue(protocol.err().contains("Invalid value: -D bad kafka.client.* setting: Invalid value SASL_SSLX"
                    + " for configuration security.protocol"), command + ": " + protocol.err());
            assertFalse(protocol.out().contains("Starting the in-process Kafka broker"),
                    command + ": " + protocol.out());
        }

        // The demo shows the job's books and counts its restarts through its own reporter (evaluate reads neither).
        Outcome reporters = run("demo", "-D", "metrics.reporters=jmx");
        assertEquals(2, reporters.exitCode(), reporters.err());
        assertTrue(reporters.err().contains("Invalid value: -D metrics.reporters=jmx leaves out the reporter the job's"
                + " books are read through: -D metrics.reporters must name strawless-demo, or be left unset"),
                reporters.err());
        assertFalse(reporters.out().contains("Starting the in-process Kafka broker"), reporters.out());
    }

    @Test
    void flinkAndKafkaClientKeysPass() {
        // Refused for another reason (the time range), so the keys themselves were accepted.
        Outcome outcome = run(
                "backfill",
                "--from",
                "1764090000000",
                "--to",
                "1764086400000",
                "--output-topic",
                "t",
                "-D",
                "execution.checkpointing.interval=5s",
                "-D",
                "kafka.client.security.protocol=SSL",
                "-D",
                "source.reader.close.timeout=1min");
        assertEquals(2, outcome.exitCode());
        assertTrue(outcome.err().contains("--from"), outcome.err());
    }

    private record Outcome(int exitCode, String err, String out) {}

    /** A day's backfill pointed at a port where no broker listens, with {@code args}: for what is refused first. */
    private static Outcome backfillWithoutABroker(String... args) {
        List<String> all = new ArrayList<>(List.of("backfill", "--from", "2026-11-25", "--to", "2026-11-26",
                "-D", "kafka.bootstrap-servers=localhost:1", "-D", "kafka.admin-timeout=1s"));
        all.addAll(List.of(args));
        return run(all.toArray(String[]::new));
    }

    private static Outcome run(String... args) {
        StringWriter err = new StringWriter();
        StringWriter out = new StringWriter();
        int exitCode = StrawlessCli.commandLine()
                .setErr(new PrintWriter(err))
                .setOut(new PrintWriter(out))
                .execute(args);
        return new Outcome(exitCode, err.toString(), out.toString());
    }
}
