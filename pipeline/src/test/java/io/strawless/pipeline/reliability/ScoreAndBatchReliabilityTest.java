package io.strawless.pipeline.reliability;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.strawless.pipeline.Events;
import io.strawless.pipeline.JobOptions;
import io.strawless.pipeline.assembly.AssembledTrajectory;
import io.strawless.pipeline.batching.ScoreAndBatch;
import io.strawless.pipeline.batching.ScoreAndBatchOperator;
import io.strawless.pipeline.credit.CreditOptions;
import io.strawless.pipeline.credit.Estimator;
import io.strawless.pipeline.grouping.TrajectoryGroup;
import io.strawless.pipeline.reliability.LabelledSteps.Judge;
import io.strawless.pipeline.reliability.ReliabilityOptions.SuspectPolicy;
import io.strawless.schemas.ScoredStep;
import io.strawless.schemas.ScoredTrajectory;
import io.strawless.schemas.StepEvent;
import io.strawless.schemas.TrainingBatch;
import io.strawless.schemas.UnscoredReason;
import io.strawless.schemas.UnscoredTrajectory;
import io.strawless.schemas.VerifierSignal;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.stream.Collectors;
import org.apache.flink.api.common.typeinfo.Types;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.runtime.checkpoint.OperatorSubtaskState;
import org.apache.flink.streaming.runtime.streamrecord.StreamRecord;
import org.apache.flink.streaming.util.KeyedOneInputStreamOperatorTestHarness;
import org.apache.flink.streaming.util.ProcessFunctionTestHarnesses;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/** The score-and-batch stage learns verifier reliability from its batches, weights verifiers and quarantines. */
class ScoreAndBatchReliabilityTest {

    private static final int GROUPS = 40;
    private static final int GROUP_SIZE = 4;
    private static final int STEPS = 8;
    /** Member 0 of every fourth group succeeds although all its steps are bad. */
    private static final int HACK_EVERY = 4;

    private KeyedOneInputStreamOperatorTestHarness<Integer, TrajectoryGroup, TrainingBatch> harness;
    /** The watermark before the fleet's groups come; none when null. */
    private Long harnessWatermark;

    @AfterEach
    void tearDown() throws Exception {
        harness.close();
    }

    /** Sends the fleet's groups as one batch and flushes it. */
    private void run(Configuration conf) throws Exception {
        run(conf, fleet());
    }

    private void run(Configuration conf, List<TrajectoryGroup> groups) throws Exception {
        conf.set(JobOptions.BATCH_MAX_TRAJECTORIES, 10_000);
        conf.set(JobOptions.BATCH_MAX_LATENCY, Duration.ofMillis(100));
        conf.set(CreditOptions.BACKEND, CreditOptions.Backend.JAVA);
        conf.set(ReliabilityOptions.MIN_LEARNT_STEPS, 100);
        harness = ProcessFunctionTestHarnesses.forKeyedProcessFunction(new ScoreAndBatch(conf), g -> 0, Types.INT);
        harness.setProcessingTime(0);
        if (harnessWatermark != null) {
            harness.processWatermark(harnessWatermark);
        }
        for (TrajectoryGroup group : groups) {
            harness.processElement(new StreamRecord<>(group));
        }
        harness.setProcessingTime(100);
    }

    /** Groups of trajectories whose steps the panel judged; the hacks are named hack-*. */
    private static List<TrajectoryGroup> fleet() {
        Random random = new Random(5);
        List<TrajectoryGroup> groups = new ArrayList<>();
        for (int g = 0; g < GROUPS; g++) {
            List<AssembledTrajectory> members = new ArrayList<>();
            for (int m = 0; m < GROUP_SIZE; m++) {
                boolean hack = m == 0 && g % HACK_EVERY == 0;
                double competence = hack ? 0 : 0.2 + 0.7 * random.nextDouble();
                List<Map<String, Boolean>> verdicts = new ArrayList<>();
                int good = 0;
                for (int s = 0; s < STEPS; s++) {
                    boolean isGood = random.nextDouble() < competence;
                    good += isGood ? 1 : 0;
                    Map<String, Boolean> step = new LinkedHashMap<>();
                    for (Judge judge : LabelledSteps.PANEL) {
                        if (random.nextDouble() < judge.coverage()) {
                            step.put(judge.id(), isGood ? random.nextDouble() < judge.sensitivity()
                                    : random.nextDouble() >= judge.specificity());
                        }
                    }
                    verdicts.add(step);
                }
                boolean success = hack || good >= STEPS * 3 / 4;
                AssembledTrajectory t = QuarantineTest.trajectory((hack ? "hack-" : "t-") + g + "-" + m, success, verdicts);
                members.add(new AssembledTrajectory(t.trajectoryId(), t.agentId(), "task-" + g, "group-" + g,
                        GROUP_SIZE, t.steps(), t.outcome(), t.verdicts(), t.lineage()));
            }
            groups.add(new TrajectoryGroup(members, 0.0));
        }
        return groups;
    }

