package io.strawless.pipeline.credit;

import io.strawless.schemas.TerminalKind;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * A micro-batch packed into flat primitive arrays, the kernels' input and output. Arrays only grow
 * (never shrink), so a steady stream of micro-batches reuses them. Trajectories keep their input
 * order; groups are lists of members ({@link MemberLists}). Absent numbers are packed as 0.
 *
 * <p>Numbers are doubles, not floats. Stored as floats, a near-constant group of scores such as
 * (1.0, 1.0, 1.0, 1.0005) loses about 1e-4 of its spread to rounding, and where the divisor does not
 * scale with the spread (verl's vectorized GRPO clamps the variance at epsilon) the advantage then
 * misses the frameworks' float64 number by 3e-5, beyond the 1e-5 the golden tests allow.
 */
final class PackedBatch {

    /** Members per chunk when a whole micro-batch is one group: chunks are reduced in parallel, then merged. */
    private static final int WHITENING_CHUNK = 1024;

    int trajectories;
    int steps;
    int episodeGroups;
    /** Number of GiGPO step groups (packed for gigpo only). */
    int stateGroups;

    // Per step.
    double[] reward = new double[1];
    double[] value = new double[1];
    int[] trainable = new int[1];
    /** Process reward: mean of the step's verifier scores, weighted; 0 when {@link #processScored} is 0. */
    double[] process = new double[1];
    int[] processScored = new int[1];
    /**
     * The process estimator's step rewards, what its recurrence reads: {@link #process} baselined within its group,
     * times credit.process-coef (0 where {@link #processScored} is 0). An array of its own, not {@link #stepScratch},
     * because batch whitening writes that after the recurrence, and {@link #unpack} reports these.
     */
    double[] baselinedProcess = new double[1];
    /** Whether the latest {@link #pack} packed process rewards ({@link Estimator#hasProcessRewards}). */
    boolean processPacked;
    /** 0 for trainable steps, -1 for the others: the micro-batch as one group of steps. */
    int[] trainableGroup = new int[1];
    /**
     * GiGPO's step group of each trainable step (-1 for the others): the trainable steps of an episode
     * group that acted in the same observation; a step without an observation key is a group of its own.
     */
    int[] stateGroup = new int[1];
    /** Estimator-specific group of each step (-1: none), rewritten by estimators as they need. */
    int[] stepGroup = new int[1];
    double[] advantage = new double[1];
    double[] ret = new double[1];
    double[] stepScratch = new double[1];

    // Per trajectory.
    int[] stepStart = new int[2];
    int[] episodeGroup = new int[1];
    /** All 0: the micro-batch as one group of trajectories. */
    int[] batchGroup = new int[1];
    /** reward-scale * (outcome + sum of step rewards). */
    double[] score = new double[1];
    /** reward-scale * outcome, added to the last trainable step's reward by recurrences. */
    double[] terminalReward = new double[1];
    double[] bootstrap = new double[1];
    double[] trajectoryAdvantage = new double[1];
    double[] trajectoryReturn = new double[1];
    double[] trajectoryScratch = new double[1];
    /** reward-scale * the task's streaming baseline (0: none). */
    double[] taskBaseline = new double[1];
    /** Mean process reward of the trajectory's scored trainable steps. */
    double[] processMean = new double[1];
    /** Episode group of trajectories with a scored trainable step, -1 for the others. */
    int[] scoredTrajectoryGroup = new int[1];

    // Groups.
    final MemberLists episodes = new MemberLists();
    final MemberLists scratchLists = new MemberLists();
    final MemberLists trainableChunks = new MemberLists();
    final MemberLists trajectoryChunks = new MemberLists();

    // Moments of the groups of the latest GroupMomentsKernel call.
    int[] count = new int[1];
    double[] mean = new double[1];
    double[] m2 = new double[1];

    /** Set by estimators whose return is the advantage itself (verl returns (scores, scores)). */
    boolean returnIsAdvantage;

    void pack(List<Trajectory> batch, CreditConfig config) {
        trajectories = batch.size();
        steps = 0;
        for (Trajectory t : batch) {
            steps += t.steps().size();
        }
        ensureCapacity();
        returnIsAdvantage = false;
        double scale = config.rewardScale();
        // Process rewards and observation groups cost map lookups per step: packed only where used.
        boolean packProcess = config.estimator().hasProcessRewards();
        processPacked = packProcess;
        boolean packStates = config.estimator() == Estimator.GIGPO;
        Map<String, Integer> groupIndex = new HashMap<>();
        List<Map<String, Integer>> statesByEpisode = new ArrayList<>();
        episodeGroups = 0;
        stateGroups = 0;
        int s = 0;
        int trainableCount = 0;
        for (int t = 0; t < trajectories; t++) {
            Trajectory trajectory = batch.get(t);
            stepStart[t] = s;
            episodeGroup[t] = trajectory.groupId() == null
                    ? episodeGroups++
                    : groupIndex.computeIfAbsent(trajectory.groupId(), id -> episodeGroups++);
            if (packStates && episodeGroup[t] == statesByEpisode.size()) {
                statesByEpisode.add(new HashMap<>());
            }
            double outcome = orZero(trajectory.outcome());
            double rewardSum = 0;
            double processSum = 0;
            int processCount = 0;
            for (Step step : trajectory.steps()) {
                double stepReward = orZero(step.reward());
                rewardSum += stepReward;
                reward[s] = scale * stepReward;
                value[s] = orZero(step.value());
                trainable[s] = step.trainable() ? 1 : 0;
                trainableGroup[s] = step.trainable() ? 0 : -1;
                if (step.trainable()) {
                    trainableChunks.members[trainableCount++] = s;
                }
                double p = packProcess ? processReward(step, config) : Double.NaN;
                processScored[s] = Double.isNaN(p) || !step.trainable() ? 0 : 1;
                process[s] = processScored[s] == 1 ? p : 0;
                if (processScored[s] == 1) {
                    processSum += p;
                    processCount++;
                }
                if (packStates) {
                    stateGroup[s] = stateGroupOf(step, statesByEpisode.get(episodeGroup[t]));
                }
                s++;
            }
            score[t] = scale * (outcome + rewardSum);
            terminalReward[t] = scale * outcome;
            bootstrap[t] = trajectory.terminal() == TerminalKind.TRUNCATED ? orZero(trajectory.bootstrapValue()) : 0;
            // The outcome estimator's advantage and return need no kernel.
            trajectoryAdvantage[t] = scale * (outcome - orZero(trajectory.baseline()));
            trajectoryReturn[t] = scale * outcome;
            taskBaseline[t] = scale * orZero(trajectory.baseline());
            processMean[t] = processCount > 0 ? processSum / processCount : 0;
            batchGroup[t] = 0;
            scoredTrajectoryGroup[t] = processCount > 0 ? episodeGroup[t] : -1;
        }
        stepStart[trajectories] = s;
        episodes.build(episodeGroup, trajectories, episodeGroups);
        trainableChunks.chunkMembers(trainableCount, WHITENING_CHUNK);
        for (int t = 0; t < trajectories; t++) {
            trajectoryChunks.members[t] = t;
        }
        trajectoryChunks.chunkMembers(trajectories, WHITENING_CHUNK);
    }

    /**
     * Puts {@code coefficient * (score - task baseline)} in {@code out} for every trajectory alone in its episode
     * group ({@code credit.singleton-group=task-baseline}), whatever the group statistics gave it.
     */
    void scoreAloneAgainstTaskBaseline(double[] out, double coefficient) {
        for (int t = 0; t < trajectories; t++) {
            int g = episodeGroup[t];
            if (episodes.start[g + 1] - episodes.start[g] == 1) {
                out[t] = coefficient * (score[t] - taskBaseline[t]);
            }
        }
    }

    /** Puts the episode group of each scored trainable step in {@link #stepGroup} (-1 for the others). */
    void scoredStepsByEpisode() {
        for (int t = 0; t < trajectories; t++) {
            for (int s = stepStart[t]; s < stepStart[t + 1]; s++) {
                stepGroup[s] = processScored[s] == 1 ? episodeGroup[t] : -1;
            }
        }
    }

    /** The trajectory's score copied onto each of its trainable steps (GiGPO's older per-step episode statistics). */
    void scoreOnTrainableSteps() {
        for (int t = 0; t < trajectories; t++) {
            for (int s = stepStart[t]; s < stepStart[t + 1]; s++) {
                stepScratch[s] = score[t];
                stepGroup[s] = trainable[s] == 1 ? episodeGroup[t] : -1;
            }
        }
    }

    /** Ensures room for {@code groups} moments. */
    void ensureMoments(int groups) {
        count = grow(count, groups);
        mean = grow(mean, groups);
        m2 = grow(m2, groups);
    }

    void swapAdvantageAndScratch() {
        double[] whitened = stepScratch;
        stepScratch = advantage;
        advantage = whitened;
    }

    void swapTrajectoryAdvantageAndScratch() {
        double[] whitened = trajectoryScratch;
        trajectoryScratch = trajectoryAdvantage;
        trajectoryAdvantage = whitened;
    }

    List<Credit> unpack(List<Trajectory> batch) {
        double[] returns = returnIsAdvantage ? advantage : ret;
        List<Credit> credits = new ArrayList<>(trajectories);
        for (int t = 0; t < trajectories; t++) {
            credits.add(new Credit(batch.get(t).id(), Arrays.copyOfRange(advantage, stepStart[t], stepStart[t + 1]),
                    Arrays.copyOfRange(returns, stepStart[t], stepStart[t + 1]),
                    processPacked ? processRewardsOf(t) : null));
        }
        return credits;
    }

    /** Trajectory {@code t}'s {@link #baselinedProcess}, NaN for the steps no verdict scored (0 in the recurrence). */
    private double[] processRewardsOf(int t) {
        double[] rewards = Arrays.copyOfRange(baselinedProcess, stepStart[t], stepStart[t + 1]);
        for (int s = 0; s < rewards.length; s++) {
            if (processScored[stepStart[t] + s] == 0) {
                rewards[s] = Double.NaN;
            }
        }
        return rewards;
    }

    private int stateGroupOf(Step step, Map<String, Integer> statesOfEpisode) {
        if (!step.trainable()) {
            return -1;
        }
        if (step.observationKey() == null) {
            return stateGroups++;
        }
        return statesOfEpisode.computeIfAbsent(step.observationKey(), key -> stateGroups++);
    }

    /** Weighted mean of the step's verifier scores (NaN when no verifier with a positive weight scored it). */
    private static double processReward(Step step, CreditConfig config) {
        double weighted = 0;
        double weights = 0;
        for (Map.Entry<String, Double> verdict : step.verifierScores().entrySet()) {
            double weight = config.verifierWeight(verdict.getKey());
            weighted += weight * verdict.getValue();
            weights += weight;
        }
        return weights > 0 ? weighted / weights : Double.NaN;
    }

    private void ensureCapacity() {
        reward = grow(reward, steps);
        value = grow(value, steps);
        trainable = grow(trainable, steps);
        process = grow(process, steps);
        processScored = grow(processScored, steps);
        baselinedProcess = grow(baselinedProcess, steps);
        trainableGroup = grow(trainableGroup, steps);
        stepGroup = grow(stepGroup, steps);
        stateGroup = grow(stateGroup, steps);
        advantage = grow(advantage, steps);
        ret = grow(ret, steps);
        stepScratch = grow(stepScratch, steps);
        trainableChunks.members = grow(trainableChunks.members, steps);

        stepStart = grow(stepStart, trajectories + 1);
        episodeGroup = grow(episodeGroup, trajectories);
        batchGroup = grow(batchGroup, trajectories);
        score = grow(score, trajectories);
        terminalReward = grow(terminalReward, trajectories);
        bootstrap = grow(bootstrap, trajectories);
        trajectoryAdvantage = grow(trajectoryAdvantage, trajectories);
        trajectoryReturn = grow(trajectoryReturn, trajectories);
        trajectoryScratch = grow(trajectoryScratch, trajectories);
        processMean = grow(processMean, trajectories);
        taskBaseline = grow(taskBaseline, trajectories);
        scoredTrajectoryGroup = grow(scoredTrajectoryGroup, trajectories);
        trajectoryChunks.members = grow(trajectoryChunks.members, trajectories);
    }

    private static double orZero(double x) {
        return Double.isNaN(x) ? 0 : x;
    }

    static int[] grow(int[] array, int size) {
        return array.length >= size ? array : new int[Math.max(size, array.length + array.length / 2)];
    }

    static double[] grow(double[] array, int size) {
        return array.length >= size ? array : new double[Math.max(size, array.length + array.length / 2)];
    }

    /** Groups as lists of member indices: group g's members are {@code members[start[g]] .. members[start[g+1]-1]}. */
    static final class MemberLists {
        int groups;
        int[] start = new int[2];
        int[] members = new int[1];
        private int[] cursor = new int[1];

        /** Lists the items {@code i < items} by {@code groupOf[i]}, in item order; group -1 leaves an item out. */
        MemberLists build(int[] groupOf, int items, int groupCount) {
            groups = groupCount;
            start = grow(start, groupCount + 1);
            cursor = grow(cursor, groupCount);
            Arrays.fill(start, 0, groupCount + 1, 0);
            for (int i = 0; i < items; i++) {
                if (groupOf[i] >= 0) {
                    start[groupOf[i] + 1]++;
                }
            }
            for (int g = 0; g < groupCount; g++) {
                start[g + 1] += start[g];
            }
            members = grow(members, start[groupCount]);
            System.arraycopy(start, 0, cursor, 0, groupCount);
            for (int i = 0; i < items; i++) {
                if (groupOf[i] >= 0) {
                    members[cursor[groupOf[i]]++] = i;
                }
            }
            return this;
        }

        /** Splits the first {@code memberCount} members (already in {@link #members}) into chunks of {@code chunk}. */
        void chunkMembers(int memberCount, int chunk) {
            groups = (memberCount + chunk - 1) / chunk;
            start = grow(start, groups + 1);
            for (int g = 0; g <= groups; g++) {
                start[g] = Math.min(g * chunk, memberCount);
            }
        }
    }
}
