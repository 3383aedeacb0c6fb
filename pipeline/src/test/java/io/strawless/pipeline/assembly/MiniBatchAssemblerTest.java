package io.strawless.pipeline.assembly;

import static io.strawless.pipeline.Events.in;
import static io.strawless.pipeline.Events.outcome;
import static io.strawless.pipeline.Events.overTheNetwork;
import static io.strawless.pipeline.Events.step;
import static io.strawless.pipeline.Events.terminalStep;
import static io.strawless.pipeline.Events.verdict;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.strawless.connectors.serde.InputRecord;
import io.strawless.pipeline.DrainingKeyedProcessOperator;
import io.strawless.pipeline.JobOptions;
import io.strawless.pipeline.StringKeys;
import io.strawless.schemas.StepEvent;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.Collections;
import java.util.List;
import java.util.Random;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.configuration.MemorySize;
import org.apache.flink.runtime.checkpoint.OperatorSubtaskState;
import org.apache.flink.runtime.state.VoidNamespace;
import org.apache.flink.state.rocksdb.EmbeddedRocksDBStateBackend;
import org.apache.flink.streaming.api.operators.OneInputStreamOperator;
import org.apache.flink.streaming.api.watermark.Watermark;
import org.apache.flink.streaming.runtime.streamrecord.StreamRecord;
import org.apache.flink.streaming.runtime.watermarkstatus.WatermarkStatus;
import org.apache.flink.streaming.util.KeyedOneInputStreamOperatorTestHarness;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * Applying inputs in mini-batches gives what applying each input as it comes gives, with each watermark arriving when
 * the mini-batch is applied: the same trajectories, dead letters and unscored records, the same state left behind.
 * And the held inputs (and a watermark that waits with them) are applied when they must be.
 */
class MiniBatchAssemblerTest {

    private static final long TIMEOUT = 2_000;
    private static final long RETENTION = 3_000;

    private static final long ALLOWED_LATENCY = 100;

    /** What a harness is given: an input, a watermark to advance to, or processing time passing. */
    private sealed interface Action {}

    private record Input(InputRecord input) implements Action {}

    private record Advance(long watermark) implements Action {}

    private record Clock(long processingTime) implements Action {}

    private static Configuration conf(String mode, int miniBatchSize) {
        Configuration conf = new Configuration();
        conf.set(JobOptions.OUTCOME_TIMEOUT, Duration.ofMillis(TIMEOUT));
        conf.set(JobOptions.FINISHED_RETENTION, Duration.ofMillis(RETENTION));
        conf.set(JobOptions.VERIFIER_TIMEOUT, Duration.ofMillis(500));
        conf.set(JobOptions.MINI_BATCH_SIZE, miniBatchSize);
        conf.set(JobOptions.MINI_BATCH_ALLOW_LATENCY, Duration.ofMillis(ALLOWED_LATENCY));
        switch (mode) {
            case "on-watermark" -> { }
            case "on-completion" -> conf.set(JobOptions.EMIT_ON_COMPLETION, true);
            case "required-verifiers" -> conf.set(JobOptions.REQUIRED_VERIFIERS, List.of("v1"));
            default -> throw new IllegalArgumentException(mode);
        }
        return conf;
    }

