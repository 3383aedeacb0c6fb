package io.strawless.pipeline.grouping;

import static io.strawless.pipeline.Events.outcome;
import static io.strawless.pipeline.Events.step;
import static io.strawless.pipeline.Events.verdict;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.strawless.pipeline.DrainingKeyedProcessOperator;
import io.strawless.pipeline.JobOptions;
import io.strawless.pipeline.StringKeys;
import io.strawless.pipeline.assembly.AssembledTrajectory;
import io.strawless.pipeline.assembly.AssembledTrajectorySerializer;
import io.strawless.pipeline.batching.ScoreAndBatchOperator;
import io.strawless.pipeline.credit.CreditOptions;
import io.strawless.pipeline.credit.Estimator;
import io.strawless.schemas.OffsetRange;
import io.strawless.schemas.ScoredStep;
import io.strawless.schemas.ScoredTrajectory;
import io.strawless.schemas.StepEvent;
import io.strawless.schemas.TerminalKind;
import io.strawless.schemas.TrainingBatch;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.ArrayList;
import java.util.List;
import org.apache.flink.api.common.serialization.SerializerConfigImpl;
import org.apache.flink.api.common.typeinfo.TypeInformation;
import org.apache.flink.api.common.typeinfo.Types;
import org.apache.flink.api.common.typeutils.TypeSerializer;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.core.execution.SavepointFormatType;
import org.apache.flink.core.memory.DataInputDeserializer;
import org.apache.flink.core.memory.DataOutputSerializer;
import org.apache.flink.runtime.checkpoint.OperatorSubtaskState;
import org.apache.flink.runtime.checkpoint.SavepointType;
import org.apache.flink.runtime.state.StateBackend;
import org.apache.flink.runtime.state.VoidNamespace;
import org.apache.flink.runtime.state.hashmap.HashMapStateBackend;
import org.apache.flink.state.rocksdb.EmbeddedRocksDBStateBackend;
import org.apache.flink.streaming.api.operators.OneInputStreamOperator;
import org.apache.flink.streaming.runtime.streamrecord.StreamRecord;
import org.apache.flink.streaming.util.KeyedOneInputStreamOperatorTestHarness;
import org.apache.flink.streaming.util.OperatorSnapshotUtil;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.condition.EnabledIfEnvironmentVariable;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Savepoints of the grouping stage and of the scoring stage that a release before {@link GroupStateSerializers}
 * wrote are restored by this build, on the heap and on RocksDB: the group that waited for its last member closes
 * when it comes (or at the deadline it had), the batch that waited for its latency is scored, every member reads
 * back whole, and nothing is left behind. Then both stages kept their groups with Flink's POJO serializer, of the
 * records as they were then ({@code PendingGroup} without {@code diverted}, {@code AssembledTrajectory} without
 * {@code verifiersTimedOut}, {@code PendingBatch} without {@code bytes}). Unlike {@link GroupStateSerializersTest},
 * which writes earlier formats with today's code and records, the state here was written by the release's own code
 * and frozen: a bug that today's writer and reader share, or a POJO snapshot that names fields today's records lack
 * or lacks fields they have, cannot hide.
 *
 * <p>The fixtures ({@code src/test/resources/savepoints/a7152a0/<uid>-<backend>.savepoint}, for the operators with
 * uid "group" and "score-and-batch", one per state backend) are canonical savepoints, what {@code flink stop
 * --savepointPath} writes by default, at commit a7152a0: the last commit before 93519eb, which moved both stages'
 * groups to {@link GroupStateSerializers}. A copy of this class, compiled and run in a worktree of that commit,
 * wrote them ({@link #writeSavepointFixtures}, with Flink's {@link OperatorSnapshotUtil}); that copy ran the scoring
 * stage as the job did then, {@code ScoreAndBatch} in a {@link DrainingKeyedProcessOperator}, which kept a pending
 * batch in a savepoint (today's {@link ScoreAndBatchOperator} closes it at the barrier unless
 * {@code batch.close-at-checkpoint} is off, as the writer below sets it).
 *
 * <p>To freeze the next release before a change of these stages' state, as {@code EarlierReleaseStateTest} says
 * for the assembler (this class is in it from now on, so it compiles there):
 *
 * <pre>
 * git worktree add /tmp/previous-release &lt;its commit&gt;
 * cd /tmp/previous-release
 * STRAWLESS_SAVEPOINT_FIXTURES=&lt;this checkout&gt;/pipeline/src/test/resources/savepoints/&lt;its commit&gt; \
 *     mvn -o -q -pl pipeline -am test -Dtest=EarlierReleaseGroupStateTest#writeSavepointFixtures \
 *     -Dsurefire.failIfNoSpecifiedTests=false
 * git worktree remove --force /tmp/previous-release
 * </pre>
 *
 * then restore those as the tests below restore a7152a0's, and keep the earlier ones. The scenario (ids, inputs,
 * times) is shared by the writer and the tests: change it only together with fresh fixtures.
 */
class EarlierReleaseGroupStateTest {

    /** The release that wrote the fixtures. */
    private static final String RELEASE = "a7152a0";

    private static final long T0 = 1_767_225_600_000L; // 2026-01-01T00:00:00Z
    private static final long GROUP_TIMEOUT = JobOptions.GROUP_TIMEOUT.defaultValue().toMillis();

    private static final String TASK = "task-9";
    private static final String GROUP = "group-9";
    private static final int GROUP_SIZE = 3;

    /**
     * A trajectory of TASK as it arrives from the assembler: its steps still encoded (over the network), every field
     * a stage keeps set. {@code n} tells its offsets apart; it completed at {@code completedAt}.
     */
    private static AssembledTrajectory member(String id, String groupId, double reward, int n, long completedAt) {
        int groupSize = groupId == null ? 0 : GROUP_SIZE;
        long policy = 5 + n;
        List<StepEvent> steps = new ArrayList<>();
        for (int i = 0; i < 3; i++) {
            StepEvent.Builder step = step(id, i, completedAt - 300 + 100 * i)
                    .setAgentId("agent-9")
                    .setTaskId(TASK)
                    .setGroupId(groupId)
                    .setGroupSize(groupId == null ? null : GROUP_SIZE)
                    .setPolicyVersion(policy);
            if (i == 0) {
                step.setTokenIds(List.of(11 + n, 12 + n)).setLogprob(-0.5 - n);
            } else if (i == 1) {
                step.setTrainable(false).setReward(0.25);
            } else {
                step.setTokenIds(List.of(13 + n)).setLogprob(-1.5).setTerminal(TerminalKind.TERMINATED);
            }
            steps.add(step.build());
        }
        AssembledTrajectory t = new AssembledTrajectory(id, "agent-9", TASK, groupId, groupSize, steps,
                outcome(id, reward, 1, completedAt), List.of(verdict(id, 0, "unit-tests", 0.9, completedAt - 50)),
                List.of(new OffsetRange("agent.steps", 3, 100L + 3 * n, 102L + 3 * n),
                        new OffsetRange("agent.verdicts", 2, 70L + n, 70L + n),
                        new OffsetRange("agent.outcomes", 1, 50L + n, 50L + n)));
        return overTheNetwork(AssembledTrajectorySerializer.TYPE_INFO, t);
    }

    /** A trajectory without a group, scored alone before the savepoint: it set the task's baseline. */
    private static final AssembledTrajectory SOLO = member("solo-9", null, 0.5, 0, T0 + 500);
    /** The two members of GROUP that waited in the savepoint. */
    private static final AssembledTrajectory A = member("a-9", GROUP, 1.0, 1, T0 + 1_000);
    private static final AssembledTrajectory B = member("b-9", GROUP, 0.0, 2, T0 + 2_000);
    /** GROUP's last member: after the restore in the grouping stage, before the savepoint in the scoring stage. */
    private static final AssembledTrajectory C = member("c-9", GROUP, 0.5, 3, T0 + 4_000);

    /** The grouping stage's watermark when the savepoint was taken: past SOLO, A and B, before C. */
    private static final long SAVEPOINT_WATERMARK = T0 + 3_000;
    /** GROUP's deadline, from its first member. */
    private static final long GROUP_DEADLINE = T0 + 1_000 + GROUP_TIMEOUT;

    /** The scoring stage's processing time when its batch opened and when the savepoint was taken. */
    private static final long BATCH_OPENED = 1_000;
    private static final long BATCH_MAX_LATENCY = JobOptions.BATCH_MAX_LATENCY.defaultValue().toMillis();
    /** The scoring stage's only bucket (its key). */
    private static final int BUCKET = 0;

    /** {@code value} through a network serializer, as a stage receives it in the job. */
    private static <T> T overTheNetwork(TypeInformation<T> type, T value) {
        try {
            TypeSerializer<T> serializer = type.createSerializer(new SerializerConfigImpl());
            DataOutputSerializer out = new DataOutputSerializer(512);
            serializer.serialize(value, out);
            return serializer.deserialize(new DataInputDeserializer(out.getSharedBuffer(), 0, out.length()));
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
    }

    private static TrajectoryGroup closedGroup(List<AssembledTrajectory> members, double baseline) {
        return overTheNetwork(TrajectoryGroupSerializer.TYPE_INFO, new TrajectoryGroup(members, baseline));
    }

    private static StateBackend backend(String name) {
        return name.equals("rocksdb") ? new EmbeddedRocksDBStateBackend() : new HashMapStateBackend();
    }

    /** Group-relative credit: members wait for their group. */
    private static Configuration grpo() {
        Configuration conf = new Configuration();
        conf.set(CreditOptions.ESTIMATOR, Estimator.GRPO);
        conf.set(CreditOptions.BACKEND, CreditOptions.Backend.JAVA);
        return conf;
    }

    /** The grouping stage as the job runs it, keyed by task. */
    private static KeyedOneInputStreamOperatorTestHarness<String, AssembledTrajectory, TrajectoryGroup> grouping(
            String backendName, GroupTrajectories function) throws Exception {
        var harness = new KeyedOneInputStreamOperatorTestHarness<>(
                new DrainingKeyedProcessOperator<>(function), AssembledTrajectory::taskId, StringKeys.TYPE);
        harness.setStateBackend(backend(backendName));
        return harness;
    }

    /** The scoring stage in one bucket, with {@code operator} as the job runs it. */
    private static KeyedOneInputStreamOperatorTestHarness<Integer, TrajectoryGroup, TrainingBatch> scoring(
            String backendName, OneInputStreamOperator<TrajectoryGroup, TrainingBatch> operator) throws Exception {
        var harness = new KeyedOneInputStreamOperatorTestHarness<>(operator, (TrajectoryGroup g) -> BUCKET, Types.INT);
        harness.setStateBackend(backend(backendName));
        return harness;
    }

    private static OperatorSubtaskState canonicalSavepoint(KeyedOneInputStreamOperatorTestHarness<?, ?, ?> h)
            throws Exception {
        h.prepareSnapshotPreBarrier(1);
        return h.snapshotWithLocalState(1, SAVEPOINT_WATERMARK, SavepointType.savepoint(SavepointFormatType.CANONICAL))
                .getJobManagerOwnedState();
    }

    /**
     * Writes the fixtures with the code on the classpath: run it in a worktree of the release to freeze (see the
     * class comment), never here, where it would write this build's state. The directory comes from the environment.
     */
    @Test
    @EnabledIfEnvironmentVariable(named = "STRAWLESS_SAVEPOINT_FIXTURES", matches = ".+")
    void writeSavepointFixtures() throws Exception {
        Path dir = Paths.get(System.getenv("STRAWLESS_SAVEPOINT_FIXTURES"));
        Files.createDirectories(dir);
        for (String backendName : List.of("hashmap", "rocksdb")) {
            try (var h = grouping(backendName, new GroupTrajectories(grpo()))) {
                h.open();
                h.processElement(new StreamRecord<>(SOLO, T0 + 500)); // a unit of its own: sets the baseline
                h.processElement(new StreamRecord<>(A, T0 + 1_000));
                h.processElement(new StreamRecord<>(B, T0 + 2_000));
                h.processWatermark(SAVEPOINT_WATERMARK);
                List<TrajectoryGroup> closed = h.extractOutputValues();
                assertEquals(List.of(List.of(SOLO)), closed.stream().map(TrajectoryGroup::members).toList());
                OperatorSnapshotUtil.writeStateHandle(canonicalSavepoint(h),
                        dir.resolve("group-" + backendName + ".savepoint").toString());
            }

            Configuration conf = grpo();
            conf.set(JobOptions.BATCH_MAX_TRAJECTORIES, 100);
            conf.set(JobOptions.BATCH_CLOSE_AT_CHECKPOINT, false); // the batch stays pending in the savepoint
            try (var h = scoring(backendName, new ScoreAndBatchOperator(conf, new int[] {0}))) {
                h.setProcessingTime(BATCH_OPENED);
                h.open();
                h.processElement(new StreamRecord<>(closedGroup(List.of(SOLO), 0.0), T0 + 500));
                h.processElement(new StreamRecord<>(closedGroup(List.of(A, B, C), 0.5), T0 + 4_000));
                assertEquals(List.of(), h.extractOutputValues());
                OperatorSnapshotUtil.writeStateHandle(canonicalSavepoint(h),
                        dir.resolve("score-and-batch-" + backendName + ".savepoint").toString());
            }
        }
    }

    private static OperatorSubtaskState fixture(String uid, String backendName) throws Exception {
        String name = "savepoints/" + RELEASE + "/" + uid + "-" + backendName + ".savepoint";
        return OperatorSnapshotUtil.readStateHandle(Paths.get(
                EarlierReleaseGroupStateTest.class.getClassLoader().getResource(name).toURI()).toString());
    }

    private static KeyedOneInputStreamOperatorTestHarness<String, AssembledTrajectory, TrajectoryGroup>
            restoredGrouping(String backendName, GroupTrajectories function) throws Exception {
        var restored = grouping(backendName, function);
        restored.initializeState(fixture("group", backendName));
        restored.open();
        return restored;
    }

    /** After every timer: no state of the grouping stage's, and no timer, is left on the task. */
    private static void assertNothingLeftInGrouping(
            KeyedOneInputStreamOperatorTestHarness<String, AssembledTrajectory, TrajectoryGroup> h,
            GroupTrajectories function, String backendName) throws Exception {
        var backend = h.getOperator().getKeyedStateBackend();
        for (String state : List.of("pending-groups", "closed-groups", "closed-group-close-times", "next-forget",
                "baseline", "baseline-expiry", "newest-policy-version", "newest-policy-version-from",
                "newest-policy-version-until")) {
            try (var keys = backend.getKeys(state, VoidNamespace.INSTANCE)) {
                assertEquals(0, keys.count(), state + " left on " + backendName);
            }
        }
        assertEquals(0, h.numEventTimeTimers(), "timers left on " + backendName);
        assertEquals(0, function.openWork().getValue());
    }

    @ParameterizedTest
    @ValueSource(strings = {"hashmap", "rocksdb"})
    void theWaitingGroupClosesWhenItsLastMemberArrives(String backendName) throws Exception {
        GroupTrajectories function = new GroupTrajectories(grpo());
        try (var restored = restoredGrouping(backendName, function)) {
            assertEquals(1, function.openWork().getValue(), "the waiting group recounted");
            assertEquals(2, restored.numEventTimeTimers(), "the group's deadline and the task's expiry");

            restored.processElement(new StreamRecord<>(C, T0 + 4_000));

            List<TrajectoryGroup> closed = restored.extractOutputValues();
            assertEquals(1, closed.size(), "closed by size: " + closed);
            assertEquals(List.of(A, B, C), closed.get(0).members(),
                    "the members from before the restore read back whole (ids, steps, outcome, verdicts, lineage)");
            assertEquals(0.5, closed.get(0).baseline(), "the task's baseline from before the restore (SOLO's reward)");
            assertEquals(0, function.openWork().getValue());

            restored.processWatermark(Long.MAX_VALUE);
            assertNothingLeftInGrouping(restored, function, backendName);
        }
    }

    /** The upgraded job's next checkpoint keeps the group in this build's format, and a restore from it goes on. */
    @ParameterizedTest
    @ValueSource(strings = {"hashmap", "rocksdb"})
    void theWaitingGroupOutlivesTheNextCheckpoint(String backendName) throws Exception {
        OperatorSubtaskState checkpoint;
        try (var restored = restoredGrouping(backendName, new GroupTrajectories(grpo()))) {
            checkpoint = restored.snapshot(2, SAVEPOINT_WATERMARK + 1);
        }
        GroupTrajectories function = new GroupTrajectories(grpo());
        try (var again = grouping(backendName, function)) {
            again.initializeState(checkpoint);
            again.open();
            assertEquals(1, function.openWork().getValue(), "the waiting group recounted");
            again.processElement(new StreamRecord<>(C, T0 + 4_000));
            List<TrajectoryGroup> closed = again.extractOutputValues();
            assertEquals(1, closed.size(), "closed by size: " + closed);
            assertEquals(List.of(A, B, C), closed.get(0).members());
            assertEquals(0.5, closed.get(0).baseline());
            again.processWatermark(Long.MAX_VALUE);
            assertNothingLeftInGrouping(again, function, backendName);
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"hashmap", "rocksdb"})
    void theWaitingGroupClosesAtTheDeadlineItHad(String backendName) throws Exception {
        GroupTrajectories function = new GroupTrajectories(grpo());
        try (var restored = restoredGrouping(backendName, function)) {
            restored.processWatermark(GROUP_DEADLINE - 1);
            assertEquals(List.of(), restored.extractOutputValues(), "nothing is due before the deadline it had");
            restored.processWatermark(GROUP_DEADLINE);

            List<TrajectoryGroup> closed = restored.extractOutputValues();
            assertEquals(1, closed.size(), "closed at its timeout: " + closed);
            assertEquals(List.of(A, B), closed.get(0).members(), "partial (job.partial-groups=SCORE), read back whole");
            assertEquals(0.5, closed.get(0).baseline());

            restored.processWatermark(Long.MAX_VALUE);
            assertNothingLeftInGrouping(restored, function, backendName);
        }
    }

    private static KeyedOneInputStreamOperatorTestHarness<Integer, TrajectoryGroup, TrainingBatch> restoredScoring(
            String backendName) throws Exception {
        Configuration conf = grpo();
        conf.set(JobOptions.BATCH_MAX_TRAJECTORIES, 100);
        var restored = scoring(backendName, new ScoreAndBatchOperator(conf, new int[] {0}));
        restored.initializeState(fixture("score-and-batch", backendName));
        restored.setProcessingTime(BATCH_OPENED);
        restored.open();
        return restored;
    }

    /** Each scored trajectory is its member as sent, step by step; a group's credit sums to zero. */
    private static void assertScoredWhole(List<AssembledTrajectory> sent, List<ScoredTrajectory> scored) {
        assertEquals(sent.stream().map(AssembledTrajectory::trajectoryId).toList(),
                scored.stream().map(ScoredTrajectory::getTrajectoryId).toList());
        for (int i = 0; i < sent.size(); i++) {
            AssembledTrajectory t = sent.get(i);
            ScoredTrajectory s = scored.get(i);
            assertEquals(t.agentId(), s.getAgentId());
            assertEquals(t.taskId(), s.getTaskId());
            assertEquals(t.groupId(), s.getGroupId());
            assertEquals(t.outcome().getReward(), s.getOutcomeReward(), t.trajectoryId());
            assertEquals(t.outcome().getRevision(), s.getOutcomeRevision());
            assertEquals(t.steps().size(), s.getSteps().size(), "every step of " + t.trajectoryId());
            for (int k = 0; k < t.steps().size(); k++) {
                StepEvent step = t.steps().get(k);
                ScoredStep scoredStep = s.getSteps().get(k);
                String which = t.trajectoryId() + " step " + k;
                assertEquals(step.getStepIndex(), scoredStep.getStepIndex(), which);
                assertEquals(step.getTrainable(), scoredStep.getTrainable(), which);
                assertEquals(step.getTokenIds(), scoredStep.getTokenIds(), which);
                assertEquals(step.getLogprob(), scoredStep.getLogprob(), which);
                assertEquals(step.getReward(), scoredStep.getReward(), which);
                assertEquals(step.getPolicyVersion(), scoredStep.getPolicyVersion(), which);
            }
            assertEquals(TerminalKind.TERMINATED, s.getTerminal());
        }
    }

    /** The batch the scoring stage's savepoint held: SOLO alone, then GROUP, scored group-relative. */
    private static void assertTheRestoredBatch(TrainingBatch batch) {
        List<ScoredTrajectory> scored = batch.getTrajectories();
        assertScoredWhole(List.of(SOLO, A, B, C), scored);
        assertEquals(List.of(1, 3, 3, 3), scored.stream().map(ScoredTrajectory::getUnitSize).toList());
        double a = scored.get(1).getSteps().get(0).getAdvantage();
        double b = scored.get(2).getSteps().get(0).getAdvantage();
        double c = scored.get(3).getSteps().get(0).getAdvantage();
        assertTrue(a > 0 && b < 0, "a " + a + ", b " + b);
        assertEquals(0.0, a + b + c, 1e-9, "relative to its group's mean");
        assertEquals(List.of(new OffsetRange("agent.steps", 3, 100L, 111L),
                new OffsetRange("agent.verdicts", 2, 70L, 73L), new OffsetRange("agent.outcomes", 1, 50L, 53L)),
                batch.getLineage(), "every member's lineage");
        assertEquals(5L, batch.getMinPolicyVersion());
        assertEquals(8L, batch.getMaxPolicyVersion());
    }

    /** After its batches: no pending batch, and no timer of one, is left in the bucket. */
    private static void assertNoBatchLeft(KeyedOneInputStreamOperatorTestHarness<Integer, TrajectoryGroup, ?> h,
            String backendName) throws Exception {
        var backend = h.getOperator().getKeyedStateBackend();
        for (String state : List.of("pending", "pending-batch")) {
            try (var keys = backend.getKeys(state, VoidNamespace.INSTANCE)) {
                assertEquals(0, keys.count(), state + " left on " + backendName);
            }
        }
        assertEquals(0, h.numProcessingTimeTimers(), "latency timers left on " + backendName);
        assertEquals(0, h.numEventTimeTimers(), "end-of-input timers left on " + backendName);
    }

    @ParameterizedTest
    @ValueSource(strings = {"hashmap", "rocksdb"})
    void theWaitingBatchIsScoredAtItsLatency(String backendName) throws Exception {
        try (var restored = restoredScoring(backendName)) {
            assertEquals(1, restored.numProcessingTimeTimers(), "the batch's latency");
            assertEquals(1, restored.numEventTimeTimers(), "the end of the input");
            restored.setProcessingTime(BATCH_OPENED + BATCH_MAX_LATENCY - 1);
            assertEquals(List.of(), restored.extractOutputValues(), "nothing is due before the latency it had");
            restored.setProcessingTime(BATCH_OPENED + BATCH_MAX_LATENCY);

            List<TrainingBatch> batches = restored.extractOutputValues();
            assertEquals(1, batches.size(), "batches: " + batches);
            assertTheRestoredBatch(batches.get(0));
            assertNoBatchLeft(restored, backendName);
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"hashmap", "rocksdb"})
    void aGroupAfterTheRestoreJoinsTheWaitingBatchOnceItsBytesAreCounted(String backendName) throws Exception {
        try (var restored = restoredScoring(backendName)) {
            AssembledTrajectory later = member("later-9", null, 1.0, 4, T0 + 5_000);
            restored.setProcessingTime(BATCH_OPENED + 10);
            // The release did not count a batch's bytes: the restored batch is counted when the group comes, and the
            // group fits beside it.
            restored.processElement(new StreamRecord<>(closedGroup(List.of(later), 0.5), T0 + 5_000));
            assertEquals(List.of(), restored.extractOutputValues(), "the batch waits for the latency it had");

            restored.setProcessingTime(BATCH_OPENED + BATCH_MAX_LATENCY);
            List<TrainingBatch> batches = restored.extractOutputValues();
            assertEquals(1, batches.size(), "batches: " + batches);
            List<ScoredTrajectory> scored = batches.get(0).getTrajectories();
            assertScoredWhole(List.of(SOLO, A, B, C, later), scored);
            assertEquals(List.of(1, 3, 3, 3, 1), scored.stream().map(ScoredTrajectory::getUnitSize).toList());
            assertNoBatchLeft(restored, backendName);
        }
    }
}
