package io.strawless.ops.score;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.strawless.ops.StrawlessCli;
import io.strawless.pipeline.credit.CreditConfig;
import io.strawless.pipeline.credit.CreditOptions;
import io.strawless.pipeline.credit.Estimator;
import io.strawless.pipeline.reliability.ReliabilityOptions;
import java.io.ByteArrayInputStream;
import java.io.InputStream;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;
import org.apache.flink.configuration.Configuration;
import org.junit.jupiter.api.Test;

/**
 * {@code strawless score} through the real command line: stdin in, stdout out. Expected numbers are cases of
 * shared/golden/credit-vectors.json (grpo group [1,0,0,1] with verl; gae_schulman), to its 1e-5.
 */
class ScoreCommandTest {

    private static final double TOLERANCE = 1e-5;
    private static final ObjectMapper JSON = new ObjectMapper();

    /** The README's first example: a verl GRPO group of four, one trajectory with a tool step. */
    private static final String GRPO_GROUP = """
            {"trajectory_id": "t1", "group_id": "g1", "task_id": "k1", "outcome": 1.0, "steps": [{"index": 0}, {"index": 1, "trainable": false}, {"index": 2}]}
            {"trajectory_id": "t2", "group_id": "g1", "task_id": "k1", "outcome": 0.0, "steps": [{"index": 0}, {"index": 1}]}
            {"trajectory_id": "t3", "group_id": "g1", "task_id": "k1", "outcome": 0.0, "steps": [{"index": 0}]}
            {"trajectory_id": "t4", "group_id": "g1", "task_id": "k1", "outcome": 1.0, "steps": [{"index": 0}]}
            """;

    /** The README's second example: gae_schulman, terminated and truncated with V(s_4) = 0.9. */
    private static final String GAE_PAIR = """
            {"trajectory_id": "done", "outcome": null, "terminal": "TERMINATED", "bootstrap_value": null, "steps": [{"index": 0, "reward": 0.0, "value": 0.5}, {"index": 1, "reward": 0.0, "value": 0.6}, {"index": 2, "reward": 0.0, "value": 0.7}, {"index": 3, "reward": 1.0, "value": 0.8}]}
            {"trajectory_id": "cut", "terminal": "TRUNCATED", "bootstrap_value": 0.9, "steps": [{"index": 0, "reward": 0.0, "value": 0.5}, {"index": 1, "reward": 0.0, "value": 0.6}, {"index": 2, "reward": 0.0, "value": 0.7}, {"index": 3, "reward": 1.0, "value": 0.8}]}
            """;

    @Test
    void grpoGroupRoundTripsWithVerlNumbers() throws Exception {
        Outcome outcome = score(GRPO_GROUP, "--estimator", "grpo", "--preset", "verl", "--backend", "java");
        assertEquals(0, outcome.exitCode(), outcome.err());
        List<JsonNode> lines = outcome.lines();
        assertEquals(List.of("t1", "t2", "t3", "t4"),
                lines.stream().map(l -> l.get("trajectory_id").asText()).toList());
        // verl: (r - mean) / (std + 1e-6) over [1, 0, 0, 1]; the tool step gets nothing; the return is the advantage.
        assertSteps(lines.get(0), new int[] {0, 1, 2}, new double[] {0.866024, 0, 0.866024},
                new double[] {0.866024, 0, 0.866024});
        assertSteps(lines.get(1), new int[] {0, 1}, new double[] {-0.866024, -0.866024},
                new double[] {-0.866024, -0.866024});
        assertSteps(lines.get(2), new int[] {0}, new double[] {-0.866024}, new double[] {-0.866024});
        assertSteps(lines.get(3), new int[] {0}, new double[] {0.866024}, new double[] {0.866024});
        assertTrue(outcome.err().contains("scored 4 trajectories with grpo-verl-"), outcome.err());
    }

