package io.strawless.ops.demo;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.strawless.ops.StrawlessCli;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * job.outcome-timeout-policy=PROCESS_ONLY end to end: trajectories whose outcome never comes but that have verdicts
 * are published, marked, and the books still balance (they count no outcome).
 */
class ScoredWithoutOutcomeTest {

    @Test
    void timedOutTrajectoriesWithVerdictsAreScoredAndTheBooksBalance(@TempDir Path dir) throws Exception {
        Path json = dir.resolve("summary.json");
        StringWriter out = new StringWriter();
        int exitCode = StrawlessCli.commandLine()
                .setOut(new PrintWriter(out))
                .setErr(new PrintWriter(out))
                .execute(
                        "demo", "--trajectories", "300", "--agents", "20", "--missing-outcome-share", "0.2",
                        "--verdict-share", "1.0", "--parallelism", "1", "--json", json.toString(),
                        "-D", "credit.estimator=process", "-D", "credit.backend=java",
                        "-D", "job.outcome-timeout-policy=PROCESS_ONLY");
        assertEquals(0, exitCode, out.toString());

        JsonNode summary = new ObjectMapper().readTree(json.toFile());
        long withoutOutcome = summary.get("scored_without_outcome").asLong();
        assertTrue(withoutOutcome > 20, "about a fifth of 300 trajectories lose their outcome: " + withoutOutcome);
        assertTrue(summary.get("reconciled").asBoolean(), out.toString());
        assertTrue(out.toString().contains("of them without outcome"), out.toString());
        for (JsonNode book : summary.get("metric_books")) {
            assertTrue(book.get("holds").asBoolean(), "the job's books: " + summary.get("metric_books"));
        }
    }
}
