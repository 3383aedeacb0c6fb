package io.strawless.ops.bench;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;

import io.strawless.ops.fleet.FleetLedger;
import io.strawless.ops.fleet.FleetLedger.GroundTruth;
import io.strawless.ops.fleet.FleetLedger.SentTrajectory;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.OptionalDouble;
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
        Map<String, Long> arrived = Map.of("a1", 1_000L, "a2", 4_000L, "a3", 2_500L, "b1", 1_000L, "alone", 3_000L);
        Map<String, Long> visible = Map.of("a1", 6_000L, "a2", 6_000L, "a3", 7_000L, "b1", 9_000L, "alone", 3_500L);

        double[] latencies = LatencyProbe.fromGroupOutcomes(List.of("a1", "a2", "a3", "b1", "alone"), ledger, arrived,
                visible);

        assertArrayEquals(new double[] {2_000, 2_000, 3_000, Double.POSITIVE_INFINITY, 500}, latencies);
    }

    private static SentTrajectory trajectory(String id, String group) {
        return new SentTrajectory(id, "agent-1", "task-1", group, group == null ? 0 : 3, List.of(true),
                OptionalDouble.of(1.0), List.of(), new GroundTruth(List.of(true), false));
    }
}