    private TrainingBatch onlyBatch() {
        List<TrainingBatch> batches = harness.extractOutputValues();
        assertEquals(1, batches.size());
        return batches.get(0);
    }

    @Test
    void flaggedSuspectsStayInTheirBatchWithWeightZeroAndTheBatchRecordsTheReliabilities() throws Exception {
        run(new Configuration());
        TrainingBatch batch = onlyBatch();

        assertEquals(GROUPS * GROUP_SIZE, batch.getTrajectories().size());
        Set<String> suspects = batch.getTrajectories().stream().filter(ScoredTrajectory::getSuspect)
                .map(ScoredTrajectory::getTrajectoryId).collect(Collectors.toSet());
        Set<String> hacks = batch.getTrajectories().stream().map(ScoredTrajectory::getTrajectoryId)
                .filter(id -> id.startsWith("hack-")).collect(Collectors.toSet());
        assertEquals(hacks, suspects, "the quarantine finds the hacks, and only them");
        Map<String, Set<Integer>> unitsByGroup = new LinkedHashMap<>();
        for (ScoredTrajectory t : batch.getTrajectories()) {
            assertEquals(t.getSuspect() ? 0.0 : 1.0, t.getWeight(), t.getTrajectoryId());
            unitsByGroup.computeIfAbsent(t.getGroupId(), g -> new HashSet<>()).add(t.getScoringUnit());
            // The others of a group with a suspect were scored again without it: over three, not four.
            boolean withSuspect = Integer.parseInt(t.getGroupId().substring("group-".length())) % HACK_EVERY == 0;
            assertEquals(withSuspect && !t.getSuspect() ? GROUP_SIZE - 1 : GROUP_SIZE, t.getUnitSize(),
                    t.getTrajectoryId());
        }
        assertTrue(unitsByGroup.values().stream().allMatch(units -> units.size() == 1), unitsByGroup::toString);
        assertEquals(GROUPS, unitsByGroup.values().stream().distinct().count(), "a scoring unit for each group");

        Map<String, Double> reliability = batch.getVerifierReliability();
        assertEquals(Set.of("checker", "prm", "rater", "stamp"), reliability.keySet());
        assertTrue(reliability.get("checker") > 0.85, reliability.toString());
        assertEquals(0.5, reliability.get("stamp"), 0.03, reliability.toString());
        assertTrue(harness.getSideOutput(ScoreAndBatch.UNSCORABLE) == null, "nothing unscored under FLAG");
        assertEquals(1, harness.numKeyedStateEntries(), "the bucket keeps its reliability model (no watermark yet, so no expiry)");
    }

    /**
     * A bucket's model has a timer that clears it: after a rescale the buckets' keys change, and the models of the
     * keys no longer used would otherwise stay in the state for ever.
     */
    @Test
    void aBucketWithoutBatchesForTheIdleTtlDropsItsModel() throws Exception {
        Configuration conf = new Configuration();
        conf.set(ReliabilityOptions.MODEL_IDLE_TTL, Duration.ofMillis(1_600));
        harnessWatermark = 1_000L;
        run(conf); // its batch flushed with the watermark at 1,000
        assertEquals(2, harness.numKeyedStateEntries(), "the model and its expiry");

        harness.processWatermark(1_000 + 1_599);
        assertEquals(2, harness.numKeyedStateEntries(), "kept within the TTL");
        harness.processWatermark(1_000 + 1_600);
        assertEquals(0, harness.numKeyedStateEntries(), "dropped");
        assertEquals(0, harness.numProcessingTimeTimers());
        assertEquals(0, harness.numEventTimeTimers());
    }