    @Test
    void gaeTerminatedAndTruncatedRoundTripWithGoldenNumbers() throws Exception {
        Outcome outcome = score(GAE_PAIR, "--estimator", "gae", "--gamma", "0.99", "--lambda", "0.95",
                "--backend", "java");
        assertEquals(0, outcome.exitCode(), outcome.err());
        List<JsonNode> lines = outcome.lines();
        int[] indices = {0, 1, 2, 3};
        assertSteps(lines.get(0), indices, new double[] {0.429226, 0.356434, 0.2801, 0.2},
                new double[] {0.929226, 0.956434, 0.9801, 1.0});
        assertSteps(lines.get(1), indices, new double[] {1.170458, 1.144559, 1.118086, 1.091},
                new double[] {1.670458, 1.744559, 1.818086, 1.891});
    }

    @Test
    void groupsAreTheLinesThatShareAGroupIdWhereverTheyAre() throws Exception {
        String input = """
                {"trajectory_id": "a1", "group_id": "a", "outcome": 1.0, "steps": [{}]}
                {"trajectory_id": "b1", "group_id": "b", "outcome": 0.0, "steps": [{}]}

                {"trajectory_id": "a2", "group_id": "a", "outcome": 0.0, "steps": [{}]}
                {"trajectory_id": "b2", "group_id": "b", "outcome": 0.0, "steps": [{}]}
                {"trajectory_id": "b3", "group_id": "b", "outcome": 1.0, "steps": [{}]}
                """;
        Outcome outcome = score(input, "--estimator", "dr_grpo", "-D", "credit.backend=java");
        assertEquals(0, outcome.exitCode(), outcome.err());
        // Dr. GRPO: outcome minus its group's mean; group a = {a1, a2} (mean 1/2), group b = {b1, b2, b3} (mean 1/3).
        double[] expected = {0.5, -1.0 / 3, -0.5, -1.0 / 3, 2.0 / 3};
        List<JsonNode> lines = outcome.lines();
        assertEquals(List.of("a1", "b1", "a2", "b2", "b3"),
                lines.stream().map(l -> l.get("trajectory_id").asText()).toList());
        for (int i = 0; i < expected.length; i++) {
            assertEquals(expected[i], lines.get(i).get("steps").get(0).get("advantage").asDouble(), TOLERANCE,
                    "line " + i);
        }
    }

    @Test
    void noInputIsNoErrorAndOpensNoBackend() throws Exception {
        Outcome outcome = score("\n", "--estimator", "grpo", "--backend", "opencl");
        assertEquals(0, outcome.exitCode(), outcome.err());
        assertEquals("", outcome.out());
        assertEquals(List.of("strawless score: no trajectories on stdin, nothing scored (grpo-none-f391d24e)"),
                outcome.errLines());
    }

    @Test
    void aCreditThatOverflowsIsRefusedRatherThanWrittenAsNaN() throws Exception {
        String input = """
                {"trajectory_id": "t1", "group_id": "g", "outcome": 1.7976931348623157e308, "steps": [{}]}
                {"trajectory_id": "t2", "group_id": "g", "outcome": -1.7976931348623157e308, "steps": [{}]}
                """;
        Outcome outcome = score(input, "--estimator", "grpo", "--backend", "java");
        assertEquals(2, outcome.exitCode(), outcome.err());
        assertEquals("", outcome.out());
        assertTrue(outcome.err().startsWith("strawless score: trajectory t1: its credit is not a finite number"),
                outcome.err());
    }

    @Test
    void aBadLineIsNamedWithItsFieldOnOneLineAndNothingIsWritten() throws Exception {
        String input = """
                {"trajectory_id": "t1", "outcome": 1.0, "steps": [{"reward": 0.0}]}
                {"trajectory_id": "t2", "outcome": 1.0, "steps": [{"reward": 0.0}]}
                {"trajectory_id": "t3", "outcome": 1.0, "steps": [{"reward": 0.0}, {"reward": "abc"}]}
                """;
        Outcome outcome = score(input, "--estimator", "grpo", "--backend", "java");
        assertEquals(2, outcome.exitCode());
        assertEquals("", outcome.out());
        assertEquals(List.of("line 3: steps[1].reward: expected a number, got \"abc\""), outcome.errLines());
    }