    /**
     * A fleet's inputs as a job reads them: trajectories interleaved, steps out of order, outcomes (some revised,
     * some never sent), verdicts, duplicates and conflicting copies, steps after the terminal one, and stragglers
     * that come after their trajectory was scored or timed out; watermarks in between. At the end time passes, and
     * the watermark advances until everything has timed out or been emitted and every marker has gone.
     */
    private static List<Action> traffic(long seed) {
        Random random = new Random(seed);
        List<List<InputRecord>> perTrajectory = new ArrayList<>();
        for (int t = 0; t < 400; t++) {
            String id = "t" + t;
            long start = 1_000 + t * 20L;
            int steps = 1 + random.nextInt(6);
            List<InputRecord> inputs = new ArrayList<>();
            for (int s = 0; s < steps; s++) {
                StepEvent step = s == steps - 1 ? terminalStep(id, s, start + s * 10L)
                        : step(id, s, start + s * 10L).setReward(random.nextDouble()).build();
                inputs.add(in(step));
                if (random.nextInt(10) == 0) {
                    inputs.add(in(step)); // an at-least-once producer's retry
                }
                if (random.nextInt(30) == 0) {
                    inputs.add(in(step(id, s, start + s * 10L).setReward(9.0).build())); // a conflicting copy
                }
                if (random.nextInt(3) == 0) {
                    inputs.add(in(verdict(id, s, "v1", random.nextDouble(), start + s * 10L + 5)));
                }
            }
            if (random.nextInt(40) == 0) {
                inputs.add(in(step(id, steps + 1, start + 100).build())); // after the terminal step
            }
            if (random.nextInt(12) != 0) {
                inputs.add(in(outcome(id, random.nextDouble(), 0, start + 120)));
                if (random.nextInt(8) == 0) {
                    inputs.add(in(outcome(id, random.nextDouble(), 1, start + 130)));
                }
            } else if (random.nextInt(2) == 0) {
                inputs.add(in(outcome("ghost-" + t, 1.0, 0, start))); // an outcome whose steps never come
            }
            // Out of order within the trajectory.
            for (int i = inputs.size() - 1; i > 0; i--) {
                if (random.nextInt(3) == 0) {
                    inputs.set(i, inputs.set(i - 1, inputs.get(i)));
                }
            }
            perTrajectory.add(inputs);
        }
        // Interleave the trajectories as a topic would, a few open at a time, and send a watermark now and then.
        List<Action> actions = new ArrayList<>();
        List<List<InputRecord>> open = new ArrayList<>();
        int next = 0;
        long newest = 0;
        while (next < perTrajectory.size() || !open.isEmpty()) {
            while (open.size() < 8 && next < perTrajectory.size()) {
                open.add(new ArrayList<>(perTrajectory.get(next++)));
            }
            List<InputRecord> pick = open.get(random.nextInt(open.size()));
            InputRecord input = pick.remove(0);
            if (pick.isEmpty()) {
                open.remove(pick);
            }
            actions.add(new Input(input));
            newest = Math.max(newest, input.timestamp);
            if (random.nextInt(25) == 0) {
                actions.add(new Advance(newest - 200));
            }
            if (random.nextInt(150) == 0) { // a straggler of a trajectory that is long gone
                int old = random.nextInt(Math.max(1, next));
                actions.add(new Input(in(step("t" + old, 0, 1_000 + old * 20L).build())));
            }
        }
        actions.add(new Clock(ALLOWED_LATENCY));
        actions.add(new Advance(1_000_000));
        actions.add(new Advance(2_000_000));
        return actions;
    }

    /**
     * The same actions in the order a mini-batch assembler of {@code size} applies them: held inputs when the mini-batch
     * is full or the allowed latency has passed, and a watermark that came while inputs were held right after them.
     */
    private static List<Action> asMiniBatchesApplyThem(List<Action> actions, int size) {
        List<Action> applied = new ArrayList<>();
        List<Action> held = new ArrayList<>();
        Advance waiting = null;
        for (Action action : actions) {
            boolean apply = false;
            if (action instanceof Input) {
                held.add(action);
                apply = held.size() == size;
            } else if (action instanceof Advance advance && !held.isEmpty()) {
                waiting = advance;
            } else {
                applied.add(action);
                apply = action instanceof Clock clock && clock.processingTime() >= ALLOWED_LATENCY;
            }
            if (apply) {
                applied.addAll(held);
                held.clear();
                if (waiting != null) {
                    applied.add(waiting);
                    waiting = null;
                }
            }
        }
        applied.addAll(held);
        return applied;
    }

    /** Everything the assembler put out, sorted, so that two runs compare regardless of emission order. */
    private record Outputs(List<String> trajectories, List<String> deadLetters, List<String> unscored, int stateLeft,
                           int timersLeft) {}

    private static Outputs run(OneInputStreamOperator<InputRecord, AssembledTrajectory> operator, List<Action> actions,
            boolean rocksdb) throws Exception {
        try (var harness = new KeyedOneInputStreamOperatorTestHarness<>(operator, InputRecord::trajectoryId, StringKeys.TYPE)) {
            if (rocksdb) {
                harness.setStateBackend(new EmbeddedRocksDBStateBackend());
            }
            harness.open();
            for (Action action : actions) {
                if (action instanceof Input in) {
                    harness.processElement(new StreamRecord<>(overTheNetwork(in.input()), in.input().timestamp));
                } else if (action instanceof Advance advance) {
                    harness.processWatermark(advance.watermark());
                } else if (action instanceof Clock clock) {
                    harness.setProcessingTime(clock.processingTime());
                }
            }
            List<String> trajectories = new ArrayList<>();
            for (StreamRecord<? extends AssembledTrajectory> out : harness.extractOutputStreamRecords()) {
                AssembledTrajectory t = out.getValue();
                trajectories.add(t.trajectoryId() + " @" + out.getTimestamp() + " steps " + t.steps() + " outcome "
                        + t.outcome() + " verdicts " + t.verdicts() + " lineage " + t.lineage());
            }
            List<String> deadLetters = new ArrayList<>();
            var dead = harness.getSideOutput(DeadLetters.TAG);
            if (dead != null) {
                dead.forEach(r -> deadLetters.add(r.getValue().getOffset() + " " + r.getValue().getErrorClass() + " "
                        + r.getValue().getErrorMessage()));
            }
            List<String> unscored = new ArrayList<>();
            var side = harness.getSideOutput(AssembleTrajectory.UNSCORED);
            if (side != null) {
                side.forEach(r -> unscored.add(r.getValue().toString()));
            }
            trajectories.sort(Comparator.naturalOrder());
            deadLetters.sort(Comparator.naturalOrder());
            unscored.sort(Comparator.naturalOrder());
            return new Outputs(trajectories, deadLetters, unscored, stateLeft(harness), harness.numEventTimeTimers());
        }
    }