    /**
     * A model restored without an expiry (saved by a release before the TTL, or, as here, before any watermark) gets
     * one at the first watermark after the restore, and then goes as any other: the operator arms a timer for it.
     */
    @Test
    void aModelRestoredWithoutItsTimerGetsOneAtTheFirstWatermark() throws Exception {
        Configuration conf = new Configuration();
        conf.set(ReliabilityOptions.MODEL_IDLE_TTL, Duration.ofMillis(1_600));
        run(conf); // no watermark: the model has no expiry, and no timer
        assertEquals(1, harness.numKeyedStateEntries());
        assertEquals(0, harness.numEventTimeTimers());
        OperatorSubtaskState snapshot = harness.snapshot(1, 1);
        harness.close();

        harness = new KeyedOneInputStreamOperatorTestHarness<>(new ScoreAndBatchOperator(conf, new int[] {0}), g -> 0, Types.INT);
        harness.initializeState(snapshot);
        harness.open();
        harness.processWatermark(1_000);
        assertEquals(2, harness.numKeyedStateEntries(), "the model and the expiry the first watermark set");
        harness.processWatermark(1_000 + 1_599);
        assertEquals(2, harness.numKeyedStateEntries(), "kept within the TTL");
        harness.processWatermark(1_000 + 1_600);
        assertEquals(0, harness.numKeyedStateEntries(), "dropped");
        assertEquals(0, harness.numEventTimeTimers());
    }

    /**
     * A flagged suspect weighs 0, so it must not move the others' credit either: under FLAG they get what they get
     * under UNSCORED, where the suspects are gone (the group's statistics and the batch's whitening alike).
     */
    @Test
    void underFlagTheOthersGetTheCreditTheyGetWithoutTheSuspects() throws Exception {
        Map<String, List<Double>> flagged = advantagesOfTheUnsuspected(SuspectPolicy.FLAG);
        Map<String, List<Double>> unscored = advantagesOfTheUnsuspected(SuspectPolicy.UNSCORED);

        assertEquals(GROUPS * GROUP_SIZE - GROUPS / HACK_EVERY, unscored.size());
        assertEquals(unscored.keySet(), flagged.keySet());
        for (String id : unscored.keySet()) {
            for (int s = 0; s < STEPS; s++) {
                assertEquals(unscored.get(id).get(s), flagged.get(id).get(s), 1e-9, id + " step " + s);
            }
        }
    }

    private Map<String, List<Double>> advantagesOfTheUnsuspected(SuspectPolicy policy) throws Exception {
        return advantagesOfTheUnsuspected(policy, fleet());
    }

    /** The advantages of {@code groups}' batched trajectories but the suspects: grpo, whitened over the batch. */
    private Map<String, List<Double>> advantagesOfTheUnsuspected(SuspectPolicy policy, List<TrajectoryGroup> groups)
            throws Exception {
        Configuration conf = new Configuration();
        conf.set(ReliabilityOptions.SUSPECT_POLICY, policy);
        conf.set(CreditOptions.ESTIMATOR, Estimator.GRPO);
        conf.set(CreditOptions.NORMALIZE, CreditOptions.Normalize.BATCH);
        run(conf, groups);
        Map<String, List<Double>> advantages = onlyBatch().getTrajectories().stream()
                .filter(t -> !t.getSuspect())
                .collect(Collectors.toMap(ScoredTrajectory::getTrajectoryId,
                        t -> t.getSteps().stream().map(ScoredStep::getAdvantage).toList()));
        harness.close();
        return advantages;
    }

