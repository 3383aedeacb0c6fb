package io.strawless.ops.bench;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import io.strawless.ops.fleet.FleetLedger;
import io.strawless.ops.fleet.FleetLedger.GroundTruth;
import io.strawless.ops.fleet.FleetLedger.SentTrajectory;
import io.strawless.ops.fleet.FleetRecord;
import io.strawless.ops.fleet.FleetScript;
import io.strawless.ops.fleet.InputTopic;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.OptionalDouble;
import java.util.Set;
import org.junit.jupiter.api.Test;

/** Latency from a group's last outcome: what a group-relative estimator waits for before it can score a member. */
class LatencyProbeTest {

    @Test
    void aMemberIsTimedFromItsGroupsLastOutcomeAndALoneTrajectoryFromItsOwn() {
        Map<String, SentTrajectory> sent = new LinkedHashMap<>();
        for (String id : List.of("a1", "a2", "a3")) {
            sent.put(id, trajectory(id, "group-a"));
        }
        sent.put("b1", trajectory("b1", "group-b")); // its other member's outcome never arrived
        sent.put("b2", trajectory("b2", "group-b"));
        sent.put("alone", trajectory("alone", null));
        FleetLedger ledger = new FleetLedger(sent, List.of());
        sent.put("unseen", trajectory("unseen", null));
        Map<String, Long> arrived = Map.of("a1", 1_000L, "a2", 4_000L, "a3", 2_500L, "b1", 1_000L, "alone", 3_000L,
                "unseen", 1_000L, "unknown", 2_000L);
        Map<String, Long> visible = Map.of("a1", 6_000L, "a2", 6_000L, "a3", 7_000L, "b1", 9_000L, "alone", 3_500L,
                "unknown", 2_700L);

        double[] latencies = LatencyProbe.fromGroupOutcomes(
                List.of("a1", "a2", "a3", "b1", "alone", "unseen", "unknown"), ledger, arrived, visible);

        // b1: its group's other outcome never came; unseen: no batch showed it; unknown: not in the ledger, timed
        // from its own outcome.
        assertArrayEquals(new double[] {2_000, 2_000, 3_000, Double.POSITIVE_INFINITY, 500, Double.POSITIVE_INFINITY,
                700}, latencies);
    }

    @Test
    void underAGroupRelativeEstimatorOnlyGroupsThatCompleteBeforeTheTailAreMeasured() {
        Map<String, SentTrajectory> sent = new LinkedHashMap<>();
        for (String id : List.of("a1", "a2", "b1", "b2", "c1", "c2")) {
            sent.put(id, trajectory(id, "group-" + id.charAt(0)));
        }
        sent.put("alone", trajectory("alone", null));
        List<FleetRecord> records = List.of(
                outcome("a1", 1_000), outcome("a2", 5_000), // group a completes before the tail
                outcome("b1", 1_000), outcome("b2", 8_000), // group b completes in the tail
                outcome("c1", 2_000), // c2's outcome never comes
                outcome("alone", 6_000),
                new FleetRecord(InputTopic.STEPS, 10_000, "z".getBytes(StandardCharsets.UTF_8), new byte[0]));
        FleetScript script = new FleetScript(records, new FleetLedger(sent, List.of()));

        Duration tail = Duration.ofSeconds(3); // outcomes up to 7,000 are measured
        assertEquals(Set.of("a1", "a2", "b1", "c1", "alone"), LatencyProbe.measurable(script, tail, false));
        assertEquals(Set.of("a1", "a2", "alone"), LatencyProbe.measurable(script, tail, true));
    }

    private static FleetRecord outcome(String trajectory, long time) {
        return new FleetRecord(InputTopic.OUTCOMES, time, trajectory.getBytes(StandardCharsets.UTF_8), new byte[0]);
    }

    private static SentTrajectory trajectory(String id, String group) {
        return new SentTrajectory(id, "agent-1", "task-1", group, group == null ? 0 : 3, List.of(true),
                OptionalDouble.of(1.0), List.of(), new GroundTruth(List.of(true), false));
    }
}
