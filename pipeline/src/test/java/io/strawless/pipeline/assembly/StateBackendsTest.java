package io.strawless.pipeline.assembly;

import static io.strawless.pipeline.Events.in;
import static io.strawless.pipeline.Events.outcome;
import static io.strawless.pipeline.Events.step;
import static io.strawless.pipeline.Events.terminalStep;
import static org.junit.jupiter.api.Assertions.assertEquals;

import io.strawless.connectors.serde.InputRecord;
import io.strawless.pipeline.DrainingKeyedProcessOperator;
import java.util.List;
import org.apache.flink.api.common.typeinfo.Types;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.runtime.checkpoint.OperatorSubtaskState;
import org.apache.flink.runtime.state.StateBackend;
import org.apache.flink.runtime.state.hashmap.HashMapStateBackend;
import org.apache.flink.state.rocksdb.EmbeddedRocksDBStateBackend;
import org.apache.flink.runtime.state.VoidNamespace;
import org.apache.flink.streaming.runtime.streamrecord.StreamRecord;
import org.apache.flink.streaming.util.KeyedOneInputStreamOperatorTestHarness;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Assembly works the same on the heap and on RocksDB (chosen with Flink's own
 * {@code state.backend.type}), clears its state on both, and survives a snapshot/restore. Prints the
 * bytes of checkpointed state per open trajectory.
 */
class StateBackendsTest {

    private static final int OPEN = 1_000;
    private static final int STEPS = 8;

    private static StateBackend backend(String name) {
        return name.equals("rocksdb") ? new EmbeddedRocksDBStateBackend() : new HashMapStateBackend();
    }

    private static KeyedOneInputStreamOperatorTestHarness<String, InputRecord, AssembledTrajectory> harness(String name,
            AssembleTrajectory function) throws Exception {
        var harness = new KeyedOneInputStreamOperatorTestHarness<>(
                new DrainingKeyedProcessOperator<>(function), // as the job runs it
                InputRecord::trajectoryId, Types.STRING);
        harness.setStateBackend(backend(name));
        return harness;
    }

    private static void send(KeyedOneInputStreamOperatorTestHarness<String, InputRecord, ?> h, InputRecord r) throws Exception {
        h.processElement(new StreamRecord<>(r, r.timestamp));
    }

    @ParameterizedTest
    @ValueSource(strings = {"hashmap", "rocksdb"})
    void assemblesAcrossARestoreAndClearsState(String backendName) throws Exception {
        OperatorSubtaskState snapshot;
        try (var h = harness(backendName, new AssembleTrajectory(new Configuration()))) {
            h.open();
            for (int t = 0; t < OPEN; t++) {
                for (int s = 0; s < STEPS - 1; s++) {
                    send(h, in(step("t" + t, s, 1_000 + s).build()));
                }
                send(h, in(terminalStep("t" + t, STEPS - 1, 1_000 + STEPS)));
            }
            snapshot = h.snapshot(1, 1);
            System.out.printf("[%s] checkpointed assembly state: %,d bytes for %,d open trajectories of %d steps"
                            + " = %,d bytes per open trajectory%n", backendName, snapshot.getStateSize(), OPEN, STEPS,
                    snapshot.getStateSize() / OPEN);
        }

        AssembleTrajectory function = new AssembleTrajectory(new Configuration());
        try (var restored = harness(backendName, function)) {
            restored.initializeState(snapshot);
            restored.open();
            assertEquals(OPEN, function.openWork().getValue(), "open trajectories recounted from " + backendName);
            for (int t = 0; t < OPEN; t++) {
                send(restored, in(outcome("t" + t, 1.0, 0, 2_000)));
            }
            restored.processWatermark(2_000); // complete trajectories are emitted when the watermark passes them
            List<AssembledTrajectory> out = restored.extractOutputValues();
            assertEquals(OPEN, out.size());
            for (AssembledTrajectory trajectory : out) {
                assertEquals(STEPS, trajectory.steps().size());
                for (int i = 0; i < STEPS; i++) { // read back from this backend's state, in order
                    assertEquals(i, trajectory.steps().get(i).getStepIndex());
                    assertEquals(trajectory.trajectoryId(), trajectory.steps().get(i).getTrajectoryId());
                }
            }

            // Asked per state by name, which (unlike numKeyedStateEntries) RocksDB answers too.
            var backend = restored.getOperator().getKeyedStateBackend();
            try (var markers = backend.getKeys("finished", VoidNamespace.INSTANCE)) {
                assertEquals(OPEN, markers.count(), "finished markers wait for their retention");
            }

            restored.processWatermark(Long.MAX_VALUE);
            for (String state : List.of("steps", "outcome", "verdicts", "progress", "finished")) {
                try (var keys = backend.getKeys(state, VoidNamespace.INSTANCE)) {
                    assertEquals(0, keys.count(), state + " left on " + backendName);
                }
            }
            assertEquals(0, restored.numEventTimeTimers());
            assertEquals(0, function.openWork().getValue());
        }
    }
}