    /**
     * A suspect whose numbers overflow the statistics pooled over the batch goes to unscored alone. Under FLAG the
     * suspects stay in the batch's first scoring, and the search for the group that overflows took the suspect's
     * whole group to unscored, where under UNSCORED, the suspect gone before scoring, the group was scored. Its
     * group-mates get the advantages they get where the hacks' outcomes are ordinary and the suspects leave.
     */
    @ParameterizedTest
    @EnumSource(SuspectPolicy.class)
    void aSuspectWhoseNumbersOverflowTheBatchsStatisticsDoesNotTakeItsGroupWithIt(SuspectPolicy policy)
            throws Exception {
        Map<String, List<Double>> ordinary = advantagesOfTheUnsuspected(SuspectPolicy.UNSCORED);
        List<TrajectoryGroup> hugeHacks = new ArrayList<>();
        for (TrajectoryGroup group : fleet()) {
            hugeHacks.add(new TrajectoryGroup(group.members().stream().map(t -> !t.trajectoryId().startsWith("hack-")
                    ? t : new AssembledTrajectory(t.trajectoryId(), t.agentId(), t.taskId(), t.groupId(),
                            t.groupSize(), t.steps(), Events.outcome(t.trajectoryId(), 1e200, 0, 300), t.verdicts(),
                            t.lineage())).toList(), group.baseline()));
        }

        Map<String, List<Double>> withHugeHacks = advantagesOfTheUnsuspected(policy, hugeHacks);

        List<UnscoredTrajectory> unscored = harness.getSideOutput(ScoreAndBatch.UNSCORABLE).stream()
                .map(StreamRecord::getValue).toList();
        assertEquals(GROUPS / HACK_EVERY, unscored.size(),
                unscored.stream().map(UnscoredTrajectory::getTrajectoryId).toList().toString());
        assertTrue(unscored.stream().allMatch(u -> u.getTrajectoryId().startsWith("hack-")));
        assertTrue(unscored.stream().allMatch(u -> policy == SuspectPolicy.FLAG
                ? u.getReason() == UnscoredReason.UNSCORABLE && u.getDetail().contains("a suspect, scored apart")
                : u.getReason() == UnscoredReason.SUSPECT), unscored.get(0).getDetail());
        assertEquals(ordinary.keySet(), withHugeHacks.keySet());
        for (String id : ordinary.keySet()) {
            for (int s = 0; s < STEPS; s++) {
                assertEquals(ordinary.get(id).get(s), withHugeHacks.get(id).get(s), 1e-9, id + " step " + s);
            }
        }
    }

    /**
     * Under FLAG a suspect is left out of its group's statistics, so one the estimator cannot score (gae without a
     * critic's values) goes to the unscored topic alone: it took its group with it, where under UNSCORED, the suspect
     * gone before scoring, the group was scored. The policy decides what a suspect becomes, not what its group does.
     */
    @ParameterizedTest
    @EnumSource(SuspectPolicy.class)
    void aSuspectTheEstimatorCannotScoreDoesNotTakeItsGroupWithIt(SuspectPolicy policy) throws Exception {
        Configuration conf = new Configuration();
        conf.set(ReliabilityOptions.SUSPECT_POLICY, policy);
        conf.set(CreditOptions.ESTIMATOR, Estimator.GAE);
        List<TrajectoryGroup> valuedButTheHacks = new ArrayList<>();
        for (TrajectoryGroup group : fleet()) {
            List<AssembledTrajectory> members = new ArrayList<>();
            for (AssembledTrajectory t : group.members()) {
                members.add(t.trajectoryId().startsWith("hack-") ? t : new AssembledTrajectory(t.trajectoryId(),
                        t.agentId(), t.taskId(), t.groupId(), t.groupSize(), t.steps().stream()
                                .map(step -> StepEvent.newBuilder(step).setValue(0.5).build()).toList(),
                        t.outcome(), t.verdicts(), t.lineage()));
            }
            valuedButTheHacks.add(new TrajectoryGroup(members, group.baseline()));
        }
        run(conf, valuedButTheHacks);

        List<UnscoredTrajectory> unscored = harness.getSideOutput(ScoreAndBatch.UNSCORABLE).stream()
                .map(StreamRecord::getValue).toList();
        assertEquals(GROUPS / HACK_EVERY, unscored.size(),
                unscored.stream().map(UnscoredTrajectory::getTrajectoryId).toList().toString());
        assertTrue(unscored.stream().allMatch(u -> u.getTrajectoryId().startsWith("hack-")));
        assertTrue(unscored.stream().allMatch(u -> u.getReason() == (policy == SuspectPolicy.FLAG
                ? UnscoredReason.UNSCORABLE : UnscoredReason.SUSPECT)));
        TrainingBatch batch = onlyBatch();
        assertEquals(GROUPS * GROUP_SIZE - GROUPS / HACK_EVERY, batch.getTrajectories().size());
        assertFalse(batch.getTrajectories().stream().anyMatch(ScoredTrajectory::getSuspect));
    }