    /** Keys with state of each of the assembler's states (the RocksDB harness does not count state entries). */
    private static int stateLeft(KeyedOneInputStreamOperatorTestHarness<String, InputRecord, ?> harness) {
        int left = 0;
        for (String state : List.of("progress", "steps", "verdicts", "finished", "held-past-deadline")) {
            try (var keys = harness.getOperator().getKeyedStateBackend().getKeys(state, VoidNamespace.INSTANCE)) {
                left += (int) keys.count();
            }
        }
        return left;
    }

    @ParameterizedTest(name = "{0}, {1}")
    @CsvSource({
        "on-watermark, false",
        "on-completion, false",
        "required-verifiers, false",
        "on-watermark, true",
        "on-completion, true"
    })
    void miniBatchesGiveWhatInputByInputGives(String mode, boolean rocksdb) throws Exception {
        for (long seed = 1; seed <= 3; seed++) {
            List<Action> actions = traffic(seed);
            Outputs oneByOne = run(new DrainingKeyedProcessOperator<>(new AssembleTrajectory(conf(mode, 1))),
                    asMiniBatchesApplyThem(actions, 64), rocksdb);
            Outputs miniBatches = run(new MiniBatchAssembler(new AssembleTrajectory(conf(mode, 64)), conf(mode, 64)),
                    actions, rocksdb);

            assertTrue(oneByOne.trajectories().size() > 150, "the traffic assembles trajectories: "
                    + oneByOne.trajectories().size());
            assertTrue(oneByOne.deadLetters().size() > 5, "and dead-letters some inputs");
            assertTrue(oneByOne.unscored().size() > 20, "and leaves some unscored");
            assertSameLines(oneByOne.trajectories(), miniBatches.trajectories(), "trajectories, seed " + seed);
            assertSameLines(oneByOne.deadLetters(), miniBatches.deadLetters(), "dead letters, seed " + seed);
            assertSameLines(oneByOne.unscored(), miniBatches.unscored(), "unscored, seed " + seed);
            assertEquals(0, oneByOne.stateLeft(), "state left behind, input by input");
            assertEquals(0, miniBatches.stateLeft(), "state left behind");
            assertEquals(0, miniBatches.timersLeft(), "timers left behind");
        }
    }

    /** Names the first difference only: the lists are long. */
    private static void assertSameLines(List<String> expected, List<String> actual, String what) {
        for (int i = 0; i < Math.min(expected.size(), actual.size()); i++) {
            assertEquals(expected.get(i), actual.get(i), what + ": first difference, at " + i);
        }
        assertEquals(expected.size(), actual.size(), what + ": how many");
    }

    private static KeyedOneInputStreamOperatorTestHarness<String, InputRecord, AssembledTrajectory> miniBatches(
            Configuration conf) throws Exception {
        var harness = new KeyedOneInputStreamOperatorTestHarness<>(
                new MiniBatchAssembler(new AssembleTrajectory(conf), conf), InputRecord::trajectoryId, StringKeys.TYPE);
        harness.open();
        return harness;
    }

    /** A complete trajectory under job.emit-on-completion, so that applying its inputs emits it. */
    private static void sendComplete(KeyedOneInputStreamOperatorTestHarness<String, InputRecord, ?> harness, String id)
            throws Exception {
        for (InputRecord input : List.of(in(step(id, 0, 100).build()), in(terminalStep(id, 1, 110)),
                in(outcome(id, 1.0, 0, 120)))) {
            harness.processElement(new StreamRecord<>(overTheNetwork(input), input.timestamp));
        }
    }

