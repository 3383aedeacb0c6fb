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
 * The exactly-once drill, run as a user runs it ({@code strawless demo --inject-failures 3
 * --savepoint-resume}): three task failures, each restored from the last checkpoint by the restart
 * strategy, then a stop with a savepoint midway and a new job resumed from it, on the MiniCluster with the
 * in-process broker. The committed batches must hold every expected step exactly once, with the oracle's
 * advantage (see {@link ExactlyOnceCheck}).
 *
 * <p>CI size: about 50,000 steps, 45 to 110 s on two shared cores. The size (over 200,000 scored
 * steps) is the same command with {@code --trajectories 28000}: 1.5 to 2.5 minutes, too long for every CI run.
 */
class ExactlyOnceUnderFaultsTest {

    private static final int TRAJECTORIES = Integer.getInteger("strawless.drill.trajectories", 6_700);

    @Test
    void threeFailuresAndASavepointResumeLoseNothingAndDuplicateNothing(@TempDir Path dir) throws Exception {
        Path json = dir.resolve("summary.json");
        StringWriter out = new StringWriter();
        int exitCode = StrawlessCli.commandLine()
                .setOut(new PrintWriter(out))
                .setErr(new PrintWriter(out))
                .execute(
                        "demo",
                        "--trajectories",
                        Integer.toString(TRAJECTORIES),
                        "--inject-failures",
                        "3",
                        "--savepoint-resume",
                        "--json",
                        json.toString(),
                        // Plain loops: no backend probe on each of the four job starts. All backends give the same
                        // numbers.
                        "-D",
                        "credit.backend=java");
        String printed = out.toString();
        assertEquals(0, exitCode, printed);

        JsonNode summary = new ObjectMapper().readTree(json.toFile());
        assertEquals(0, summary.get("lost_steps").asLong(), printed);
        assertEquals(0, summary.get("duplicated_steps").asLong(), printed);
        assertEquals(0, summary.get("mismatched_advantages").asLong(), printed);
        assertEquals(0, summary.get("unexpected_steps").asLong(), printed);
        assertTrue(
                summary.get("expected_steps").asLong()
                        > 0.9 * summary.get("steps_in").asLong(),
                printed);
        assertTrue(summary.get("restarts").asLong() >= 3, printed);
        assertTrue(summary.get("savepoint_resume").asBoolean(), printed);
        long recordsIn = 0;
        for (JsonNode topic : summary.get("records_in")) {
            recordsIn += topic.asLong();
        }
        long resumedAfter = summary.get("resumed_after").asLong();
        assertTrue(
                resumedAfter > 0 && resumedAfter < recordsIn, "stopped midway: " + resumedAfter + " of " + recordsIn);
        assertTrue(summary.get("reconciled").asBoolean(), printed);
        System.out.println(printed);
    }
}