    @Test
    void underTheUnscoredPolicySuspectsLeaveAndTheirGroupIsScoredWithoutThem() throws Exception {
        Configuration conf = new Configuration();
        conf.set(ReliabilityOptions.SUSPECT_POLICY, SuspectPolicy.UNSCORED);
        conf.set(CreditOptions.ESTIMATOR, Estimator.GRPO);
        run(conf);

        List<UnscoredTrajectory> unscored = harness.getSideOutput(ScoreAndBatch.UNSCORABLE).stream()
                .map(StreamRecord::getValue).toList();
        assertEquals(GROUPS / HACK_EVERY, unscored.size());
        for (UnscoredTrajectory u : unscored) {
            assertEquals(UnscoredReason.SUSPECT, u.getReason());
            assertTrue(u.getTrajectoryId().startsWith("hack-"), u.getTrajectoryId());
            assertTrue(u.getDetail().startsWith("succeeded, but"), u.getDetail());
            assertEquals(STEPS, u.getSteps().size(), "with everything that arrived for it");
        }
        TrainingBatch batch = onlyBatch();
        assertEquals(GROUPS * GROUP_SIZE - unscored.size(), batch.getTrajectories().size());
        assertFalse(batch.getTrajectories().stream().anyMatch(ScoredTrajectory::getSuspect));
        // grpo centres each group: without its hack, group 0's three members still sum to zero.
        double sum = batch.getTrajectories().stream().filter(t -> "group-0".equals(t.getGroupId()))
                .mapToDouble(t -> t.getSteps().get(0).getAdvantage()).sum();
        assertEquals(0.0, sum, 1e-9);
        assertEquals(3, batch.getTrajectories().stream().filter(t -> "group-0".equals(t.getGroupId())).count());
        assertTrue(batch.getTrajectories().stream().filter(t -> "group-0".equals(t.getGroupId()))
                .allMatch(t -> t.getUnitSize() == 3), "scored as a unit of three");
    }

    /**
     * Each step carries the process reward of the scoring its credit came from, computed here from the verdicts and
     * the reliabilities the batch records (a verifier weighs 2 * reliability - 1, 0 below 0.05, its configured weight
     * being 1), group-normalised over the judged steps: under FLAG a suspect's over its whole group, the others' over
     * the group without it.
     */
    @Test
    void underFlagEachStepCarriesTheProcessRewardOfTheScoringItsCreditCameFrom() throws Exception {
        Configuration conf = new Configuration();
        conf.set(CreditOptions.ESTIMATOR, Estimator.PROCESS);
        run(conf);
        TrainingBatch batch = onlyBatch();
        Map<String, Double> weights = new LinkedHashMap<>();
        batch.getVerifierReliability().forEach((verifier, reliability) ->
                weights.put(verifier, 2 * reliability - 1 < 0.05 ? 0.0 : 2 * reliability - 1));
        assertEquals(0.0, weights.get("stamp"), weights::toString);
        Map<String, List<Double>> scored = batch.getTrajectories().stream().collect(Collectors.toMap(
                ScoredTrajectory::getTrajectoryId, t -> t.getSteps().stream().map(ScoredStep::getProcessReward).toList()));
        Set<String> suspects = batch.getTrajectories().stream().filter(ScoredTrajectory::getSuspect)
                .map(ScoredTrajectory::getTrajectoryId).collect(Collectors.toSet());
        assertEquals(GROUPS / HACK_EVERY, suspects.size());

        for (TrajectoryGroup group : fleet()) {
            List<AssembledTrajectory> others = group.members().stream()
                    .filter(t -> !suspects.contains(t.trajectoryId())).toList();
            Map<String, List<Double>> expected = new LinkedHashMap<>(groupNormalisedProcessRewards(group.members(), weights));
            expected.putAll(groupNormalisedProcessRewards(others, weights)); // the others were scored without the suspects
            expected.forEach((id, rewards) -> {
                for (int s = 0; s < STEPS; s++) {
                    Double actual = scored.get(id).get(s);
                    if (rewards.get(s) == null) {
                        assertEquals(null, actual, id + " step " + s);
                    } else {
                        assertNotNull(actual, id + " step " + s + ": no process reward");
                        assertEquals(rewards.get(s), actual, 1e-9, id + " step " + s);
                    }
                }
            });
        }
    }