    @ParameterizedTest
    @CsvSource({"false, 0", "true, 1"})
    void byDefaultOnlyRocksDbStateGetsMiniBatches(boolean rocksdb, int held) throws Exception {
        Configuration conf = new Configuration(); // job.mini-batch.size unset
        try (var harness = new KeyedOneInputStreamOperatorTestHarness<>(
                new MiniBatchAssembler(new AssembleTrajectory(conf), conf), InputRecord::trajectoryId, StringKeys.TYPE)) {
            if (rocksdb) {
                harness.setStateBackend(new EmbeddedRocksDBStateBackend());
            }
            harness.open();
            harness.processElement(new StreamRecord<>(overTheNetwork(in(step("t1", 0, 100).build())), 100));
            assertEquals(1 - held, stateLeft(harness) > 0 ? 1 : 0, "applied at once on the heap");
            harness.setProcessingTime(JobOptions.MINI_BATCH_ALLOW_LATENCY_ON_WATERMARK.toMillis());
            assertTrue(stateLeft(harness) > 0, "applied after the allowed latency");
        }
    }

    @Test
    void heldInputsAreAppliedAfterTheAllowedLatency() throws Exception {
        Configuration conf = conf("on-completion", 1_000);
        conf.set(JobOptions.MINI_BATCH_ALLOW_LATENCY, Duration.ofMillis(50));
        try (var harness = miniBatches(conf)) {
            harness.setProcessingTime(0);
            sendComplete(harness, "t1");
            assertEquals(0, harness.extractOutputValues().size(), "held");
            harness.setProcessingTime(49);
            assertEquals(0, harness.extractOutputValues().size(), "still held");
            harness.setProcessingTime(50);
            assertEquals(1, harness.extractOutputValues().size(), "applied once the allowed latency passed");
        }
    }

    /** Unset, the allowed latency is a second, and a tenth of one where trajectories are emitted on completion. */
    @ParameterizedTest
    @CsvSource({"false, 1000", "true, 100"})
    void theAllowedLatencyByDefault(boolean emitOnCompletion, long expectedMillis) throws Exception {
        Configuration conf = new Configuration();
        conf.set(JobOptions.MINI_BATCH_SIZE, 1_000);
        conf.set(JobOptions.EMIT_ON_COMPLETION, emitOnCompletion);
        try (var harness = miniBatches(conf)) {
            harness.setProcessingTime(0);
            sendComplete(harness, "t1");
            harness.setProcessingTime(expectedMillis - 1);
            assertEquals(0, harness.numKeyedStateEntries() + harness.extractOutputValues().size(), "still held");
            harness.setProcessingTime(expectedMillis);
            assertTrue(harness.numKeyedStateEntries() + harness.extractOutputValues().size() > 0, "applied");
        }
    }

    @Test
    void heldInputsAreAppliedWhenTheMiniBatchIsFull() throws Exception {
        try (var harness = miniBatches(conf("on-completion", 3))) {
            sendComplete(harness, "t1"); // three inputs
            assertEquals(1, harness.extractOutputValues().size());
        }
    }

    @Test
    void heldInputsAreAppliedWhenTheyReachTheMostBytesTheMiniBatchHolds() throws Exception {
        Configuration conf = conf("on-completion", 1_000);
        conf.set(JobOptions.MINI_BATCH_MAX_BYTES, MemorySize.parse("100 kb"));
        try (var harness = miniBatches(conf)) {
            harness.setProcessingTime(0);
            sendComplete(harness, "small"); // a few hundred bytes: held
            assertEquals(0, harness.extractOutputValues().size(), "held");
            String id = "heavy";
            for (InputRecord input : List.of(in(step(id, 0, 100).setTokenIds(Collections.nCopies(20_000, 100_000)).build()),
                    in(terminalStep(id, 1, 110)), in(outcome(id, 1.0, 0, 120)))) {
                harness.processElement(new StreamRecord<>(overTheNetwork(input), input.timestamp));
            }
            assertEquals(0, harness.extractOutputValues().size(), "its first step (60 KB) alone is not enough");
        }
        conf.set(JobOptions.MINI_BATCH_MAX_BYTES, MemorySize.parse("50 kb"));
        try (var harness = miniBatches(conf)) {
            harness.setProcessingTime(0);
            sendComplete(harness, "small");
            harness.processElement(new StreamRecord<>(overTheNetwork(
                    in(step("heavy", 0, 100).setTokenIds(Collections.nCopies(20_000, 100_000)).build())), 100));
            assertEquals(List.of("small"), harness.extractOutputValues().stream().map(AssembledTrajectory::trajectoryId)
                    .toList(), "applied with the 60 KB step, before the allowed latency");
        }
    }

