package io.strawless.pipeline.assembly;

import static io.strawless.pipeline.Events.in;
import static io.strawless.pipeline.Events.outcome;
import static io.strawless.pipeline.Events.overTheNetwork;
import static io.strawless.pipeline.Events.step;
import static io.strawless.pipeline.Events.terminalStep;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.strawless.connectors.serde.InputRecord;
import io.strawless.pipeline.DrainingKeyedProcessOperator;
import io.strawless.pipeline.JobOptions;
import io.strawless.pipeline.StringKeys;
import io.strawless.schemas.VerifierSignal;
import java.time.Instant;
import java.util.List;
import org.apache.flink.api.common.state.ListStateDescriptor;
import org.apache.flink.api.common.state.MapStateDescriptor;
import org.apache.flink.api.common.typeinfo.TypeInformation;
import org.apache.flink.api.common.typeinfo.Types;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.runtime.checkpoint.OperatorSubtaskState;
import org.apache.flink.runtime.state.StateBackend;
import org.apache.flink.runtime.state.hashmap.HashMapStateBackend;
import org.apache.flink.state.rocksdb.EmbeddedRocksDBStateBackend;
import org.apache.flink.runtime.state.VoidNamespace;
import org.apache.flink.streaming.api.functions.KeyedProcessFunction;
import org.apache.flink.streaming.runtime.streamrecord.StreamRecord;
import org.apache.flink.streaming.util.KeyedOneInputStreamOperatorTestHarness;
import org.apache.flink.util.Collector;
import org.apache.flink.util.ExceptionUtils;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
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
        return harness(name, function, StringKeys.TYPE);
    }

    private static KeyedOneInputStreamOperatorTestHarness<String, InputRecord, AssembledTrajectory> harness(String name,
            AssembleTrajectory function, TypeInformation<String> keyType) throws Exception {
        var harness = new KeyedOneInputStreamOperatorTestHarness<>(
                new MiniBatchAssembler(function, new Configuration()), // as the job runs it, in mini-batches
                InputRecord::trajectoryId, keyType);
        harness.setStateBackend(backend(name));
        return harness;
    }

    /** As in the job: over the network, so a step arrives as its bytes (see Events#overTheNetwork). */
    private static void send(KeyedOneInputStreamOperatorTestHarness<String, InputRecord, ?> h, InputRecord r) throws Exception {
        h.processElement(new StreamRecord<>(overTheNetwork(r), r.timestamp));
    }

    /**
     * Restored keyed as the job keys (StringKeys) and, as an earlier build or the State Processor API would read the
     * savepoint, by Flink's own String type: StringKeys writes StringSerializer's bytes and snapshot.
     */
    @ParameterizedTest
    @CsvSource({"hashmap, StringKeys", "rocksdb, StringKeys", "hashmap, Types.STRING", "rocksdb, Types.STRING"})
    void assemblesAcrossARestoreAndClearsState(String backendName, String restoredKeyType) throws Exception {
        OperatorSubtaskState snapshot;
        try (var h = harness(backendName, new AssembleTrajectory(new Configuration()))) {
            h.open();
            for (int t = 0; t < OPEN; t++) {
                for (int s = 0; s < STEPS - 1; s++) {
                    send(h, in(step("t" + t, s, 1_000 + s).build()));
                }
                // Half wait for their terminal step, their outcome in state; half for their outcome.
                send(h, t % 2 == 0 ? in(terminalStep("t" + t, STEPS - 1, 1_000 + STEPS)) : in(outcome("t" + t, 0.5, 0, 1_500)));
            }
            h.prepareSnapshotPreBarrier(1); // the task applies the held mini-batch before the barrier
            snapshot = h.snapshot(1, 1);
            System.out.printf("[%s] checkpointed assembly state: %,d bytes for %,d open trajectories of %d steps"
                            + " = %,d bytes per open trajectory%n", backendName, snapshot.getStateSize(), OPEN, STEPS,
                    snapshot.getStateSize() / OPEN);
        }

        AssembleTrajectory function = new AssembleTrajectory(new Configuration());
        TypeInformation<String> keyType = restoredKeyType.equals("StringKeys") ? StringKeys.TYPE : Types.STRING;
        try (var restored = harness(backendName, function, keyType)) {
            restored.initializeState(snapshot);
            restored.open();
            assertEquals(OPEN, function.openWork().getValue(), "open trajectories recounted from " + backendName);
            for (int t = 0; t < OPEN; t++) {
                send(restored, t % 2 == 0 ? in(outcome("t" + t, 1.0, 0, 2_000)) : in(terminalStep("t" + t, STEPS - 1, 2_000)));
            }
            // On RocksDB the inputs wait in a mini-batch, and so would the watermark: its allowed latency passes first.
            restored.setProcessingTime(JobOptions.MINI_BATCH_ALLOW_LATENCY_ON_WATERMARK.toMillis());
            restored.processWatermark(2_000); // complete trajectories are emitted when the watermark passes them
            List<AssembledTrajectory> out = restored.extractOutputValues();
            assertEquals(OPEN, out.size());
            for (AssembledTrajectory trajectory : out) {
                assertEquals(STEPS, trajectory.steps().size());
                boolean outcomeFirst = Integer.parseInt(trajectory.trajectoryId().substring(1)) % 2 == 1;
                assertEquals(outcomeFirst ? 0.5 : 1.0, trajectory.outcome().getReward(), "outcome kept across the restore");
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
            for (String state : List.of("steps", "verdicts", "progress", "finished")) {
                try (var keys = backend.getKeys(state, VoidNamespace.INSTANCE)) {
                    assertEquals(0, keys.count(), state + " left on " + backendName);
                }
            }
            assertEquals(0, restored.numEventTimeTimers());
            assertEquals(0, function.openWork().getValue());
        }
    }

    /**
     * Before steps waited in a list they waited in a map by index under the same state name: a savepoint of that
     * layout is refused when the job starts, never read as a trajectory without steps.
     */
    @ParameterizedTest
    @ValueSource(strings = {"hashmap", "rocksdb"})
    void aSavepointWithStepsByIndexIsRefused(String backendName) throws Exception {
        OperatorSubtaskState snapshot;
        var earlierLayout = new KeyedProcessFunction<String, InputRecord, AssembledTrajectory>() {
            @Override
            public void processElement(InputRecord input, Context ctx, Collector<AssembledTrajectory> out)
                    throws Exception {
                getRuntimeContext()
                        .getMapState(new MapStateDescriptor<>("steps", Integer.class, byte[].class))
                        .put(input.stepIndex(), new byte[] {1});
            }
        };
        try (var h = new KeyedOneInputStreamOperatorTestHarness<>(
                new DrainingKeyedProcessOperator<>(earlierLayout), InputRecord::trajectoryId, StringKeys.TYPE)) {
            h.setStateBackend(backend(backendName));
            h.open();
            send(h, in(step("t", 0, 1_000).build()));
            snapshot = h.snapshot(1, 1);
        }
        try (var restored = harness(backendName, new AssembleTrajectory(new Configuration()))) {
            restored.initializeState(snapshot);
            Exception refused = assertThrows(Exception.class, () -> {
                restored.open();
                send(restored, in(step("t", 1, 1_001).build()));
            });
            assertTrue(refused.getMessage().contains("state \"steps\"") && refused.getMessage().contains("--drain"),
                    ExceptionUtils.stringifyException(refused));
        }
    }

    /**
     * The verdicts this build keeps (AssemblyStateSerializers.OfVerdict) read back where a build before it, or the
     * State Processor API, declares them as flink-avro does (ListStateDescriptor of VerifierSignal.class).
     */
    @ParameterizedTest
    @ValueSource(strings = {"hashmap", "rocksdb"})
    void verdictsThisBuildKeepsReadAsFlinkAvroKeptThem(String backendName) throws Exception {
        VerifierSignal withConfidence = new VerifierSignal("t", 0, "judge-ü", 0.75, 0.5, Instant.ofEpochMilli(1_100));
        VerifierSignal withoutConfidence = new VerifierSignal("t", null, "judge-2", 0.25, null, Instant.ofEpochMilli(1_200));
        OperatorSubtaskState snapshot;
        try (var h = harness(backendName, new AssembleTrajectory(new Configuration()))) {
            h.open();
            send(h, in(step("t", 0, 1_000).build()));
            send(h, InputRecord.ofVerdict("agent.verdicts", 0, 1, 1_100, withConfidence));
            send(h, InputRecord.ofVerdict("agent.verdicts", 0, 2, 1_200, withoutConfidence));
            h.setProcessingTime(JobOptions.MINI_BATCH_ALLOW_LATENCY_ON_WATERMARK.toMillis()); // the mini-batch applied
            try (var keys = h.getOperator().getKeyedStateBackend().getKeys("verdicts", VoidNamespace.INSTANCE)) {
                assertEquals(List.of("t"), keys.toList(), "the verdicts are in the assembler's keyed state");
            }
            snapshot = h.snapshot(1, 1);
        }
        var asFlinkAvroReadsThem = new KeyedProcessFunction<String, InputRecord, VerifierSignal>() {
            @Override
            public void processElement(InputRecord input, Context ctx, Collector<VerifierSignal> out) throws Exception {
                getRuntimeContext().getListState(new ListStateDescriptor<>("verdicts", VerifierSignal.class)).get()
                        .forEach(out::collect);
            }
        };
        try (var restored = new KeyedOneInputStreamOperatorTestHarness<>(
                new DrainingKeyedProcessOperator<>(asFlinkAvroReadsThem), InputRecord::trajectoryId, Types.STRING)) {
            restored.setStateBackend(backend(backendName));
            restored.initializeState(snapshot);
            restored.open();
            send(restored, in(step("t", 1, 1_300).build()));
            assertEquals(List.of(withConfidence, withoutConfidence), restored.extractOutputValues());
        }
    }
}
