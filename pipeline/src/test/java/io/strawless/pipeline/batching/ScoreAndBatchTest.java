package io.strawless.pipeline.batching;

import static io.strawless.pipeline.Events.trajectory;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.strawless.connectors.KafkaOptions;
import io.strawless.connectors.serde.EncodedSteps;
import io.strawless.connectors.serde.StepEventCodec;
import io.strawless.connectors.serde.TrainingBatchSerializer;
import io.strawless.pipeline.Events;
import io.strawless.pipeline.JobOptions;
import io.strawless.pipeline.RecordedMetrics;
import io.strawless.pipeline.assembly.AssembledTrajectory;
import io.strawless.pipeline.credit.CreditConfig;
import io.strawless.pipeline.credit.CreditOptions;
import io.strawless.pipeline.credit.Estimator;
import io.strawless.pipeline.batching.ScoreAndBatch.PendingBatch;
import io.strawless.pipeline.grouping.GroupStateSerializers;
import io.strawless.pipeline.grouping.TrajectoryGroup;
import io.strawless.schemas.OffsetRange;
import io.strawless.schemas.ScoredStep;
import io.strawless.schemas.ScoredTrajectory;
import io.strawless.schemas.StepEvent;
import io.strawless.schemas.TerminalKind;
import io.strawless.schemas.TrainingBatch;
import io.strawless.schemas.UnscoredReason;
import io.strawless.schemas.UnscoredTrajectory;
import io.strawless.schemas.VerifierSignal;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeMap;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.apache.flink.metrics.Gauge;
import org.apache.flink.metrics.MetricGroup;
import org.apache.flink.metrics.groups.UnregisteredMetricsGroup;
import org.apache.flink.api.common.typeinfo.Types;
import org.apache.flink.api.java.functions.KeySelector;
import org.apache.flink.api.common.state.ListStateDescriptor;
import org.apache.flink.api.common.state.ValueStateDescriptor;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.runtime.checkpoint.OperatorSubtaskState;
import org.apache.flink.streaming.api.functions.KeyedProcessFunction;
import org.apache.flink.streaming.api.operators.KeyedProcessOperator;
import org.apache.flink.util.Collector;
import org.apache.flink.runtime.state.KeyGroupRangeAssignment;
import org.apache.flink.runtime.state.KeyedStateBackend;
import org.apache.flink.runtime.state.VoidNamespace;
import org.apache.flink.streaming.api.operators.AbstractStreamOperator;
import org.apache.flink.state.rocksdb.EmbeddedRocksDBStateBackend;
import org.apache.flink.streaming.runtime.streamrecord.StreamRecord;
import org.apache.flink.streaming.util.KeyedOneInputStreamOperatorTestHarness;
import org.apache.flink.streaming.util.ProcessFunctionTestHarnesses;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;

class ScoreAndBatchTest {

    private KeyedOneInputStreamOperatorTestHarness<Integer, TrajectoryGroup, TrainingBatch> harness;

    private void start(Configuration conf) throws Exception {
        conf.set(JobOptions.BATCH_MAX_TRAJECTORIES, 3);
        conf.set(JobOptions.BATCH_MAX_LATENCY, Duration.ofMillis(500));
        conf.set(CreditOptions.BACKEND, CreditOptions.Backend.JAVA);
        harness = ProcessFunctionTestHarnesses.forKeyedProcessFunction(new ScoreAndBatch(conf), g -> 0, Types.INT);
        harness.setProcessingTime(0);
    }

    /**
     * {@link #start} with the operator the job runs, {@link ScoreAndBatchOperator}, on the heap or RocksDB, its
     * metrics recorded.
     */
    private RecordedMetrics startOperator(Configuration conf, KeySelector<TrajectoryGroup, Integer> bucketOf,
            boolean rocksdb) throws Exception {
        conf.set(JobOptions.BATCH_MAX_TRAJECTORIES, 3);
        conf.set(JobOptions.BATCH_MAX_LATENCY, Duration.ofMillis(500));
        conf.set(CreditOptions.BACKEND, CreditOptions.Backend.JAVA);
        RecordedMetrics metrics = new RecordedMetrics();
        harness = new KeyedOneInputStreamOperatorTestHarness<>(
                new ScoreAndBatchOperator(conf, new int[] {0}), bucketOf, Types.INT, metrics.environment());
        if (rocksdb) {
            harness.setStateBackend(new EmbeddedRocksDBStateBackend());
        }
        harness.open();
        harness.setProcessingTime(0);
        return metrics;
    }

    @AfterEach
    void tearDown() throws Exception {
        if (harness != null) {
            harness.close();
        }
    }

    @ParameterizedTest
    @CsvSource({"1, 128", "2, 128", "3, 128", "4, 128", "85, 128", "128, 128", "86, 256", "1000, 32768"})
    void eachBucketKeyLandsOnItsOwnInstance(int parallelism, int maxParallelism) {
        int[] keys = ScoreAndBatch.bucketKeys(parallelism, maxParallelism);
        assertEquals(parallelism, keys.length);
        for (int instance = 0; instance < parallelism; instance++) {
            assertEquals(instance, KeyGroupRangeAssignment.assignKeyToParallelOperator(keys[instance], maxParallelism, parallelism),
                    "bucket key " + keys[instance]);
        }
    }

    @Test
    void bucketsLaidOutForAnotherMaxParallelismAreReportedWithTheKeyToSet() {
        // Built at parallelism 96 without pipeline.max-parallelism, the job derives 256; restored from a savepoint
        // taken at parallelism 4, it runs with the savepoint's 128.
        int[] derived = ScoreAndBatch.bucketKeys(96, 256);
        assertEquals(Optional.empty(), ScoreAndBatchOperator.bucketLayoutProblem(derived, 96, 256));
        String problem = ScoreAndBatchOperator.bucketLayoutProblem(derived, 96, 128).orElseThrow();
        assertTrue(problem.matches("the 96 batching buckets land on \\d+ of the 96 scoring subtasks \\(max parallelism"
                + " 128\\), so the others score nothing: .* set pipeline.max-parallelism to 128 .*"), problem);
        // An autoscaler that scales the scoring stage alone: 4 buckets for 8 subtasks.
        assertTrue(ScoreAndBatchOperator.bucketLayoutProblem(ScoreAndBatch.bucketKeys(4, 128), 8, 128).isPresent());
    }

