package io.strawless.pipeline.credit;

import io.strawless.pipeline.credit.CreditOptions.GigpoEpisodeStats;
import io.strawless.pipeline.credit.CreditOptions.Normalize;
import io.strawless.pipeline.credit.CreditOptions.Preset;
import io.strawless.pipeline.credit.CreditOptions.ProcessBaseline;
import io.strawless.pipeline.credit.CreditOptions.ScaleRewards;
import io.strawless.pipeline.credit.CreditOptions.SingletonGroup;
import io.strawless.pipeline.credit.PackedBatch.MemberLists;
import io.strawless.pipeline.kernels.BroadcastKernel;
import io.strawless.pipeline.kernels.GroupMomentsKernel;
import io.strawless.pipeline.kernels.KernelExecutor;
import io.strawless.pipeline.kernels.NormalizeKernel;
import io.strawless.pipeline.kernels.ScanKernel;

/**
 * Each estimator as a sequence of kernel calls over a {@link PackedBatch}: scans per trajectory, moments
 * per group, normalization per item, broadcast of trajectory credit onto steps. Owns one instance of
 * each kernel, so it is used by one thread.
 */
final class Estimators implements AutoCloseable {

    private final CreditConfig config;
    private final KernelExecutor executor;
    private final ScanKernel scan = new ScanKernel();
    private final GroupMomentsKernel moments = new GroupMomentsKernel();
    private final NormalizeKernel normalize = new NormalizeKernel();
    private final BroadcastKernel broadcast = new BroadcastKernel();

    Estimators(CreditConfig config, KernelExecutor executor) {
        this.config = config;
        this.executor = executor;
    }

    KernelExecutor executor() {
        return executor;
    }

    /** Computes advantages and returns of the packed micro-batch {@code b}. */
    void run(PackedBatch b) {
        switch (config.estimator()) {
            case OUTCOME -> outcome(b);
            case GRPO, DR_GRPO, RLOO -> groupRelative(b);
            case REINFORCE_PP_BASELINE -> reinforceWithGroupBaseline(b);
            case GAE, REINFORCE_PP -> discounted(b);
            case PROCESS -> process(b);
            case GIGPO -> gigpo(b);
        }
    }

    /** Every trainable step gets the outcome minus the task's baseline (packed already). */
    private void outcome(PackedBatch b) {
        if (config.normalize() == Normalize.BATCH) {
            whiten(b);
        }
        broadcast(b, b.trajectoryAdvantage, b.trajectoryReturn);
    }

    /** GRPO, Dr. GRPO, RLOO: the score against its group, on every trainable step; the return is the advantage. */
    private void groupRelative(PackedBatch b) {
        int scale;
        if (config.estimator() == Estimator.RLOO) {
            scale = NormalizeKernel.SCALE_LEAVE_ONE_OUT;
        } else if (config.estimator() == Estimator.GRPO && config.scaleRewards() == ScaleRewards.GROUP) {
            scale = NormalizeKernel.SCALE_STD;
        } else {
            scale = NormalizeKernel.SCALE_NONE;
        }
        momentsOf(b, b.score, b.episodes);
        normalize(b, b.score, b.episodeGroup, b.trajectories, b.trajectoryAdvantage,
                scale, true, singletonRaw(), 1, false);
        aloneAgainstTaskBaseline(b, b.trajectoryAdvantage, 1);
        if (config.estimator() == Estimator.GRPO && config.scaleRewards() == ScaleRewards.BATCH) {
            // TRL scale_rewards='batch': the group-centred score over the std of all scores of the batch.
            momentsOfWholeBatch(b, b.score, b.trajectoryChunks);
            normalize(b, b.trajectoryAdvantage, b.batchGroup, b.trajectories, b.trajectoryScratch,
                    NormalizeKernel.SCALE_STD, false, false, 1, false);
            b.swapTrajectoryAdvantageAndScratch();
        }
        if (config.normalize() == Normalize.BATCH) {
            whiten(b);
        }
        broadcast(b, b.trajectoryAdvantage, b.trajectoryAdvantage);
    }

    /** REINFORCE++ with a group-mean baseline: the centred score on every trainable step, then whitened. */
    private void reinforceWithGroupBaseline(PackedBatch b) {
        momentsOf(b, b.score, b.episodes);
        normalize(b, b.score, b.episodeGroup, b.trajectories, b.trajectoryAdvantage,
                NormalizeKernel.SCALE_NONE, true, singletonRaw(), 1, false);
        aloneAgainstTaskBaseline(b, b.trajectoryAdvantage, 1);
        broadcast(b, b.trajectoryAdvantage, b.trajectoryAdvantage);
        if (config.normalize() == Normalize.BATCH) {
            whiten(b);
        }
        // verl returns its advantages as the returns; OpenRLHF keeps the baselined score, before whitening.
        b.returnIsAdvantage = config.preset() != Preset.OPENRLHF;
    }