    @Test
    void everyBadLineIsReportedOnALineOfItsOwn() throws Exception {
        String input = """
                {"trajectory_id": "t1", "outcome": 1.0, "steps": []}
                {"trajectory_id": "t2", "outcome": 1.0, "steps": [{"rewrd": 0.0}]}
                {"trajectory_id": "t3", "outcome": 1.0, "steps": [], "terminal": "DONE"}
                not json
                {"trajectory_id": "t1", "outcome": 1.0, "steps": []}
                {"trajectory_id": "t6", "outcome": 1.0, "steps": [{"trainable": "yes"}]}
                {"trajectory_id": "t7", "steps": []}
                """;
        Outcome outcome = score(input, "--estimator", "outcome", "--backend", "java");
        assertEquals(2, outcome.exitCode());
        List<String> errors = outcome.errLines();
        assertEquals(6, errors.size(), outcome.err());
        assertTrue(errors.get(0).startsWith("line 2: steps[0].rewrd: unknown field"), errors.get(0));
        assertTrue(errors.get(1).startsWith("line 3: terminal: expected one of [NONE, TERMINATED, TRUNCATED]"),
                errors.get(1));
        assertTrue(errors.get(2).startsWith("line 4: not valid JSON"), errors.get(2));
        assertEquals("line 5: trajectory_id: 't1' is also on line 1", errors.get(3));
        assertEquals("line 6: steps[0].trainable: expected true or false, got \"yes\"", errors.get(4));
        assertEquals("line 7: trajectory 't7': outcome is absent (NaN) but estimator outcome needs it", errors.get(5));
    }

    /**
     * An explicit NaN or infinity is refused with its field, as the job dead-letters it (NON_FINITE_NUMBER): NaN is
     * not read as "none", which is said by leaving the field out or null.
     */
    @Test
    void nonFiniteNumbersAreRefusedWithTheirFieldAndNullMeansNone() throws Exception {
        String input = """
                {"trajectory_id": "t1", "steps": [{"reward": 0.0, "value": 0.5}]}
                {"trajectory_id": "t2", "steps": [{"reward": 0.0, "value": 1e999}]}
                {"trajectory_id": "t3", "steps": [{"reward": NaN, "value": 0.5}]}
                {"trajectory_id": "t4", "outcome": -Infinity, "steps": [{"reward": 0.0, "value": 0.5}]}
                {"trajectory_id": "t5", "steps": [{"reward": 0.0, "value": 0.5, "verifier_scores": {"v": NaN}}]}
                {"trajectory_id": "t6", "steps": [{"reward": 0.0, "value": null}]}
                """;
        Outcome outcome = score(input, "--estimator", "gae", "--backend", "java");
        assertEquals(2, outcome.exitCode());
        assertEquals("", outcome.out());
        List<String> expected = List.of(
                "line 2: steps[0].value: expected a finite number, got Infinity (for none, leave the field out or"
                        + " write null)",
                "line 3: steps[0].reward: expected a finite number, got NaN (for none, leave the field out or write"
                        + " null)",
                "line 4: outcome: expected a finite number, got -Infinity (for none, leave the field out or write"
                        + " null)",
                "line 5: steps[0].verifier_scores.v: expected a finite number, got NaN (for none, leave the verifier"
                        + " out)",
                "line 6: trajectory 't6' step 0: value is absent (NaN) but estimator gae needs it");
        assertEquals(expected, outcome.errLines());
    }

    /**
     * Under process each step says what its verdicts added (the batch's process_reward): their weighted mean times
     * credit.process-coef, here without a baseline; a step no verifier scored, and a tool step, have none.
     */
    @Test
    void processStepsCarryTheirProcessReward() throws Exception {
        String input = """
                {"trajectory_id": "t1", "outcome": 1.0, "steps": [{"index": 0, "verifier_scores": {"v": 0.8, "w": 0.4}}, {"index": 1}, {"index": 2, "trainable": false, "verifier_scores": {"v": 1.0}}, {"index": 3, "verifier_scores": {"v": 1.0}}]}
                """;
        Outcome outcome = score(input, "--estimator", "process", "--backend", "java",
                "-D", "credit.process-baseline=none", "-D", "credit.process-coef=0.5");
        assertEquals(0, outcome.exitCode(), outcome.err());
        JsonNode steps = outcome.lines().get(0).get("steps");
        assertEquals(0.3, steps.get(0).get("process_reward").asDouble(), TOLERANCE);
        assertFalse(steps.get(1).has("process_reward"), steps.get(1).toString());
        assertFalse(steps.get(2).has("process_reward"), steps.get(2).toString());
        assertEquals(0.5, steps.get(3).get("process_reward").asDouble(), TOLERANCE);

        Outcome grpo = score(GRPO_GROUP, "--estimator", "grpo", "--backend", "java");
        assertFalse(grpo.out().contains("process_reward"), "no process rewards under other estimators");
    }

