package io.strawless.ops.evaluate;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.strawless.ops.StrawlessCli;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;
import java.util.Map;
import java.util.regex.Pattern;
import org.apache.flink.configuration.Configuration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code strawless evaluate} end to end on a small, easy fleet: the shape of what it reports, not its timings. */
class EvaluateCommandTest {

    private record Outcome(int exitCode, String out, String err) {}

    private static Outcome run(String... args) {
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        int exitCode = StrawlessCli.commandLine()
                .setOut(new PrintWriter(out))
                .setErr(new PrintWriter(err))
                .execute(args);
        return new Outcome(exitCode, out.toString(), err.toString());
    }

    /**
     * At parallelism 2, so that two batching buckets learn verifier reliabilities; under a locale that writes 3,0 for
     * 3.0, which must not reach the progress lines.
     */
    @Test
    void gradesEachEstimatorAndPerStepCreditBeatsTheStraw(@TempDir Path dir) throws Exception {
        Path json = dir.resolve("evaluation.json");
        Locale original = Locale.getDefault();
        Locale.setDefault(Locale.GERMANY);
        Outcome outcome;
        try {
            outcome = run(
                    "evaluate",
                    "--estimators",
                    "outcome,process",
                    "--trajectories",
                    "160",
                    "--agents",
                    "20",
                    "--tasks",
                    "10",
                    "--parallelism",
                    "2",
                    "--seed",
                    "5",
                    "--json",
                    json.toString(),
                    "-D",
                    "execution.checkpointing.interval=1s",
                    "-D",
                    "credit.process-coef=1.0");
        } finally {
            Locale.setDefault(original);
        }

        assertEquals(0, outcome.exitCode(), outcome.err() + outcome.out());
        assertTrue(outcome.out().contains("outcome  (1/2) running the fleet through the job\n"), outcome.out());
        assertTrue(Pattern.compile("\n {10}\\[ *\\d+\\.\\ds\\] ").matcher(outcome.out()).find(),
                "the run's progress, indented, stamped as evaluate's own lines are: " + outcome.out());
        assertFalse(Pattern.compile("\\d,\\ds\\]").matcher(outcome.out()).find(), outcome.out());
        assertTrue(outcome.out().contains("outcome  (1/2) step AUC"), outcome.out());
        assertTrue(outcome.out().contains("process  (2/2)"), outcome.out());
        assertTrue(outcome.out().contains("Verifier reliability (process run)"), outcome.out());
        assertTrue(outcome.out().contains("Reward-hacking quarantine (process run): caught"), outcome.out());

        JsonNode report = new ObjectMapper().readTree(Files.readString(json));
        JsonNode estimators = report.get("estimators");
        assertEquals(2, estimators.size());
        double straw = estimators.get("outcome").get("step_auc").asDouble();
        double perStep = estimators.get("process").get("step_auc").asDouble();
        assertTrue(perStep > straw, "process " + perStep + " vs outcome " + straw);
        for (String field : new String[] {"reliability_max_error", "quarantine_precision", "quarantine_recall"}) {
            assertTrue(report.get(field).isNumber(), field + " in " + report);
        }
        assertEquals(4, report.get("verifiers").size(), "one entry per verifier of the default panel");
        assertTrue(report.get("verifiers").get("stamp").get("learnt").isNumber());
        assertEquals(2, report.get("reliability_buckets").asInt(), "each bucket's final model is graded");
        assertEquals(2, report.get("verifiers").get("stamp").get("learnt_by_bucket").size());
        assertTrue(report.get("quarantine").get("unjudged_hacks").isInt(), report.toString());
        assertTrue(estimators.get("process").get("config_fingerprint").asText().startsWith("process-"));
        assertTrue(estimators.get("outcome").get("config_fingerprint").asText().startsWith("outcome-"));
        JsonNode job = report.get("job");
        assertEquals("2", job.get("parallelism.default").asText());
        assertEquals("1s", job.get("execution.checkpointing.interval").asText(), "every -D setting given: " + job);
        assertEquals("1.0", job.get("credit.process-coef").asText(), job.toString());
        assertEquals(160, report.get("fleet").get("trajectories").asInt());
    }

    @Test
    void badEstimatorsAndVerifierSpecsAreUsageErrors() {
        assertUsageError("Invalid value for option '--estimators' (<estimators>): Could not parse value 'telepathy'"
                + " for key 'credit.estimator': expected one of: outcome, grpo, ",
                "evaluate", "--estimators", "outcome,telepathy");
        assertUsageError("--verifiers: coverage of checker", "evaluate", "--verifiers", "checker:0.9:0:1.5:100");
        // gae needs a critic's values, which the fleet never sends: every trajectory would go unscored.
        assertUsageError("Invalid value: --estimators: 'gae' needs each trainable step's value (a critic's V(s)),"
                + " which the evaluation's fleet does not send: leave it out of --estimators",
                "evaluate", "--estimators", "grpo,gae");

        // Settings the command makes itself would be replaced without a word: refused, saying what to use.
        assertUsageError("-D credit.estimator is set by 'strawless evaluate' itself: it runs each estimator of"
                + " --estimators", "evaluate", "-D", "credit.estimator=gae");
        assertUsageError("-D debug.inject-failures is set by 'strawless evaluate' itself: an evaluation runs without"
                + " failures", "evaluate", "-D", "debug.inject-failures=2");
        assertUsageError("-D kafka.bootstrap-servers is set by 'strawless demo' itself: the demo runs on a broker of"
                + " its own", "demo", "-D", "kafka.bootstrap-servers=kafka:9092");
        assertUsageError("-D debug.inject-failures is set by 'strawless demo' itself: use --inject-failures N, which"
                + " also checks that the job restarted N times and that its committed batches match an oracle's",
                "demo", "-D", "debug.inject-failures=2");
    }

    /** Settings that may be secrets reach neither the table nor the JSON; every other -D setting does. */
    @Test
    void theReportRecordsEveryGivenSettingButSecrets() {
        Configuration given = Configuration.fromMap(Map.of(
                "quarantine.min-learnt-steps", "50",
                "kafka.client.sasl.jaas.config", "secret",
                "fs.s3a.secret.key", "secret"));
        Configuration resolved = new Configuration(given);
        resolved.setString("parallelism.default", "3");

        Map<String, String> settings = EvaluateCommand.jobSettings(resolved, given);

        assertEquals("3", settings.get("parallelism.default"));
        assertEquals("50", settings.get("quarantine.min-learnt-steps"));
        assertEquals("******", settings.get("kafka.client.sasl.jaas.config"));
        assertEquals("******", settings.get("fs.s3a.secret.key"));
    }

    /** Exit code 2, and standard error that says {@code expected} (picocli prefixes some messages). */
    private static void assertUsageError(String expected, String... args) {
        Outcome outcome = run(args);
        assertEquals(2, outcome.exitCode(), outcome.err());
        assertTrue(outcome.err().contains(expected), outcome.err());
    }
}