    /** GAE over values, or (reinforce_pp) the discounted return; whitened over the batch's steps when asked. */
    private void discounted(PackedBatch b) {
        boolean gae = config.estimator() == Estimator.GAE;
        scan(b, b.reward, gae, gae ? config.lambda() : 1.0, b.advantage);
        if (config.normalize() == Normalize.BATCH) {
            whiten(b);
        }
    }

    /**
     * Process rewards baselined within the group, fused with the baselined score on the last trainable
     * step, discounted: DeepSeekMath process supervision (group-norm), verl's PRIME recipe (rloo).
     */
    private void process(PackedBatch b) {
        b.scoredStepsByEpisode();
        ProcessBaseline baseline = config.processBaseline();
        int scale = switch (baseline) {
            case GROUP_NORM -> NormalizeKernel.SCALE_STD;
            case RLOO -> NormalizeKernel.SCALE_LEAVE_ONE_OUT;
            case NONE -> NormalizeKernel.SCALE_NONE;
        };
        boolean center = baseline != ProcessBaseline.NONE;
        // Without a baseline every value passes unchanged, a group of one included.
        boolean singletonRaw = singletonRaw() || !center;
        if (baseline == ProcessBaseline.RLOO) {
            // PRIME's baseline: the mean over the group's trajectories of each one's mean process reward.
            momentsOf(b, b.processMean, b.scratchLists.build(b.scoredTrajectoryGroup, b.trajectories, b.episodeGroups));
        } else {
            momentsOf(b, b.process, b.scratchLists.build(b.stepGroup, b.steps, b.episodeGroups));
        }
        normalize(b, b.process, b.stepGroup, b.steps, b.baselinedProcess, scale, center, singletonRaw,
                config.processCoef(), false);
        momentsOf(b, b.score, b.episodes);
        normalize(b, b.score, b.episodeGroup, b.trajectories, b.terminalReward, scale, center, singletonRaw,
                config.outcomeCoef(), false);
        if (center) {
            aloneAgainstTaskBaseline(b, b.terminalReward, config.outcomeCoef());
        }
        scan(b, b.baselinedProcess, false, 1.0, b.advantage);
        if (config.normalize() == Normalize.BATCH) {
            whiten(b);
        }
    }

    /**
     * GiGPO: the episode advantage (score against its group) plus w times the step advantage (discounted
     * step return against the steps of the group that acted in the same observation).
     */
    private void gigpo(PackedBatch b) {
        int scale = config.scaleRewards() == ScaleRewards.NONE ? NormalizeKernel.SCALE_NONE : NormalizeKernel.SCALE_STD;
        if (config.gigpoEpisodeStats() == GigpoEpisodeStats.STEP) {
            b.scoreOnTrainableSteps();
            momentsOf(b, b.stepScratch, b.scratchLists.build(b.stepGroup, b.steps, b.episodeGroups));
        } else {
            momentsOf(b, b.score, b.episodes);
        }
        normalize(b, b.score, b.episodeGroup, b.trajectories, b.trajectoryAdvantage, scale, true, singletonRaw(), 1,
                false);
        aloneAgainstTaskBaseline(b, b.trajectoryAdvantage, 1);
        broadcast(b, b.trajectoryAdvantage, b.trajectoryAdvantage);
        // The discounted step returns land in ret (the return GiGPO reports); the scan's advantage is not needed.
        scan(b, b.reward, false, 1.0, b.stepScratch);
        momentsOf(b, b.ret, b.scratchLists.build(b.stateGroup, b.steps, b.stateGroups));
        normalize(b, b.ret, b.stateGroup, b.steps, b.advantage, scale, true, false, config.gigpoStepWeight(), true);
    }

    private void scan(PackedBatch b, double[] stepReward, boolean useValues, double lambda, double[] advantageOut) {
        scan.reward = stepReward;
        scan.value = b.value;
        scan.trainable = b.trainable;
        scan.stepStart = b.stepStart;
        scan.terminalReward = b.terminalReward;
        scan.bootstrap = b.bootstrap;
        scan.gamma = config.gamma();
        scan.lambda = lambda;
        scan.useValues = useValues ? 1 : 0;
        scan.nonTrainable = switch (config.nonTrainableSteps()) {
            case SKIP -> 0;
            case ZERO -> 1;
            case RESET -> 2;
        };
        scan.advantage = advantageOut;
        scan.ret = b.ret;
        executor.execute(scan, b.trajectories);
    }

    private void momentsOf(PackedBatch b, double[] x, MemberLists groups) {
        b.ensureMoments(groups.groups);
        moments.x = x;
        moments.memberStart = groups.start;
        moments.members = groups.members;
        moments.count = b.count;
        moments.mean = b.mean;
        moments.m2 = b.m2;
        executor.execute(moments, groups.groups);
    }

