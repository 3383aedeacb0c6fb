package io.strawless.pipeline.assembly;

import static io.strawless.pipeline.Events.outcome;
import static io.strawless.pipeline.Events.overTheNetwork;
import static io.strawless.pipeline.Events.step;
import static io.strawless.pipeline.Events.verdict;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.strawless.connectors.serde.InputRecord;
import io.strawless.pipeline.JobOptions;
import io.strawless.pipeline.StringKeys;
import io.strawless.schemas.DeadLetter;
import io.strawless.schemas.OffsetRange;
import io.strawless.schemas.OutcomeEvent;
import io.strawless.schemas.StepEvent;
import io.strawless.schemas.TerminalKind;
import io.strawless.schemas.UnscoredReason;
import io.strawless.schemas.UnscoredTrajectory;
import io.strawless.schemas.VerifierSignal;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.ArrayList;
import java.util.List;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.core.execution.SavepointFormatType;
import org.apache.flink.runtime.checkpoint.OperatorSubtaskState;
import org.apache.flink.runtime.checkpoint.SavepointType;
import org.apache.flink.runtime.state.StateBackend;
import org.apache.flink.runtime.state.VoidNamespace;
import org.apache.flink.runtime.state.hashmap.HashMapStateBackend;
import org.apache.flink.state.rocksdb.EmbeddedRocksDBStateBackend;
import org.apache.flink.streaming.runtime.streamrecord.StreamRecord;
import org.apache.flink.streaming.util.KeyedOneInputStreamOperatorTestHarness;
import org.apache.flink.streaming.util.OperatorSnapshotUtil;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.condition.EnabledIfEnvironmentVariable;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * A savepoint of the assembler that the previous release wrote is restored by this build, on the heap and on
 * RocksDB: its open trajectory goes on and completes (or times out on the timer it had), its finished marker still
 * routes stragglers, and nothing is left behind. Unlike {@link AssemblyStateSerializersTest}, which writes the
 * earlier formats with today's code, the state here was written by the release's own code and frozen: a bug that
 * today's writer and reader share cannot hide.
 *
 * <p>The fixtures ({@code src/test/resources/savepoints/d9f12e7/assemble-<backend>.savepoint}, one per state
 * backend) are canonical savepoints, what {@code flink stop --savepointPath} writes by default, of the "assemble"
 * operator at commit d9f12e7: the last release before format version 2 of the progress (its trajectory fields). A
 * copy of this class, compiled and run in a worktree of that commit, wrote them ({@link #writeSavepointFixtures},
 * with Flink's {@link OperatorSnapshotUtil}). On the heap and on RocksDB a canonical savepoint has the same layout;
 * what differs is the restore: the heap reads the old values with the serializer their snapshot restores, RocksDB
 * keeps the bytes and rewrites them when the state is first registered.
 *
 * <p>For the next change of the assembler's state, freeze the release before it the same way (this class is in it
 * from now on, so it compiles there):
 *
 * <pre>
 * git worktree add /tmp/previous-release &lt;its commit&gt;
 * cd /tmp/previous-release
 * STRAWLESS_SAVEPOINT_FIXTURES=&lt;this checkout&gt;/pipeline/src/test/resources/savepoints/&lt;its commit&gt; \
 *     mvn -o -q -pl pipeline -am test -Dtest=EarlierReleaseStateTest#writeSavepointFixtures \
 *     -Dsurefire.failIfNoSpecifiedTests=false
 * git worktree remove --force /tmp/previous-release
 * </pre>
 *
 * then restore those as the tests below restore d9f12e7's, and keep the earlier ones: a job may still be upgraded
 * from them. The scenario (ids, inputs, offsets, times) is shared by the writer and the tests: change it only
 * together with fresh fixtures.
 */
class EarlierReleaseStateTest {

    /** The release that wrote the fixtures. */
    private static final String RELEASE = "d9f12e7";

    private static final long T0 = 1_767_225_600_000L; // 2026-01-01T00:00:00Z
    private static final long OUTCOME_TIMEOUT = JobOptions.OUTCOME_TIMEOUT.defaultValue().toMillis();
    private static final long RETENTION = JobOptions.FINISHED_RETENTION.defaultValue().toMillis();

    /** Open in the savepoint: steps 0 and 2 (step 1 and the terminal step 3 missing), its outcome and a verdict. */
    private static final String OPEN = "open-7";
    /** Emitted before the savepoint: only its marker is left, with the outcome it was scored with. */
    private static final String DONE = "done-7";

    /** The watermark when the savepoint was taken: it had passed DONE's inputs, not OPEN's deadline. */
    private static final long SAVEPOINT_WATERMARK = T0 + 3_000;
    /** OPEN's inactivity deadline, after its newest input before the savepoint (its outcome). */
    private static final long OPEN_DEADLINE = T0 + 3_000 + OUTCOME_TIMEOUT;

    /** A step of OPEN with every field its trajectory must repeat set (agent, task, group, group size). */
    private static StepEvent.Builder openStep(int index, long eventTime) {
        return step(OPEN, index, eventTime)
                .setAgentId("agent-7")
                .setTaskId("task-7")
                .setGroupId("group-7")
                .setGroupSize(4)
                .setPolicyVersion(3);
    }

    // What OPEN received before the savepoint. Each input has its own offset: the lineage tells them apart.
    private static final StepEvent OPEN_STEP_0 = openStep(0, T0 + 1_000).setTokenIds(List.of(11, 12)).setLogprob(-0.5).build();
    private static final StepEvent OPEN_STEP_2 = openStep(2, T0 + 2_000).setTrainable(false).build();
    private static final VerifierSignal OPEN_VERDICT_0 = verdict(OPEN, 0, "unit-tests", 0.9, T0 + 2_500);
    private static final OutcomeEvent OPEN_OUTCOME = outcome(OPEN, 0.75, 1, T0 + 3_000);

    // What OPEN receives after the restore.
    private static final StepEvent OPEN_STEP_1 = openStep(1, T0 + 4_000).build();
    private static final StepEvent OPEN_STEP_3 = openStep(3, T0 + 5_000).setTerminal(TerminalKind.TERMINATED).build();
    private static final VerifierSignal OPEN_VERDICT_2 = verdict(OPEN, 2, "unit-tests", 0.4, T0 + 5_000);

    private static final OutcomeEvent DONE_OUTCOME = outcome(DONE, 1.0, 0, T0 + 500);

    private static InputRecord stepAt(long offset, StepEvent step) {
        return InputRecord.ofStep("agent.steps", 3, offset, step.getEventTime().toEpochMilli(), step);
    }

    private static InputRecord outcomeAt(long offset, OutcomeEvent outcome) {
        return InputRecord.ofOutcome("agent.outcomes", 1, offset, outcome.getEventTime().toEpochMilli(), outcome);
    }

    private static InputRecord verdictAt(long offset, VerifierSignal verdict) {
        return InputRecord.ofVerdict("agent.verdicts", 2, offset, verdict.getEventTime().toEpochMilli(), verdict);
    }

    private static StateBackend backend(String name) {
        return name.equals("rocksdb") ? new EmbeddedRocksDBStateBackend() : new HashMapStateBackend();
    }

    /** The assembler as the job runs it: in mini-batches, keyed by trajectory id, with the default options. */
    private static KeyedOneInputStreamOperatorTestHarness<String, InputRecord, AssembledTrajectory> harness(
            String backendName, AssembleTrajectory function) throws Exception {
        var harness = new KeyedOneInputStreamOperatorTestHarness<>(
                new MiniBatchAssembler(function, new Configuration()), InputRecord::trajectoryId, StringKeys.TYPE);
        harness.setStateBackend(backend(backendName));
        return harness;
    }

    /** {@link #harness} started from the earlier release's savepoint for {@code backendName}. */
    private static KeyedOneInputStreamOperatorTestHarness<String, InputRecord, AssembledTrajectory> restored(
            String backendName, AssembleTrajectory function) throws Exception {
        var restored = harness(backendName, function);
        restored.initializeState(fixture(backendName));
        restored.open();
        return restored;
    }

    /** As in the job: over the network, so a step arrives as its bytes (see Events#overTheNetwork). */
    private static void send(KeyedOneInputStreamOperatorTestHarness<String, InputRecord, ?> h, InputRecord r)
            throws Exception {
        h.processElement(new StreamRecord<>(overTheNetwork(r), r.timestamp));
    }

    /**
     * Writes the fixtures with the code on the classpath: run it in a worktree of the release to freeze (see the
     * class comment), never here, where it would write this build's state. The directory comes from the environment
     * (Surefire passes it on, where a -D property would need the POM to pass it).
     */
    @Test
    @EnabledIfEnvironmentVariable(named = "STRAWLESS_SAVEPOINT_FIXTURES", matches = ".+")
    void writeSavepointFixtures() throws Exception {
        Path dir = Paths.get(System.getenv("STRAWLESS_SAVEPOINT_FIXTURES"));
        Files.createDirectories(dir);
        for (String backendName : List.of("hashmap", "rocksdb")) {
            try (var h = harness(backendName, new AssembleTrajectory(new Configuration()))) {
                h.open();
                send(h, stepAt(200, step(DONE, 0, T0).setTerminal(TerminalKind.TERMINATED).build()));
                send(h, outcomeAt(40, DONE_OUTCOME));
                send(h, stepAt(100, OPEN_STEP_0));
                send(h, stepAt(102, OPEN_STEP_2));
                send(h, verdictAt(70, OPEN_VERDICT_0));
                send(h, outcomeAt(50, OPEN_OUTCOME));
                // On RocksDB the inputs wait in a mini-batch, and so would the watermark: its allowed latency passes.
                h.setProcessingTime(JobOptions.MINI_BATCH_ALLOW_LATENCY_ON_WATERMARK.toMillis());
                h.processWatermark(SAVEPOINT_WATERMARK); // DONE is complete: emitted, its marker stays
                List<AssembledTrajectory> emitted = h.extractOutputValues();
                assertEquals(List.of(DONE), emitted.stream().map(AssembledTrajectory::trajectoryId).toList());

                h.prepareSnapshotPreBarrier(1); // the task applies a held mini-batch before the barrier
                OperatorSubtaskState savepoint = h.snapshotWithLocalState(1, SAVEPOINT_WATERMARK,
                        SavepointType.savepoint(SavepointFormatType.CANONICAL)).getJobManagerOwnedState();
                OperatorSnapshotUtil.writeStateHandle(savepoint,
                        dir.resolve("assemble-" + backendName + ".savepoint").toString());
            }
        }
    }

    private static OperatorSubtaskState fixture(String backendName) throws Exception {
        String name = "savepoints/" + RELEASE + "/assemble-" + backendName + ".savepoint";
        return OperatorSnapshotUtil.readStateHandle(
                Paths.get(EarlierReleaseStateTest.class.getClassLoader().getResource(name).toURI()).toString());
    }

    private static List<UnscoredTrajectory> unscored(KeyedOneInputStreamOperatorTestHarness<String, InputRecord, ?> h) {
        List<UnscoredTrajectory> unscored = new ArrayList<>();
        if (h.getSideOutput(AssembleTrajectory.UNSCORED) != null) {
            h.getSideOutput(AssembleTrajectory.UNSCORED).forEach(r -> unscored.add(r.getValue()));
        }
        return unscored;
    }

    private static List<DeadLetter> deadLetters(KeyedOneInputStreamOperatorTestHarness<String, InputRecord, ?> h) {
        List<DeadLetter> deadLetters = new ArrayList<>();
        if (h.getSideOutput(DeadLetters.TAG) != null) {
            h.getSideOutput(DeadLetters.TAG).forEach(r -> deadLetters.add(r.getValue()));
        }
        return deadLetters;
    }

    /** After every marker's retention: no state of the assembler's, and no timer, is left on the key. */
    private static void assertNothingLeft(KeyedOneInputStreamOperatorTestHarness<String, InputRecord, ?> h,
            AssembleTrajectory function, String backendName) throws Exception {
        var backend = h.getOperator().getKeyedStateBackend();
        for (String state : List.of("steps", "verdicts", "progress", "finished")) {
            try (var keys = backend.getKeys(state, VoidNamespace.INSTANCE)) {
                assertEquals(0, keys.count(), state + " left on " + backendName);
            }
        }
        assertEquals(0, h.numEventTimeTimers(), "timers left on " + backendName);
        assertEquals(0, function.openWork().getValue());
    }

    @ParameterizedTest
    @ValueSource(strings = {"hashmap", "rocksdb"})
    void theOpenTrajectoryCompletesAndTheMarkerRoutesStragglers(String backendName) throws Exception {
        AssembleTrajectory function = new AssembleTrajectory(new Configuration());
        try (var restored = restored(backendName, function)) {
            assertEquals(1, function.openWork().getValue(), "the open trajectory recounted");

            // The migrated progress has no trajectory fields: the step in state stands for them, and refuses this.
            send(restored, stepAt(104, openStep(1, T0 + 4_000).setTaskId("task-other").build()));
            send(restored, stepAt(101, OPEN_STEP_1));
            send(restored, stepAt(103, OPEN_STEP_3));
            send(restored, verdictAt(71, OPEN_VERDICT_2));
            send(restored, stepAt(201, step(DONE, 1, T0 + 4_000).build()));
            OutcomeEvent revised = outcome(DONE, 0.0, 1, T0 + 4_000);
            send(restored, outcomeAt(41, revised));
            restored.setProcessingTime(JobOptions.MINI_BATCH_ALLOW_LATENCY_ON_WATERMARK.toMillis());
            restored.processWatermark(T0 + 5_000);

            List<AssembledTrajectory> emitted = restored.extractOutputValues();
            assertEquals(1, emitted.size(), "emitted: " + emitted);
            AssembledTrajectory open = emitted.get(0);
            assertEquals(OPEN, open.trajectoryId());
            assertEquals("agent-7", open.agentId());
            assertEquals("task-7", open.taskId());
            assertEquals("group-7", open.groupId());
            assertEquals(4, open.groupSize());
            assertEquals(List.of(OPEN_STEP_0, OPEN_STEP_1, OPEN_STEP_2, OPEN_STEP_3), new ArrayList<>(open.steps()),
                    "the steps from before the restore and after, in order, as they were sent");
            assertEquals(OPEN_OUTCOME, open.outcome(), "the outcome the savepoint kept");
            assertEquals(List.of(OPEN_VERDICT_0, OPEN_VERDICT_2), open.verdicts(), "verdicts in arrival order");
            assertEquals(List.of(new OffsetRange("agent.steps", 3, 100L, 103L),
                            new OffsetRange("agent.verdicts", 2, 70L, 71L),
                            new OffsetRange("agent.outcomes", 1, 50L, 50L)),
                    open.lineage(), "the lineage from before the restore, extended; the refused step is not in it");

            List<DeadLetter> deadLetters = deadLetters(restored);
            assertEquals(1, deadLetters.size(), "dead letters: " + deadLetters);
            assertEquals("CONFLICTING_TRAJECTORY_FIELDS", deadLetters.get(0).getErrorClass());
            assertEquals(104L, deadLetters.get(0).getOffset());
            assertTrue(deadLetters.get(0).getErrorMessage().contains("task_id \"task-other\" (theirs: \"task-7\")"),
                    deadLetters.get(0).getErrorMessage());

            List<UnscoredTrajectory> unscored = unscored(restored);
            assertEquals(List.of(UnscoredReason.LATE, UnscoredReason.LATE_REVISION),
                    unscored.stream().map(UnscoredTrajectory::getReason).toList(), "the marker routes DONE's stragglers");
            assertEquals(DONE, unscored.get(0).getTrajectoryId());
            assertEquals(List.of(1), unscored.get(0).getSteps().stream().map(StepEvent::getStepIndex).toList());
            assertEquals(List.of(DONE_OUTCOME, revised), unscored.get(1).getOutcomes(),
                    "the outcome the marker kept, then the revision that came too late");

            var backend = restored.getOperator().getKeyedStateBackend();
            try (var markers = backend.getKeys("finished", VoidNamespace.INSTANCE)) {
                assertEquals(List.of(DONE, OPEN), markers.sorted().toList(), "both markers wait for their retention");
            }
            restored.processWatermark(SAVEPOINT_WATERMARK + RETENTION - 1);
            try (var markers = backend.getKeys("finished", VoidNamespace.INSTANCE)) {
                assertEquals(2, markers.count(), "DONE's marker is kept until its retention, as the savepoint had it");
            }
            restored.processWatermark(SAVEPOINT_WATERMARK + RETENTION);
            try (var markers = backend.getKeys("finished", VoidNamespace.INSTANCE)) {
                assertEquals(List.of(OPEN), markers.toList(), "the timer of DONE's marker clears it at its retention");
            }
            restored.processWatermark(Long.MAX_VALUE);
            assertNothingLeft(restored, function, backendName);
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"hashmap", "rocksdb"})
    void theOpenTrajectoryTimesOutOnTheTimerItHad(String backendName) throws Exception {
        AssembleTrajectory function = new AssembleTrajectory(new Configuration());
        try (var restored = restored(backendName, function)) {
            assertEquals(2, restored.numEventTimeTimers(), "OPEN's inactivity timer and the timer of DONE's marker");

            restored.processWatermark(OPEN_DEADLINE - 1);
            assertEquals(List.of(), unscored(restored), "nothing is due before the deadline the savepoint kept");
            restored.processWatermark(OPEN_DEADLINE);

            List<UnscoredTrajectory> unscored = unscored(restored);
            assertEquals(1, unscored.size(), "unscored: " + unscored);
            UnscoredTrajectory timedOut = unscored.get(0);
            assertEquals(OPEN, timedOut.getTrajectoryId());
            assertEquals(UnscoredReason.INCOMPLETE, timedOut.getReason());
            assertEquals("no terminal step within " + OUTCOME_TIMEOUT + " ms (2 steps)", timedOut.getDetail());
            assertEquals(List.of(OPEN_STEP_0, OPEN_STEP_2), timedOut.getSteps(), "what arrived, as it was sent");
            assertEquals(List.of(OPEN_OUTCOME), timedOut.getOutcomes());
            assertEquals(List.of(OPEN_VERDICT_0), timedOut.getVerdicts());
            assertEquals(List.of(), restored.extractOutputValues());

            restored.processWatermark(Long.MAX_VALUE);
            assertNothingLeft(restored, function, backendName);
        }
    }
}