    /**
     * Each member's per-step process rewards as the process estimator's defaults compute them over {@code unit}: the
     * weighted mean of a step's scores (null where no verifier of positive weight scored it), less the mean of the
     * unit's judged steps, over their standard deviation (ddof 1) plus 1e-6.
     */
    private static Map<String, List<Double>> groupNormalisedProcessRewards(List<AssembledTrajectory> unit,
            Map<String, Double> weights) {
        Map<String, List<Double>> means = new LinkedHashMap<>();
        List<Double> judged = new ArrayList<>();
        for (AssembledTrajectory t : unit) {
            double[] weighted = new double[STEPS];
            double[] weightSums = new double[STEPS];
            for (VerifierSignal verdict : t.verdicts()) {
                double weight = weights.get(verdict.getVerifierId());
                weighted[verdict.getStepIndex()] += weight * verdict.getScore();
                weightSums[verdict.getStepIndex()] += weight;
            }
            List<Double> stepMeans = new ArrayList<>();
            for (int s = 0; s < STEPS; s++) {
                stepMeans.add(weightSums[s] > 0 ? weighted[s] / weightSums[s] : null);
                if (weightSums[s] > 0) {
                    judged.add(weighted[s] / weightSums[s]);
                }
            }
            means.put(t.trajectoryId(), stepMeans);
        }
        double mean = judged.stream().mapToDouble(Double::doubleValue).average().orElseThrow();
        double variance = judged.stream().mapToDouble(x -> (x - mean) * (x - mean)).sum() / (judged.size() - 1);
        double divisor = Math.sqrt(variance) + 1e-6;
        Map<String, List<Double>> rewards = new LinkedHashMap<>();
        means.forEach((id, stepMeans) -> rewards.put(id, stepMeans.stream()
                .map(x -> x == null ? null : (x - mean) / divisor).collect(Collectors.toList())));
        return rewards;
    }

    @Test
    void theProcessEstimatorIgnoresAVerifierThatAlwaysSaysGood() throws Exception {
        Configuration weighted = processOnly();
        run(weighted);
        Map<String, Double> withLearntWeights = advantages(onlyBatch());
        Map<String, Double> processRewardsWithLearntWeights = processRewards(onlyBatch());
        harness.close();

        Configuration unweighted = processOnly();
        unweighted.set(ReliabilityOptions.WEIGHT_VERIFIERS, false);
        run(unweighted);
        Map<String, Double> withEqualWeights = advantages(onlyBatch());
        Map<String, Double> processRewardsWithEqualWeights = processRewards(onlyBatch());

        // Steps judged by the stamp alone: with learnt weights it weighs 0, so such a step is unscored (advantage 0,
        // and no process reward).
        List<String> stampOnly = stepsJudgedOnlyBy("stamp");
        assertFalse(stampOnly.isEmpty());
        for (String step : stampOnly) {
            assertEquals(0.0, withLearntWeights.get(step), 1e-9, step);
            assertTrue(withEqualWeights.get(step) != 0.0, step);
            assertEquals(null, processRewardsWithLearntWeights.get(step), step);
            assertNotNull(processRewardsWithEqualWeights.get(step), step + ": no process reward");
            assertEquals(withEqualWeights.get(step), processRewardsWithEqualWeights.get(step), 1e-9,
                    step + ": with gamma 0 and no outcome, the process reward is the advantage");
        }
    }

    private static Configuration processOnly() {
        Configuration conf = new Configuration();
        conf.set(CreditOptions.ESTIMATOR, Estimator.PROCESS);
        conf.set(CreditOptions.GAMMA, 0.0);
        conf.set(CreditOptions.OUTCOME_COEF, 0.0);
        return conf;
    }

    /** Advantage of every step, by "trajectory/step". */
    private static Map<String, Double> advantages(TrainingBatch batch) {
        Map<String, Double> advantages = new LinkedHashMap<>();
        for (ScoredTrajectory t : batch.getTrajectories()) {
            t.getSteps().forEach(s -> advantages.put(t.getTrajectoryId() + "/" + s.getStepIndex(), s.getAdvantage()));
        }
        return advantages;
    }

    /** Process reward of every step, by "trajectory/step" (null values kept). */
    private static Map<String, Double> processRewards(TrainingBatch batch) {
        Map<String, Double> rewards = new LinkedHashMap<>();
        for (ScoredTrajectory t : batch.getTrajectories()) {
            t.getSteps().forEach(s -> rewards.put(t.getTrajectoryId() + "/" + s.getStepIndex(), s.getProcessReward()));
        }
        return rewards;
    }

    private static List<String> stepsJudgedOnlyBy(String verifier) {
        List<String> steps = new ArrayList<>();
        for (TrajectoryGroup group : fleet()) {
            for (AssembledTrajectory t : group.members()) {
                Map<Integer, Set<String>> judges = t.verdicts().stream().collect(Collectors.groupingBy(
                        v -> v.getStepIndex(), Collectors.mapping(v -> v.getVerifierId(), Collectors.toSet())));
                judges.forEach((step, verifiers) -> {
                    if (verifiers.equals(Set.of(verifier))) {
                        steps.add(t.trajectoryId() + "/" + step);
                    }
                });
            }
        }
        return steps;
    }
}