    @Test
    void aWatermarkWaitsForTheHeldInputsAndIsPassedOnOnceTheyAreApplied() throws Exception {
        try (var harness = miniBatches(conf("on-watermark", 1_000))) {
            harness.setProcessingTime(0);
            sendComplete(harness, "t1");
            harness.processWatermark(120); // the trajectory's newest input
            assertEquals(0, harness.numKeyedStateEntries(), "nothing applied yet");
            assertEquals(List.of(), List.copyOf(harness.getOutput()), "neither output nor watermark yet");

            harness.setProcessingTime(ALLOWED_LATENCY);
            List<Object> out = List.copyOf(harness.getOutput());
            assertEquals(2, out.size(), "the trajectory, then the watermark: " + out);
            assertEquals("t1", ((AssembledTrajectory) ((StreamRecord<?>) out.get(0)).getValue()).trajectoryId(),
                    "applied, then emitted by its timer");
            assertEquals(new Watermark(120), out.get(1));

            harness.processWatermark(130); // nothing held: passed on at once
            assertEquals(new Watermark(130), List.copyOf(harness.getOutput()).get(2));
        }
    }

    @Test
    void aHeldWatermarkGoesOutBeforeTheInputIsMarkedIdle() throws Exception {
        try (var harness = miniBatches(conf("on-watermark", 1_000))) {
            sendComplete(harness, "t1");
            harness.processWatermark(120);
            harness.processWatermarkStatus(WatermarkStatus.IDLE);
            assertEquals(List.of(new Watermark(120), WatermarkStatus.IDLE),
                    harness.getOutput().stream().filter(e -> !(e instanceof StreamRecord<?>)).toList());
            assertEquals(1, harness.extractOutputValues().size());
        }
    }

    /** The job ran the assembler without mini-batches before: its savepoints restore into the mini-batch operator. */
    @Test
    void aSavepointFromBeforeMiniBatchesRestores() throws Exception {
        Configuration conf = conf("on-watermark", 1_000);
        OperatorSubtaskState snapshot;
        try (var before = new KeyedOneInputStreamOperatorTestHarness<>(
                new DrainingKeyedProcessOperator<>(new AssembleTrajectory(conf)), InputRecord::trajectoryId,
                StringKeys.TYPE)) {
            before.setStateBackend(new EmbeddedRocksDBStateBackend());
            before.open();
            before.processElement(new StreamRecord<>(overTheNetwork(in(step("t1", 0, 100).build())), 100));
            snapshot = before.snapshot(1, 1);
        }
        try (var after = new KeyedOneInputStreamOperatorTestHarness<>(
                new MiniBatchAssembler(new AssembleTrajectory(conf), conf), InputRecord::trajectoryId, StringKeys.TYPE)) {
            after.setStateBackend(new EmbeddedRocksDBStateBackend());
            after.initializeState(snapshot);
            after.open();
            after.processElement(new StreamRecord<>(overTheNetwork(in(terminalStep("t1", 1, 110))), 110));
            after.processElement(new StreamRecord<>(overTheNetwork(in(outcome("t1", 1.0, 0, 120))), 120));
            after.processWatermark(120);
            after.setProcessingTime(ALLOWED_LATENCY);
            List<AssembledTrajectory> out = after.extractOutputValues();
            assertEquals(1, out.size());
            assertEquals(2, out.get(0).steps().size(), "the step from the savepoint and the one after it");
        }
    }

    @Test
    void heldInputsAreInTheCheckpointAndEmittedBeforeItsBarrier() throws Exception {
        Configuration conf = conf("on-watermark", 1_000);
        OperatorSubtaskState snapshot;
        try (var harness = miniBatches(conf)) {
            sendComplete(harness, "t1");
            harness.processElement(new StreamRecord<>(overTheNetwork(in(step("t2", 0, 100).build())), 100));
            harness.prepareSnapshotPreBarrier(1); // what the task does before it passes the barrier on
            snapshot = harness.snapshot(1, 1);
            assertTrue(harness.numKeyedStateEntries() >= 3, "both trajectories are in the state");
        }
        try (var restored = new KeyedOneInputStreamOperatorTestHarness<>(
                new MiniBatchAssembler(new AssembleTrajectory(conf), conf), InputRecord::trajectoryId, StringKeys.TYPE)) {
            restored.initializeState(snapshot);
            restored.open();
            restored.processWatermark(120);
            List<AssembledTrajectory> out = restored.extractOutputValues();
            assertEquals(1, out.size());
            assertEquals("t1", out.get(0).trajectoryId());
            assertEquals(2, out.get(0).steps().size());
        }
    }
}