    /** Refused when the job is built, not in every task's open() (auto's probe is of that size), in a restart loop. */
    @ParameterizedTest
    @ValueSource(ints = {0, -1})
    void aBatchSizeBelowOneIsRefusedWithTheKeyToSet(int size) {
        Configuration conf = new Configuration();
        conf.set(JobOptions.BATCH_MAX_TRAJECTORIES, size);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> new ScoreAndBatch(conf));
        assertEquals("batch.max-trajectories must be positive, was " + size + ": set how many trajectories a batch"
                + " holds at most, e.g. 256 (1 sends each group on as it closes)", e.getMessage());
    }

    /** Prometheus exports a gauge only when its value is a number: each backend gets a 0/1 gauge, labelled. */
    @Test
    void theBackendInUseIsANumericGaugePerBackend() {
        Map<String, Gauge<?>> gauges = new TreeMap<>();
        class Group extends UnregisteredMetricsGroup {
            private final String path;

            Group(String path) {
                this.path = path;
            }

            @Override
            public MetricGroup addGroup(String key, String value) {
                return new Group(path + key + "." + value + ".");
            }

            @Override
            public <T, G extends Gauge<T>> G gauge(String name, G gauge) {
                gauges.put(path + name, gauge);
                return gauge;
            }
        }
        String[] inUse = {"opencl"};
        ScoreAndBatch.registerBackendGauges(new Group("credit."), () -> inUse[0]);

        assertEquals(List.of("credit.backend.java.inUse", "credit.backend.jtp.inUse", "credit.backend.opencl.inUse"),
                List.copyOf(gauges.keySet()));
        assertEquals(1, gauges.get("credit.backend.opencl.inUse").getValue());
        assertEquals(0, gauges.get("credit.backend.java.inUse").getValue());
        inUse[0] = "java"; // a fallback
        assertEquals(0, gauges.get("credit.backend.opencl.inUse").getValue());
        assertEquals(1, gauges.get("credit.backend.java.inUse").getValue());
    }

    @Test
    void theBucketKeysOfParallelismTwoAreNotZeroAndOne() {
        // Both 0 and 1 land on the second instance; the first instance's key is the smallest that does not.
        int[] keys = ScoreAndBatch.bucketKeys(2, 128);
        assertEquals(1, KeyGroupRangeAssignment.assignKeyToParallelOperator(0, 128, 2));
        assertEquals(1, KeyGroupRangeAssignment.assignKeyToParallelOperator(1, 128, 2));
        assertEquals(0, keys[1]);
        assertTrue(keys[0] > 1);
    }

    /** A group of trajectories with the given outcomes, each carrying one offset of lineage. */
    private static TrajectoryGroup group(String prefix, double baseline, double... rewards) {
        List<AssembledTrajectory> members = new ArrayList<>();
        for (int i = 0; i < rewards.length; i++) {
            AssembledTrajectory t = trajectory(prefix + i, prefix, rewards.length, rewards[i], 3 + i);
            members.add(new AssembledTrajectory(t.trajectoryId(), t.agentId(), t.taskId(), t.groupId(), t.groupSize(),
                    t.steps(), t.outcome(), t.verdicts(), List.of(new OffsetRange("agent.steps", 0, 10L + i, 10L + i))));
        }
        return new TrajectoryGroup(members, baseline);
    }

    private void assertNothingLeft() {
        assertEquals(0, harness.numKeyedStateEntries(), "keyed state left behind");
        assertEquals(0, harness.numEventTimeTimers(), "event-time timers left behind");
        assertEquals(0, harness.numProcessingTimeTimers(), "processing-time timers left behind");
    }

    /**
     * The batch names the job's settings that changed its numbers, here the baseline's decay (the grouping stage
     * subtracted a baseline made with it): a trainer computes the same fingerprint from the same settings.
     */
    @Test
    void aBatchCarriesTheFingerprintOfTheJobsSettingsThatChangedItsNumbers() throws Exception {
        Configuration conf = new Configuration();
        conf.set(JobOptions.BASELINE_DECAY, 0.5);
        start(conf);
        harness.processElement(new StreamRecord<>(group("a", 0.5, 1.0, 0.0)));
        harness.processElement(new StreamRecord<>(group("b", 0.25, 1.0, 1.0)));

        String fingerprint = harness.extractOutputValues().get(0).getConfigFingerprint();
        assertEquals(CreditConfig.from(conf).fingerprint(), fingerprint);
        assertNotEquals(CreditConfig.from(new Configuration()).fingerprint(), fingerprint);
    }

    @Test
    void closesBySizeWithoutSplittingAGroupAndScoresWithTheBaseline() throws Exception {
        start(new Configuration());
        harness.processElement(new StreamRecord<>(group("a", 0.5, 1.0, 0.0)));
        assertTrue(harness.extractOutputValues().isEmpty());
        harness.processElement(new StreamRecord<>(group("b", 0.25, 1.0, 1.0)));

        List<TrainingBatch> out = harness.extractOutputValues();
        assertEquals(1, out.size());
        TrainingBatch batch = out.get(0);
        assertEquals(4, batch.getTrajectories().size(), "the second group is kept whole");
        assertEquals("outcome", batch.getEstimator());
        assertTrue(batch.getConfigFingerprint().startsWith("outcome-"), batch.getConfigFingerprint());
        assertEquals("java", batch.getBackend());
        assertEquals(3, batch.getMinPolicyVersion());
        assertEquals(4, batch.getMaxPolicyVersion());
        OffsetRange lineage = batch.getLineage().get(0);
        assertEquals(10, lineage.getFirstOffset());
        assertEquals(11, lineage.getLastOffset());

        ScoredTrajectory b1 = batch.getTrajectories().get(3);
        assertEquals(0.25, b1.getBaseline());
        List<ScoredStep> steps = b1.getSteps();
        assertEquals(1.0 - 0.25, steps.get(0).getAdvantage(), 1e-12);
        assertEquals(0.0, steps.get(1).getAdvantage(), "tool output gets no credit");
        assertNothingLeft();
    }

    @Test
    void groupRelativeEstimatorScoresTheGroupTogether() throws Exception {
        Configuration conf = new Configuration();
        conf.set(CreditOptions.ESTIMATOR, Estimator.GRPO);
        start(conf);
        harness.processElement(new StreamRecord<>(group("g", 0.0, 1.0, 0.0, 1.0)));

        List<ScoredTrajectory> scored = harness.extractOutputValues().get(0).getTrajectories();
        double sum = scored.stream().mapToDouble(t -> t.getSteps().get(0).getAdvantage()).sum();
        assertEquals(0.0, sum, 1e-6, "group-normalised advantages sum to zero");
        assertTrue(scored.get(0).getSteps().get(0).getAdvantage() > 0);
        assertTrue(scored.get(1).getSteps().get(0).getAdvantage() < 0);
    }

    /**
     * Under the process estimator each step carries the process reward its recurrence took, computed here by hand from
     * the verdicts: the mean of its verifier scores weighted by credit.verifier-weights, less the mean and over the
     * standard deviation of its unit's judged steps (group-norm, ddof 1, epsilon 1e-6 added), times
     * credit.process-coef; not times credit.reward-scale, and not whitened with the advantages (credit.normalize=batch).
     * A tool step and a step no verifier judged carry none.
     */
    @Test
    void underTheProcessEstimatorEachJudgedStepCarriesTheProcessRewardThatWentIntoItsCredit() throws Exception {
        Configuration conf = new Configuration();
        conf.set(CreditOptions.ESTIMATOR, Estimator.PROCESS);
        conf.set(CreditOptions.VERIFIER_WEIGHTS, Map.of("prm", "3", "rater", "1"));
        conf.set(CreditOptions.PROCESS_COEF, 0.5);
        conf.set(CreditOptions.REWARD_SCALE, 2.0);
        conf.set(CreditOptions.NORMALIZE, CreditOptions.Normalize.BATCH);
        start(conf);
        harness.processElement(new StreamRecord<>(judgedGroup()));
        harness.setProcessingTime(1_000);

        List<ScoredTrajectory> scored = harness.extractOutputValues().get(0).getTrajectories();
        // Weighted means of the judged trainable steps: g0 step 0 (3 * 0.9 + 0.5) / 4 = 0.8; g1 step 0 0.2; g1 step 2
        // (3 * 0.4 + 0.8) / 4 = 0.5. Their mean is 0.5 and their standard deviation sqrt((0.09 + 0.09 + 0) / 2) = 0.3.
        double divisor = 0.3 + 1e-6;
        List<Double> g0 = processRewards(scored.get(0));
        List<Double> g1 = processRewards(scored.get(1));
        assertProcessReward(0.5 * (0.8 - 0.5) / divisor, g0.get(0), "g0 " + g0);
        assertEquals(null, g0.get(1), "a tool step has none, though a verifier scored it");
        assertEquals(null, g0.get(2), "no verdict judged it");
        assertProcessReward(0.5 * (0.2 - 0.5) / divisor, g1.get(0), "g1 " + g1);
        assertEquals(null, g1.get(1));
        assertProcessReward(0.0, g1.get(2), "g1, judged, and at its unit's mean: " + g1);
        assertEquals(0.0, scored.get(0).getSteps().get(0).getReward(), "reward stays the agent's own");
    }

    @Test
    void anEstimatorThatUsesNoVerifierSignalsCarriesNoProcessReward() throws Exception {
        Configuration conf = new Configuration();
        conf.set(CreditOptions.ESTIMATOR, Estimator.GRPO);
        start(conf);
        harness.processElement(new StreamRecord<>(judgedGroup()));
        harness.setProcessingTime(1_000);

        for (ScoredTrajectory t : harness.extractOutputValues().get(0).getTrajectories()) {
            assertEquals(Arrays.asList(null, null, null), processRewards(t), t.getTrajectoryId());
        }
    }

    /** Group g of two (outcomes 1 and 0), whose steps prm and rater judged; the middle step of each is tool output. */
    private static TrajectoryGroup judgedGroup() {
        TrajectoryGroup group = group("g", 0.0, 1.0, 0.0);
        AssembledTrajectory g0 = withVerdicts(group.members().get(0), Events.verdict("g0", 0, "prm", 0.9, 100),
                Events.verdict("g0", 0, "rater", 0.5, 100), Events.verdict("g0", 1, "prm", 0.7, 100));
        AssembledTrajectory g1 = withVerdicts(group.members().get(1), Events.verdict("g1", 0, "prm", 0.2, 100),
                Events.verdict("g1", 2, "prm", 0.4, 100), Events.verdict("g1", 2, "rater", 0.8, 100));
        return new TrajectoryGroup(List.of(g0, g1), group.baseline());
    }

    private static AssembledTrajectory withVerdicts(AssembledTrajectory t, VerifierSignal... verdicts) {
        return new AssembledTrajectory(t.trajectoryId(), t.agentId(), t.taskId(), t.groupId(), t.groupSize(), t.steps(),
                t.outcome(), List.of(verdicts), t.lineage());
    }

    /** {@code actual} is there, and {@code expected} to rounding. */
    private static void assertProcessReward(double expected, Double actual, String what) {
        assertNotNull(actual, what + ": no process reward");
        assertEquals(expected, actual, 1e-12, what);
    }

    private static List<Double> processRewards(ScoredTrajectory t) {
        return t.getSteps().stream().map(ScoredStep::getProcessReward).toList();
    }

    /**
     * Two units with one group_id (a group closed by size and a straggling member closed at its timeout, or two
     * tasks numbering their groups alike) meet in one batch: each is normalised over its own members only.
     */
    @Test
    void unitsThatShareAGroupIdAreScoredApart() throws Exception {
        Configuration conf = new Configuration();
        conf.set(CreditOptions.ESTIMATOR, Estimator.GRPO);
        conf.set(JobOptions.BATCH_MAX_TRAJECTORIES, 10);
        conf.set(JobOptions.BATCH_MAX_LATENCY, Duration.ofMillis(500));
        conf.set(CreditOptions.BACKEND, CreditOptions.Backend.JAVA);
        harness = ProcessFunctionTestHarnesses.forKeyedProcessFunction(new ScoreAndBatch(conf), g -> 0, Types.INT);
        harness.setProcessingTime(0);
        TrajectoryGroup closedBySize = group("g", 0.0, 1.0, 0.0);
        AssembledTrajectory straggler = group("x", 0.0, 1.0).members().get(0);
        TrajectoryGroup closedAtTimeout = new TrajectoryGroup(List.of(new AssembledTrajectory(straggler.trajectoryId(),
                straggler.agentId(), straggler.taskId(), "g", 2, straggler.steps(), straggler.outcome(),
                straggler.verdicts(), straggler.lineage())), 0.0);
        harness.processElement(new StreamRecord<>(closedBySize));
        harness.processElement(new StreamRecord<>(closedAtTimeout));
        harness.setProcessingTime(500);

        List<ScoredTrajectory> scored = harness.extractOutputValues().get(0).getTrajectories();
        assertEquals(List.of("g0", "g1", "x0"), scored.stream().map(ScoredTrajectory::getTrajectoryId).toList());
        assertEquals(List.of("g", "g", "g"), scored.stream().map(ScoredTrajectory::getGroupId).toList(),
                "the batch still names the group_id the agent gave");
        // ... and tells the trainer which were normalised together, and over how many.
        assertEquals(scored.get(0).getScoringUnit(), scored.get(1).getScoringUnit());
        assertTrue(scored.get(0).getScoringUnit() != null
                && !scored.get(0).getScoringUnit().equals(scored.get(2).getScoringUnit()), scored::toString);
        assertEquals(Arrays.asList(2, 2, 1), scored.stream().map(ScoredTrajectory::getUnitSize).toList());
        assertEquals(List.of(TerminalKind.TERMINATED, TerminalKind.TERMINATED, TerminalKind.TERMINATED),
                scored.stream().map(ScoredTrajectory::getTerminal).toList());
        // Over its own two members, g0 (1) and g1 (0) are +/- the same; pooled with x0 (1) they would not be.
        double g0 = scored.get(0).getSteps().get(0).getAdvantage();
        double g1 = scored.get(1).getSteps().get(0).getAdvantage();
        assertTrue(g0 > 0, "g0 " + g0);
        assertEquals(-g0, g1, 1e-9);
        // x0 alone: a singleton group (credit.singleton-group decides), not a member above the mean of three.
        harness.close();
        harness = ProcessFunctionTestHarnesses.forKeyedProcessFunction(new ScoreAndBatch(conf), g -> 0, Types.INT);
        harness.setProcessingTime(0);
        harness.processElement(new StreamRecord<>(closedAtTimeout));
        harness.setProcessingTime(500);
        assertEquals(harness.extractOutputValues().get(0).getTrajectories().get(0).getSteps().get(0).getAdvantage(),
                scored.get(2).getSteps().get(0).getAdvantage(), 1e-9);
    }

    @Test
    void aBatchTooSmallForItsStatisticsGoesToUnscored() throws Exception {
        Configuration conf = new Configuration();
        conf.set(CreditOptions.ESTIMATOR, Estimator.RLOO);
        conf.set(CreditOptions.NORMALIZE, CreditOptions.Normalize.BATCH); // whitens over the batch's trajectories
        RecordedMetrics metrics = startOperator(conf, g -> 0, false);
        harness.processElement(new StreamRecord<>(group("u", 0.0, 1.0)));
        harness.setProcessingTime(500);

        assertTrue(harness.extractOutputValues().isEmpty(), "no batch of one whitened to 0");
        UnscoredTrajectory unscored = harness.getSideOutput(ScoreAndBatch.UNSCORABLE).peek().getValue();
        assertEquals(UnscoredReason.UNSCORABLE, unscored.getReason());
        assertTrue(unscored.getDetail().contains("this batch has one"), unscored.getDetail());
        assertEquals(1, metrics.count("credit.unscored.UNSCORABLE"));
        assertNothingLeft();
    }

    @Test
    void aGroupTheEstimatorCannotScoreGoesToUnscoredWhole() throws Exception {
        Configuration conf = new Configuration();
        conf.set(CreditOptions.ESTIMATOR, Estimator.GAE); // needs per-step values, which these steps lack
        RecordedMetrics metrics = startOperator(conf, g -> 0, false);
        harness.processElement(new StreamRecord<>(group("g", 0.0, 1.0, 0.0)));
        harness.setProcessingTime(500);

        assertTrue(harness.extractOutputValues().isEmpty());
        var unscored = harness.getSideOutput(ScoreAndBatch.UNSCORABLE);
        assertEquals(2, unscored.size());
        assertEquals(UnscoredReason.UNSCORABLE, unscored.peek().getValue().getReason());
        assertEquals(2, metrics.count("credit.unscored.UNSCORABLE"));
        assertNothingLeft();
    }

    @Test
    void aBaselineIsReportedOnlyWhereTheEstimatorSubtractedOne() throws Exception {
        Configuration conf = new Configuration();
        conf.set(CreditOptions.ESTIMATOR, Estimator.GRPO); // the group's mean, not the task's streaming baseline
        start(conf);
        harness.processElement(new StreamRecord<>(group("g", 0.6, 1.0, 0.0)));
        harness.setProcessingTime(500);

        assertTrue(harness.extractOutputValues().get(0).getTrajectories().stream().allMatch(t -> t.getBaseline() == null));
    }

    @Test
    void aTrajectoryAloneIsScoredAgainstItsTasksBaselineAndSaysSo() throws Exception {
        Configuration conf = new Configuration();
        conf.set(CreditOptions.ESTIMATOR, Estimator.GRPO); // credit.singleton-group=task-baseline by default
        start(conf);
        harness.processElement(new StreamRecord<>(group("g", 0.6, 1.0, 0.0)));
        harness.processElement(new StreamRecord<>(group("u", 0.25, 1.0)));
        harness.setProcessingTime(500);

        List<ScoredTrajectory> scored = harness.extractOutputValues().get(0).getTrajectories();
        assertEquals(Arrays.asList(null, null, 0.25), scored.stream().map(ScoredTrajectory::getBaseline).toList(),
                "only the trajectory alone was scored against its task's baseline");
        assertEquals(0.75, scored.get(2).getSteps().get(0).getAdvantage(), 1e-9, "its outcome 1 minus 0.25");
    }

    @Test
    void aGroupWhoseCreditOverflowsGoesToUnscoredAndTheRestOfTheBatchOut() throws Exception {
        Configuration conf = new Configuration();
        conf.set(CreditOptions.ESTIMATOR, Estimator.GRPO);
        start(conf);
        // Finite outcomes whose difference is not: the group's moments overflow and every credit of it is NaN.
        harness.processElement(new StreamRecord<>(group("g", 0.0, Double.MAX_VALUE, -Double.MAX_VALUE)));
        harness.processElement(new StreamRecord<>(group("h", 0.0, 1.0, 0.0)));
        // A mean that does not overflow and a sum of squares that does: divided by it, each credit would be 0.
        harness.processElement(new StreamRecord<>(group("k", 0.0, 1e155, -1e155)));
        harness.setProcessingTime(500);

        assertEquals(List.of("h0", "h1"), idsInTheOnlyBatch());
        assertEquals(List.of("g0", "g1", "k0", "k1"), unscoredIds());
        assertTrue(harness.getSideOutput(ScoreAndBatch.UNSCORABLE).stream().allMatch(r -> r.getValue().getReason()
                == UnscoredReason.UNSCORABLE && r.getValue().getDetail().contains("not a finite number")));
        assertNothingLeft();
    }

    /**
     * Under statistics over the whole batch, one group whose numbers overflow made every credit of its batch
     * non-finite, and sent trajectories of other agents and tasks to unscored with it: now it goes alone.
     */
    @Test
    void aGroupThatOverflowsTheBatchsStatisticsGoesToUnscoredAloneAndTheRestIsScoredWithoutIt() throws Exception {
        startWhitenedOverTheBatch(Estimator.GRPO);
        harness.processElement(new StreamRecord<>(group("g", 0.0, 1e160, -1e160)));
        harness.processElement(new StreamRecord<>(group("h", 0.0, 1.0, 0.0))); // the batch holds both (3 or more)

        assertEquals(List.of("h0", "h1"), idsInTheOnlyBatch());
        assertTrue(harness.extractOutputValues().get(0).getTrajectories().stream()
                .allMatch(t -> t.getSteps().stream().allMatch(step -> Double.isFinite(step.getAdvantage()))));
        assertEquals(List.of("g1", "g0"), unscoredIds());
        assertTrue(harness.getSideOutput(ScoreAndBatch.UNSCORABLE).stream().allMatch(r -> r.getValue().getDetail()
                .contains("the rest of its batch was scored without it")));
        assertNothingLeft();
    }

    /** The same for a unit of one trajectory, which cannot be scored alone under the batch's statistics. */
    @Test
    void aSingleTrajectoryThatOverflowsTheBatchsStatisticsGoesToUnscoredAlone() throws Exception {
        startWhitenedOverTheBatch(Estimator.OUTCOME);
        harness.processElement(new StreamRecord<>(group("g", 0.0, 1e200)));
        harness.processElement(new StreamRecord<>(group("h", 0.0, 1.0)));
        harness.processElement(new StreamRecord<>(group("k", 0.0, 0.0))); // the third: the batch is full

        assertEquals(List.of("h0", "k0"), idsInTheOnlyBatch());
        assertEquals(List.of("g0"), unscoredIds());
        assertNothingLeft();
    }

    /** Starts the operator with {@code estimator} and credit.normalize=batch: statistics pooled over each batch. */
    private void startWhitenedOverTheBatch(Estimator estimator) throws Exception {
        Configuration conf = new Configuration();
        conf.set(CreditOptions.ESTIMATOR, estimator);
        conf.set(CreditOptions.NORMALIZE, CreditOptions.Normalize.BATCH);
        start(conf);
    }

    /** The trajectories of the one batch the harness has emitted, in batch order. */
    private List<String> idsInTheOnlyBatch() {
        List<TrainingBatch> batches = harness.extractOutputValues();
        assertEquals(1, batches.size());
        return batches.get(0).getTrajectories().stream().map(ScoredTrajectory::getTrajectoryId).toList();
    }

    private List<String> unscoredIds() {
        return harness.getSideOutput(ScoreAndBatch.UNSCORABLE).stream().map(r -> r.getValue().getTrajectoryId())
                .toList();
    }

    /** A trajectory whose steps carry {@code tokensPerStep} token ids each, as the job hands it on: encoded. */
    private static AssembledTrajectory heavy(String id, String group, int groupSize, int tokensPerStep) throws Exception {
        AssembledTrajectory t = trajectory(id, group, groupSize, 1.0, 3);
        java.util.Random random = new java.util.Random(id.hashCode());
        StepEventCodec codec = new StepEventCodec();
        List<byte[]> encoded = new ArrayList<>();
        for (StepEvent step : t.steps()) {
            List<Integer> tokens = new ArrayList<>();
            for (int k = 0; k < tokensPerStep; k++) {
                tokens.add(random.nextInt(150_000));
            }
            encoded.add(codec.encode(StepEvent.newBuilder(step).setTokenIds(tokens).build()));
        }
        return new AssembledTrajectory(t.trajectoryId(), t.agentId(), t.taskId(), t.groupId(), t.groupSize(),
                new EncodedSteps(encoded), t.outcome(), t.verdicts(),
                List.of(new OffsetRange("agent.steps", 0, 10L, 12L), new OffsetRange("agent.outcomes", 1, 7L, 7L)));
    }

    /** The record the batch sink writes: key and value. */
    private static int recordBytes(TrainingBatch batch) {
        return batch.getBatchId().length() + new TrainingBatchSerializer().serialize(batch).length;
    }

    @Test
    void closesBeforeAGroupWouldTakeTheBatchPastTheRecordLimitAndRoutesAGroupNoBatchHoldsToUnscored() throws Exception {
        Configuration conf = new Configuration();
        conf.set(KafkaOptions.MAX_RECORD_BYTES, 262_144);
        conf.set(CreditOptions.ESTIMATOR, Estimator.GRPO);
        start(conf);
        // About 180 KB a trajectory: two never share a 256 KiB batch.
        harness.processElement(new StreamRecord<>(new TrajectoryGroup(List.of(heavy("a0", "a", 1, 20_000)), 0.0)));
        assertTrue(harness.extractOutputValues().isEmpty(), "below the limit, the batch waits");
        harness.processElement(new StreamRecord<>(new TrajectoryGroup(List.of(heavy("b0", "b", 1, 20_000)), 0.0)));
        List<TrainingBatch> out = harness.extractOutputValues();
        assertEquals(1, out.size(), "a's batch closed before b would take it past the limit");
        assertEquals(List.of("a0"), out.get(0).getTrajectories().stream().map(ScoredTrajectory::getTrajectoryId).toList());

        // A group of two such trajectories fits no batch: both to unscored, with what to do about it.
        harness.processElement(new StreamRecord<>(new TrajectoryGroup(
                List.of(heavy("c0", "c", 2, 20_000), heavy("c1", "c", 2, 20_000)), 0.0)));
        var unscored = new ArrayList<>(harness.getSideOutput(ScoreAndBatch.UNSCORABLE));
        assertEquals(List.of("c0", "c1"), unscored.stream().map(r -> r.getValue().getTrajectoryId()).toList());
        assertEquals(UnscoredReason.OVERSIZED, unscored.get(0).getValue().getReason());
        String detail = unscored.get(0).getValue().getDetail();
        assertTrue(detail.contains("group of 2 trajectories") && detail.contains("kafka.max-record-bytes=262144")
                && detail.contains("payload_ref"), detail);

        harness.setProcessingTime(500);
        out = harness.extractOutputValues();
        assertEquals(2, out.size());
        assertEquals(List.of("b0"), out.get(1).getTrajectories().stream().map(ScoredTrajectory::getTrajectoryId).toList());
        for (TrainingBatch batch : out) {
            int bytes = recordBytes(batch);
            assertTrue(bytes > 150_000 && bytes <= 262_144, bytes + " bytes");
        }
        assertNothingLeft();
    }

    /**
     * A savepoint of an earlier release's scoring stage with {@code groups} pending in one batch, which that release
     * counted as {@code countedBytes}.
     */
    private static OperatorSubtaskState pendingBatchOfAnEarlierRelease(long countedBytes, List<TrajectoryGroup> groups)
            throws Exception {
        var earlierRelease = new KeyedProcessFunction<Integer, TrajectoryGroup, TrainingBatch>() {
            @Override
            public void processElement(TrajectoryGroup group, Context ctx, Collector<TrainingBatch> out) throws Exception {
                getRuntimeContext().getListState(
                        new ListStateDescriptor<>("pending", new GroupStateSerializers.OfTrajectoryGroup())).add(group);
                var batch = getRuntimeContext().getState(new ValueStateDescriptor<>("pending-batch", PendingBatch.class));
                int trajectories = batch.value() == null ? 0 : batch.value().trajectories();
                batch.update(new PendingBatch(trajectories + group.trajectoryCount(), 500, countedBytes));
                ctx.timerService().registerProcessingTimeTimer(500);
            }
        };
        try (var h = ProcessFunctionTestHarnesses.forKeyedProcessFunction(earlierRelease, g -> 0, Types.INT)) {
            h.setProcessingTime(0);
            for (TrajectoryGroup group : groups) {
                h.processElement(new StreamRecord<>(group));
            }
            return h.snapshot(1, 1);
        }
    }

    /** The scoring stage restored from {@code snapshot}, with {@code kafka.max-record-bytes} at 256 KiB. */
    private void restoreWithA256KibRecordLimit(OperatorSubtaskState snapshot) throws Exception {
        Configuration conf = new Configuration();
        conf.set(KafkaOptions.MAX_RECORD_BYTES, 262_144);
        conf.set(JobOptions.BATCH_MAX_TRAJECTORIES, 100);
        conf.set(JobOptions.BATCH_MAX_LATENCY, Duration.ofMillis(500));
        conf.set(CreditOptions.BACKEND, CreditOptions.Backend.JAVA);
        harness = new KeyedOneInputStreamOperatorTestHarness<>(
                new KeyedProcessOperator<>(new ScoreAndBatch(conf)), g -> 0, Types.INT);
        harness.initializeState(snapshot);
        harness.open();
        harness.setProcessingTime(0);
    }

    /** Each batch's trajectories, by id, after asserting that every batch's record is within 256 KiB. */
    private List<List<String>> batchesWithinA256KibRecordLimit() {
        List<TrainingBatch> out = harness.extractOutputValues();
        for (TrainingBatch batch : out) {
            assertTrue(recordBytes(batch) <= 262_144, "a batch of " + recordBytes(batch) + " bytes");
        }
        return out.stream().map(b -> b.getTrajectories().stream().map(ScoredTrajectory::getTrajectoryId).toList())
                .toList();
    }

    /** Three groups of one trajectory of about 180 KB each: no two fit one 256 KiB record. */
    private static List<TrajectoryGroup> threeHeavyGroups() throws Exception {
        List<TrajectoryGroup> groups = new ArrayList<>();
        for (String id : List.of("a", "b", "c")) {
            groups.add(new TrajectoryGroup(List.of(heavy(id + "0", id, 1, 20_000)), 0.0));
        }
        return groups;
    }

    /**
     * A batch restored from a release that did not bound its bytes (its pending-batch state says 0) may be more than
     * one record takes, the very batch that failed that release's sink on every restore: it goes out as several
     * batches within the limit, and the group no batch holds to unscored.
     */
    @Test
    void aPendingBatchRestoredWithoutItsBytesGoesOutWithinTheLimit() throws Exception {
        List<TrajectoryGroup> groups = new ArrayList<>(threeHeavyGroups());
        groups.add(new TrajectoryGroup(
                List.of(heavy("d0", "d", 2, 20_000), heavy("d1", "d", 2, 20_000)), 0.0)); // fits no batch
        restoreWithA256KibRecordLimit(pendingBatchOfAnEarlierRelease(0, groups));

        harness.setProcessingTime(500);

        assertEquals(List.of(List.of("a0"), List.of("b0"), List.of("c0")), batchesWithinA256KibRecordLimit());
        assertEquals(List.of("d0", "d1"), harness.getSideOutput(ScoreAndBatch.UNSCORABLE).stream()
                .map(r -> r.getValue().getTrajectoryId()).toList());
        assertEquals(UnscoredReason.OVERSIZED, harness.getSideOutput(ScoreAndBatch.UNSCORABLE).peek().getValue().getReason());
        assertNothingLeft();
    }

    /**
     * A batch an earlier release counted short of today's bound (TrainingBatch v4 and v5 added bytes to every
     * trajectory and step), near the limit, is counted again when it is restored: trusted, it took one more group,
     * and went out as one record past the limit, which the broker refuses on every restore. Counted here far shorter
     * than those versions' few bytes a step, so that the record itself, not only its bound, passes the limit: the
     * bound keeps room for 63 verifiers' reliabilities that this batch does not use.
     */
    @Test
    void aPendingBatchCountedShortByAnEarlierReleaseIsCountedAgainAndGoesOutWithinTheLimit() throws Exception {
        restoreWithA256KibRecordLimit(pendingBatchOfAnEarlierRelease(200_000, threeHeavyGroups()));

        harness.processElement(new StreamRecord<>(new TrajectoryGroup(List.of(heavy("e0", "e", 1, 10)), 0.0)));
        harness.setProcessingTime(500);

        assertEquals(List.of(List.of("a0"), List.of("b0"), List.of("c0"), List.of("e0")),
                batchesWithinA256KibRecordLimit());
        assertNothingLeft();
    }

    /** A batch counted against a larger kafka.max-record-bytes than the restored job's goes out within the new one. */
    @Test
    void aPendingBatchCountedAgainstALargerRecordLimitGoesOutWithinTheRestoredLimit() throws Exception {
        Configuration conf = new Configuration();
        conf.set(KafkaOptions.MAX_RECORD_BYTES, 1_048_576);
        conf.set(JobOptions.BATCH_MAX_TRAJECTORIES, 100);
        conf.set(JobOptions.BATCH_MAX_LATENCY, Duration.ofMillis(500));
        conf.set(CreditOptions.BACKEND, CreditOptions.Backend.JAVA);
        OperatorSubtaskState snapshot;
        try (var h = ProcessFunctionTestHarnesses.forKeyedProcessFunction(new ScoreAndBatch(conf), g -> 0, Types.INT)) {
            h.setProcessingTime(0);
            for (TrajectoryGroup group : threeHeavyGroups()) {
                h.processElement(new StreamRecord<>(group));
            }
            assertTrue(h.extractOutputValues().isEmpty(), "within 1 MiB, the three wait in one batch");
            snapshot = h.snapshot(1, 1);
        }
        restoreWithA256KibRecordLimit(snapshot);

        harness.setProcessingTime(500);

        assertEquals(List.of(List.of("a0"), List.of("b0"), List.of("c0")), batchesWithinA256KibRecordLimit());
        assertNothingLeft();
    }

    /** Many small groups fill a batch up to the limit, never past it, across estimators with long fingerprints. */
    @Test
    void batchesFilledByBytesStayWithinTheLimit() throws Exception {
        Configuration conf = new Configuration();
        conf.set(KafkaOptions.MAX_RECORD_BYTES, 262_144);
        conf.set(CreditOptions.ESTIMATOR, Estimator.GRPO);
        conf.set(JobOptions.BATCH_MAX_TRAJECTORIES, 10_000);
        conf.set(JobOptions.BATCH_MAX_LATENCY, Duration.ofMillis(500));
        conf.set(CreditOptions.BACKEND, CreditOptions.Backend.JAVA);
        harness = ProcessFunctionTestHarnesses.forKeyedProcessFunction(new ScoreAndBatch(conf), g -> 0, Types.INT);
        harness.setProcessingTime(0);
        for (int g = 0; g < 60; g++) {
            harness.processElement(new StreamRecord<>(new TrajectoryGroup(
                    List.of(heavy("g" + g + "-0", "g" + g, 2, 1_000 + 37 * g), heavy("g" + g + "-1", "g" + g, 2, 500)), 0.0)));
        }
        harness.setProcessingTime(500);

        List<TrainingBatch> out = harness.extractOutputValues();
        assertEquals(120, out.stream().mapToInt(b -> b.getTrajectories().size()).sum());
        assertTrue(out.size() >= 3, out.size() + " batches");
        for (TrainingBatch batch : out.subList(0, out.size() - 1)) {
            int bytes = recordBytes(batch);
            // Closed by bytes: full to within a group (at most about 25 KB here) and the bound's slack.
            assertTrue(bytes <= 262_144 && bytes > 262_144 - 49_400 - 30_000, bytes + " bytes");
        }
        assertNothingLeft();
    }

    /** Without batch.close-at-checkpoint a batch closes by latency alone, not at a barrier. */
    @Test
    void closesByLatency() throws Exception {
        Configuration conf = new Configuration();
        conf.set(JobOptions.BATCH_CLOSE_AT_CHECKPOINT, false);
        startOperator(conf, g -> 0, false);
        harness.processElement(new StreamRecord<>(group("a", 0.0, 1.0)));
        harness.setProcessingTime(499);
        harness.prepareSnapshotPreBarrier(1);
        assertTrue(harness.extractOutputValues().isEmpty());

        harness.setProcessingTime(500);

        assertEquals(1, harness.extractOutputValues().size());
        assertNothingLeft();
    }

    /**
     * A batch still pending at a checkpoint barrier would become visible only at the checkpoint after: every bucket
     * closes its batch before the barrier, and the checkpoint holds none.
     */
    @ParameterizedTest(name = "rocksdb={0}")
    @ValueSource(booleans = {false, true})
    void everyBucketClosesItsBatchAtACheckpoint(boolean rocksdb) throws Exception {
        startOperator(new Configuration(), g -> g.members().get(0).groupId().equals("a") ? 7 : 8, rocksdb);
        harness.prepareSnapshotPreBarrier(1); // nothing pending: nothing to close
        assertTrue(harness.extractOutputValues().isEmpty());

        harness.processElement(new StreamRecord<>(group("a", 0.0, 1.0)));
        harness.processElement(new StreamRecord<>(group("b", 0.0, 1.0)));
        harness.setProcessingTime(100);
        harness.prepareSnapshotPreBarrier(2);

        assertEquals(Set.of(List.of("a0"), List.of("b0")), harness.extractOutputValues().stream()
                .map(b -> b.getTrajectories().stream().map(ScoredTrajectory::getTrajectoryId).toList())
                .collect(Collectors.toSet()));
        assertNoBucketPending();

        // The next batch closes by its own latency, from when it opened.
        harness.processElement(new StreamRecord<>(group("a", 0.0, 1.0)));
        harness.setProcessingTime(599);
        assertEquals(2, harness.extractOutputValues().size());
        harness.setProcessingTime(600);
        assertEquals(3, harness.extractOutputValues().size());
        assertNoBucketPending();
    }

    /** What a batch closed at a barrier cannot score goes to the unscored output then, not into the checkpoint. */
    @Test
    void aBatchClosedAtACheckpointRoutesWhatItCannotScore() throws Exception {
        Configuration conf = new Configuration();
        conf.set(CreditOptions.ESTIMATOR, Estimator.GAE); // needs per-step values, which these steps lack
        startOperator(conf, g -> 0, false);
        harness.processElement(new StreamRecord<>(group("g", 0.0, 1.0, 0.0)));

        harness.prepareSnapshotPreBarrier(1);

        assertTrue(harness.extractOutputValues().isEmpty());
        assertEquals(2, harness.getSideOutput(ScoreAndBatch.UNSCORABLE).size());
        assertNothingLeft();
    }

    /** {@link #assertNothingLeft} for either backend: RocksDB does not count its entries. */
    private void assertNoBucketPending() throws Exception {
        KeyedStateBackend<Integer> state = ((AbstractStreamOperator<?>) harness.getOperator()).getKeyedStateBackend();
        for (String name : List.of("pending", ScoreAndBatch.PENDING_BATCH)) {
            try (Stream<Integer> keys = state.getKeys(name, VoidNamespace.INSTANCE)) {
                assertEquals(0, keys.count(), "buckets with " + name + " state");
            }
        }
        assertEquals(0, harness.numEventTimeTimers(), "event-time timers left behind");
        assertEquals(0, harness.numProcessingTimeTimers(), "processing-time timers left behind");
    }

    @Test
    void drainFlushesWhatIsPending() throws Exception {
        start(new Configuration());
        harness.processElement(new StreamRecord<>(group("a", 0.0, 1.0)));

        harness.processWatermark(Long.MAX_VALUE);

        assertEquals(1, harness.extractOutputValues().size());
        assertNothingLeft();
    }

    @Test
    void batchIdDependsOnContentNotOnTime() throws Exception {
        start(new Configuration());
        harness.processElement(new StreamRecord<>(group("a", 0.0, 1.0, 1.0, 1.0)));
        harness.setProcessingTime(10_000);
        harness.processElement(new StreamRecord<>(group("a", 0.0, 1.0, 1.0, 1.0)));

        List<TrainingBatch> out = harness.extractOutputValues();
        assertEquals(out.get(0).getBatchId(), out.get(1).getBatchId());
    }

    @Test
    void aTrajectorySentAgainFromOtherOffsetsGetsAnotherBatchId() throws Exception {
        start(new Configuration());
        AssembledTrajectory first = trajectory("t", null, 0, 1.0, 1);
        for (long offset : new long[] {10, 500}) {
            harness.processElement(new StreamRecord<>(new TrajectoryGroup(List.of(new AssembledTrajectory(
                    first.trajectoryId(), first.agentId(), first.taskId(), null, 0, first.steps(), first.outcome(),
                    first.verdicts(), List.of(new OffsetRange("agent.steps", 0, offset, offset + 2)))), 0.0)));
            harness.setProcessingTime(harness.getProcessingTime() + 10_000);
        }

        List<TrainingBatch> out = harness.extractOutputValues();
        assertEquals(2, out.size());
        assertFalse(out.get(0).getBatchId().equals(out.get(1).getBatchId()), "new content, new id");
    }
    /**
     * job.outcome-timeout-policy=PROCESS_ONLY: a trajectory without outcome is scored on its verdicts alone, as a
     * unit of its own, and marked; its placeholder outcome is neither an outcome in the books nor a suspect.
     */
    @Test
    void aTrajectoryWhoseOutcomeTimedOutIsScoredOnItsVerdictsAndMarked() throws Exception {
        Configuration conf = new Configuration();
        conf.set(CreditOptions.ESTIMATOR, Estimator.PROCESS);
        start(conf);
        AssembledTrajectory t = trajectory("late", null, 0, 0.0, 1);
        List<VerifierSignal> verdicts = List.of(
                Events.verdict("late", 0, "prm", 0.9, 100), Events.verdict("late", 2, "prm", 0.1, 100));
        AssembledTrajectory timedOut = new AssembledTrajectory(t.trajectoryId(), t.agentId(), t.taskId(), t.groupId(),
                0, t.steps(), t.outcome(), verdicts, List.of(), true);
        harness.processElement(new StreamRecord<>(new TrajectoryGroup(List.of(timedOut), 0.0)));
        harness.setProcessingTime(1_000);

        ScoredTrajectory scored = harness.extractOutputValues().get(0).getTrajectories().get(0);
        assertTrue(scored.getOutcomeTimedOut());
        assertFalse(scored.getSuspect());
        assertEquals(1, scored.getUnitSize(), "scored alone");
        List<ScoredStep> steps = scored.getSteps();
        assertTrue(steps.get(0).getAdvantage() > steps.get(2).getAdvantage(),
                "the step judged good gets more credit than the one judged bad: " + steps);
        assertTrue(steps.stream().allMatch(step -> Double.isFinite(step.getAdvantage())));
        // Its process rewards, baselined over its own two judged steps (0.9 and 0.1: mean 0.5, std sqrt(0.32)).
        double divisor = Math.sqrt(0.32) + 1e-6;
        List<Double> processRewards = processRewards(scored);
        assertProcessReward(0.4 / divisor, processRewards.get(0), "step 0 of " + processRewards);
        assertEquals(null, processRewards.get(1), "tool output");
        assertProcessReward(-0.4 / divisor, processRewards.get(2), "step 2 of " + processRewards);
        assertNothingLeft();
    }

    /**
     * job.verifier-timeout-policy=SCORE: a trajectory whose required verifiers timed out is scored with its group, as
     * any other, and marked, so that a trainer can tell it missed the quorum.
     */
    @Test
    void aTrajectoryWhoseVerifiersTimedOutIsScoredWithItsGroupAndMarked() throws Exception {
        start(new Configuration());
        TrajectoryGroup group = group("g", 0.0, 1.0, 0.0);
        AssembledTrajectory t = group.members().get(1);
        AssembledTrajectory withoutItsQuorum = new AssembledTrajectory(t.trajectoryId(), t.agentId(), t.taskId(),
                t.groupId(), t.groupSize(), t.steps(), t.outcome(), t.verdicts(), t.lineage(), false, true);
        harness.processElement(new StreamRecord<>(new TrajectoryGroup(
                List.of(group.members().get(0), withoutItsQuorum), group.baseline())));
        harness.setProcessingTime(1_000);

        List<ScoredTrajectory> scored = harness.extractOutputValues().get(0).getTrajectories();
        assertEquals(List.of(false, true), scored.stream().map(ScoredTrajectory::getVerifiersTimedOut).toList());
        assertEquals(List.of(2, 2), scored.stream().map(ScoredTrajectory::getUnitSize).toList(), "one unit, as before");
        assertFalse(scored.get(1).getOutcomeTimedOut());
        assertNothingLeft();
    }
}