    /**
     * Offline there is no reliability model, so process weights verifiers by credit.verifier-weights alone, and the
     * fingerprint printed is the one the job's batches carry under reliability.weight-verifiers=false: not that of its
     * default, learnt weights, whose numbers score cannot compute.
     */
    @Test
    void processNamesTheRuleItScoresByWhichHasNoLearntWeights() throws Exception {
        String input = """
                {"trajectory_id": "t1", "outcome": 1.0, "steps": [{"index": 0, "verifier_scores": {"v": 0.8}}]}
                """;
        Configuration job = new Configuration();
        job.set(CreditOptions.ESTIMATOR, Estimator.PROCESS);
        String learntWeights = CreditConfig.from(job).fingerprint();
        job.set(ReliabilityOptions.WEIGHT_VERIFIERS, false);
        String configuredWeights = CreditConfig.from(job).fingerprint();
        assertNotEquals(learntWeights, configuredWeights);

        Outcome outcome = score(input, "--estimator", "process", "--backend", "java");
        assertEquals(0, outcome.exitCode(), outcome.err());
        assertEquals("strawless score: scored 1 trajectories with " + configuredWeights + " on java",
                outcome.err().strip());
        Outcome saidSo = score(input, "--estimator", "process", "--backend", "java",
                "-D", "reliability.weight-verifiers=false");
        assertEquals(outcome.out(), saidSo.out());
        assertEquals(outcome.err(), saidSo.err());

        Outcome learnt = score(input, "--estimator", "process", "-D", "reliability.weight-verifiers=true");
        assertEquals(2, learnt.exitCode());
        assertEquals(List.of("strawless score: reliability.weight-verifiers=true: the verifier weights the job learns"
                + " from its stream of verdicts cannot be learnt from a file; score weights verifiers by"
                + " credit.verifier-weights alone: leave the key out, or set it to false"), learnt.errLines());
        assertEquals(0, score(GRPO_GROUP, "--estimator", "grpo", "--backend", "java",
                "-D", "reliability.weight-verifiers=true").exitCode(), "no other estimator reads it");
    }

    @Test
    void aGroupWhoseMembersDoNotGoTogetherIsAnInputErrorOnOneLine() throws Exception {
        String input = """
                {"trajectory_id": "t1", "group_id": "g", "outcome": 1.0, "steps": [{"index": 0, "verifier_scores": {"v": 1.0}}]}
                {"trajectory_id": "t2", "group_id": "g", "steps": [{"index": 0, "verifier_scores": {"v": 0.0}}]}
                """;
        Outcome outcome = score(input, "--estimator", "process", "--backend", "java");
        assertEquals(2, outcome.exitCode());
        assertEquals(1, outcome.errLines().size(), outcome.errLines().toString());
        assertTrue(outcome.errLines().get(0).startsWith("strawless score: group 'g': trajectory 't1' has an outcome"
                + " and 't2' has none"), outcome.errLines().toString());
    }

    @Test
    void aBadSettingIsAUsageErrorOnOneLine() throws Exception {
        Outcome outcome = score(GAE_PAIR, "--estimator", "gae", "--gamma", "1.5");
        assertEquals(2, outcome.exitCode());
        assertEquals(List.of("strawless score: --gamma must be in [0.0, 1.0], not 1.5"), outcome.errLines(),
                "named by the flag the user typed");

        Outcome byKey = score(GAE_PAIR, "--estimator", "gae", "-D", "credit.gamma=1.5");
        assertEquals(List.of("strawless score: credit.gamma must be in [0.0, 1.0], not 1.5"), byKey.errLines());

        // A setting the scorer does not read but the fingerprint counts is refused as the job refuses it: the printed
        // fingerprint would name numbers no batch carries.
        Outcome decay = score(GAE_PAIR, "--estimator", "outcome", "-D", "baseline.decay=1.5");
        assertEquals(2, decay.exitCode());
        assertEquals(1, decay.errLines().size(), decay.errLines().toString());
        assertTrue(decay.errLines().get(0).startsWith("strawless score: ")
                && decay.errLines().get(0).contains("baseline.decay"), decay.errLines().toString());

        Outcome preset = score(GAE_PAIR, "--estimator", "gae", "--preset", "trl");
        assertEquals(2, preset.exitCode());
        assertEquals(List.of("strawless score: --preset trl does not define estimator 'gae' (it defines grpo, dr_grpo,"
                + " rloo); use credit.preset none and set the options explicitly"), preset.errLines());
    }