    /** Moments of a whole micro-batch in group 0: chunk moments in parallel, merged here (Chan et al. 1979). */
    private void momentsOfWholeBatch(PackedBatch b, double[] x, MemberLists chunks) {
        momentsOf(b, x, chunks);
        int n = 0;
        double mean = 0;
        double m2 = 0;
        for (int chunk = 0; chunk < chunks.groups; chunk++) {
            int k = b.count[chunk];
            if (k == 0) {
                continue;
            }
            double delta = b.mean[chunk] - mean;
            int total = n + k;
            mean += delta * k / total;
            m2 += b.m2[chunk] + delta * delta * ((double) n * k / total);
            n = total;
        }
        b.ensureMoments(1);
        b.count[0] = n;
        b.mean[0] = mean;
        b.m2[0] = m2;
    }

    /** Normalizes each item of {@code x} against the moments of its group, computed by the latest momentsOf. */
    private void normalize(PackedBatch b, double[] x, int[] group, int items, double[] out, int scale,
                           boolean subtractMean, boolean singletonRaw, double coefficient, boolean accumulate) {
        normalize.x = x;
        normalize.group = group;
        normalize.count = b.count;
        normalize.mean = b.mean;
        normalize.m2 = b.m2;
        normalize.subtractMean = subtractMean ? 1 : 0;
        normalize.scale = scale;
        normalize.ddof = config.stdDdof();
        normalize.epsilonMode = switch (config.epsilonMode()) {
            case ADD_STD -> NormalizeKernel.EPSILON_ADD_STD;
            case ADD_VAR -> NormalizeKernel.EPSILON_ADD_VAR;
            case CLAMP_VAR -> NormalizeKernel.EPSILON_CLAMP_VAR;
            case CLAMP_VAR_ADD_STD -> NormalizeKernel.EPSILON_CLAMP_VAR_ADD_STD;
        };
        normalize.epsilon = config.epsilon();
        normalize.singletonRaw = singletonRaw ? 1 : 0;
        normalize.coefficient = coefficient;
        normalize.accumulate = accumulate ? 1 : 0;
        normalize.out = out;
        executor.execute(normalize, items);
    }

    /** credit.normalize=batch: over steps or over trajectories, as {@link Estimator#whitensOverSteps} says. */
    private void whiten(PackedBatch b) {
        if (config.estimator().whitensOverSteps()) {
            whitenSteps(b);
        } else {
            whitenTrajectories(b);
        }
    }

    /** Whitening over the trainable steps of the micro-batch (verl masked_whiten, OpenRLHF). */
    private void whitenSteps(PackedBatch b) {
        momentsOfWholeBatch(b, b.advantage, b.trainableChunks);
        normalize(b, b.advantage, b.trainableGroup, b.steps, b.stepScratch, NormalizeKernel.SCALE_STD, true, false, 1,
                false);
        b.swapAdvantageAndScratch();
    }

    /** Whitening over the trajectories of the micro-batch (TRL normalize_advantages). */
    private void whitenTrajectories(PackedBatch b) {
        momentsOfWholeBatch(b, b.trajectoryAdvantage, b.trajectoryChunks);
        normalize(b, b.trajectoryAdvantage, b.batchGroup, b.trajectories, b.trajectoryScratch,
                NormalizeKernel.SCALE_STD, true, false, 1, false);
        b.swapTrajectoryAdvantageAndScratch();
    }

    private void broadcast(PackedBatch b, double[] trajectoryAdvantage, double[] trajectoryReturn) {
        broadcast.stepStart = b.stepStart;
        broadcast.trainable = b.trainable;
        broadcast.trajectoryAdvantage = trajectoryAdvantage;
        broadcast.trajectoryReturn = trajectoryReturn;
        broadcast.advantage = b.advantage;
        broadcast.ret = b.ret;
        executor.execute(broadcast, b.trajectories);
    }

    /**
     * Whether the kernels keep a group of one's own value: under raw, and under task-baseline, where
     * {@link #aloneAgainstTaskBaseline} then replaces a lone trajectory's score (process rewards have no task baseline,
     * so a group with one scored step keeps it).
     */
    private boolean singletonRaw() {
        return config.singletonGroup() != SingletonGroup.ZERO;
    }

    /**
     * credit.singleton-group=task-baseline: a trajectory alone in its group has no group to compare with, so its
     * score (step rewards included, unlike the outcome estimator's outcome) is compared with its task's streaming
     * baseline (on the host: one
     * subtraction per lone trajectory, the same on every backend).
     */
    private void aloneAgainstTaskBaseline(PackedBatch b, double[] out, double coefficient) {
        if (config.singletonGroup() == SingletonGroup.TASK_BASELINE) {
            b.scoreAloneAgainstTaskBaseline(out, coefficient);
        }
    }

    @Override
    public void close() {
        scan.dispose();
        moments.dispose();
        normalize.dispose();
        broadcast.dispose();
    }
}