    /**
     * A flag that names an estimator, preset or backend takes the names its key takes, in any case; picocli refuses any
     * other with the flag and the names, as it refuses a value of the wrong type, before anything is read.
     */
    @Test
    void namedValuesAreReadAsTheirKeysReadThem() throws Exception {
        Outcome shouted = score(GRPO_GROUP, "--estimator", "GRPO", "--preset", "Verl", "--backend", "JAVA");
        assertEquals(0, shouted.exitCode(), shouted.err());
        assertEquals(score(GRPO_GROUP, "--estimator", "grpo", "--preset", "verl", "--backend", "java").out(),
                shouted.out());
        assertEquals("strawless score: scored 4 trajectories with grpo-verl-8e2578ac on java", shouted.err().strip());

        Outcome estimator = score(GAE_PAIR, "--estimator", "ppo");
        assertEquals(2, estimator.exitCode());
        assertEquals("Invalid value for option '--estimator': Could not parse value 'ppo' for key 'credit.estimator':"
                + " expected one of: outcome, grpo, dr_grpo, rloo, gae, reinforce_pp, reinforce_pp_baseline, process,"
                + " gigpo", estimator.errLines().get(0));
        Outcome preset = score(GAE_PAIR, "--estimator", "gae", "--preset", "foo");
        assertEquals(2, preset.exitCode());
        assertEquals("Invalid value for option '--preset': Could not parse value 'foo' for key 'credit.preset':"
                + " expected one of: none, verl, trl, openrlhf", preset.errLines().get(0));
        Outcome backend = score(GAE_PAIR, "--estimator", "gae", "--backend", "cuda");
        assertEquals(2, backend.exitCode());
        assertEquals(List.of("Invalid value for option '--backend': Could not parse value 'cuda' for key"
                + " 'credit.backend': expected one of: auto, opencl, jtp, java",
                "Try 'strawless score --help' for usage."), backend.errLines(), "the error, not the usage after it");
    }

    private static void assertSteps(JsonNode line, int[] indices, double[] advantages, double[] returns) {
        JsonNode steps = line.get("steps");
        assertEquals(indices.length, steps.size(), line.toString());
        for (int s = 0; s < indices.length; s++) {
            JsonNode step = steps.get(s);
            assertEquals(indices[s], step.get("index").asInt(), line.toString());
            assertEquals(advantages[s], step.get("advantage").asDouble(), TOLERANCE, "advantage of " + line);
            assertEquals(returns[s], step.get("return").asDouble(), TOLERANCE, "return of " + line);
        }
    }

    private record Outcome(int exitCode, String out, String err) {
        List<JsonNode> lines() throws Exception {
            List<JsonNode> lines = new ArrayList<>();
            for (String line : out.split("\n")) {
                lines.add(JSON.readTree(line));
            }
            return lines;
        }

        List<String> errLines() {
            return err.lines().toList();
        }
    }

    /** Runs {@code strawless score ARGS} with {@code stdin} as standard input. */
    private static Outcome score(String stdin, String... args) {
        InputStream originalIn = System.in;
        System.setIn(new ByteArrayInputStream(stdin.getBytes(StandardCharsets.UTF_8)));
        try {
            StringWriter out = new StringWriter();
            StringWriter err = new StringWriter();
            int exitCode = StrawlessCli.commandLine().setOut(new PrintWriter(out)).setErr(new PrintWriter(err))
                    .execute(Stream.concat(Stream.of("score"), Stream.of(args)).toArray(String[]::new));
            return new Outcome(exitCode, out.toString(), err.toString());
        } finally {
            System.setIn(originalIn);
        }
    }
}
