package io.strawless.pipeline.credit;

import static org.apache.flink.configuration.ConfigOptions.key;

import java.util.Locale;
import java.util.Map;
import org.apache.flink.configuration.ConfigOption;

/**
 * Settings of credit assignment. A preset sets the conventions of one framework; an option set
 * explicitly wins over the preset.
 *
 * <p>Terms used below. The <em>score</em> of a trajectory is {@code reward-scale * (outcome + sum of its
 * steps' rewards)}, as verl sums token-level rewards. The <em>step rewards</em> that recurrences discount
 * are {@code reward-scale * reward} of each step, plus {@code reward-scale * outcome} on the last
 * trainable step (where verl and OpenRLHF put the sequence reward). A <em>group</em> is the trajectories the job
 * gathered as one group: same task and group id, up to {@code group_size} or {@code job.group-timeout} (no group
 * id: a group of one). A training batch is scored in one call and published as one record of the batches topic:
 * "the batch" below. {@link #ESTIMATOR}'s description repeats these terms, since the configuration reference is
 * generated from the descriptions.
 */
public final class CreditOptions {

    public static final ConfigOption<Estimator> ESTIMATOR = key("credit.estimator")
            .enumType(Estimator.class)
            .defaultValue(Estimator.OUTCOME)
            .withDescription("How advantages are computed; every step that is not trainable gets advantage 0 and "
                    + "return 0. Terms: a trajectory's score is reward-scale * (outcome + the sum of its steps' "
                    + "rewards); its step rewards are reward-scale * each step's reward, plus reward-scale * outcome "
                    + "on its last trainable step; a group is the trajectories the job gathered as one group (same "
                    + "task_id and group_id, up to group_size or job.group-timeout), and a trajectory without a "
                    + "group_id is a group of one (credit.singleton-group); the batch is one record of the batches "
                    + "topic, scored in one call. 'outcome': advantage = reward-scale * (outcome - baseline), "
                    + "return = reward-scale * outcome. 'grpo': (score - group mean) / group std (see "
                    + "credit.scale-rewards). 'dr_grpo': score "
                    + "- group mean. 'rloo': score - mean of the group's other members. 'reinforce_pp_baseline': score "
                    + "- group mean, whitened over the batch's steps when credit.normalize=batch. For these four "
                    + "the return equals the advantage (reinforce_pp_baseline under the openrlhf preset: the score "
                    + "less the group mean, before whitening, as OpenRLHF's returns). 'gae': GAE(gamma, lambda) over step rewards and values; a "
                    + "TRUNCATED trajectory bootstraps with its bootstrap value; return = advantage + value. "
                    + "'reinforce_pp': the discounted return of the step rewards, whitened when "
                    + "credit.normalize=batch. 'process': verifier scores become per-step process rewards (mean of "
                    + "the step's verifier scores weighted by credit.verifier-weights), baselined within the group "
                    + "(credit.process-baseline), fused with the baselined score on the last trainable step "
                    + "(credit.process-coef, credit.outcome-coef) and discounted; whitened when "
                    + "credit.normalize=batch. 'gigpo': episode advantage (score normalized in its group) plus "
                    + "credit.gigpo-step-weight times the step advantage (discounted step return normalized among "
                    + "the group's steps with the same observation key); return = discounted step return.");

    public static final ConfigOption<Preset> PRESET = key("credit.preset")
            .enumType(Preset.class)
            .defaultValue(Preset.NONE)
            .withDescription("Conventions that reproduce a framework's numbers: 'verl' (grpo, dr_grpo, rloo, gae, "
                    + "reinforce_pp, reinforce_pp_baseline, process as verl's PRIME recipe, gigpo's advantages as "
                    + "verl-agent's, whose returns repeat them where gigpo's return is the discounted step return), "
                    + "'trl' (grpo, dr_grpo, rloo), 'openrlhf' (grpo as group_norm, dr_grpo, rloo, gae, reinforce_pp "
                    + "as reinforce, reinforce_pp_baseline as reinforce_baseline), or 'none' (the defaults below). A "
                    + "step is a turn: where a framework weighs tokens (verl's and OpenRLHF's whitening takes the mean "
                    + "and variance over every response token), the presets weigh each step once, the framework's "
                    + "number where a step is one token. OpenRLHF's reinforce_baseline discounts its baselined score "
                    + "by its gamma; reinforce_pp_baseline does not discount (they agree at gamma 1, OpenRLHF's "
                    + "default).");

    public static final ConfigOption<Backend> BACKEND = key("credit.backend")
            .enumType(Backend.class)
            .defaultValue(Backend.AUTO)
            .withDescription("Where kernels run: 'opencl' (GPU, or CPU through PoCL), 'jtp' (Aparapi's Java thread "
                    + "pool), 'java' (plain loops), or 'auto' (at start, times opencl and java on a synthetic "
                    + "micro-batch of batch.max-trajectories trajectories of 16 steps and picks the one that costs the "
                    + "least core time: PoCL on a CPU spreads a batch over every core, which the job's other subtasks "
                    + "need, and is charged for each; jtp, which does the same, is never cheaper and is not tried). All give the same numbers within float tolerance. If "
                    + "OpenCL fails at run time, scoring falls back to 'java' with one warning.");

    public static final ConfigOption<Double> GAMMA = key("credit.gamma")
            .doubleType()
            .defaultValue(1.0)
            .withDescription("Discount factor of gae, reinforce_pp, process and gigpo, in [0, 1].");

    public static final ConfigOption<Double> LAMBDA = key("credit.lambda")
            .doubleType()
            .defaultValue(1.0)
            .withDescription("GAE lambda, in [0, 1]: 1 gives the Monte-Carlo return minus the value, 0 the TD "
                    + "residual.");

    public static final ConfigOption<Double> EPSILON = key("credit.epsilon")
            .doubleType()
            .defaultValue(1e-6)
            .withDescription("Epsilon of every standard deviation used to divide (group, batch); see "
                    + "credit.epsilon-mode. "
                    + "verl GRPO 1e-6, verl whitening 1e-8, TRL 1e-4, OpenRLHF group_norm 1e-9.");

    public static final ConfigOption<EpsilonMode> EPSILON_MODE = key("credit.epsilon-mode")
            .enumType(EpsilonMode.class)
            .defaultValue(EpsilonMode.ADD_STD)
            .withDescription("Where epsilon goes: 'add-std' divides by std + eps (verl GRPO, TRL, OpenRLHF "
                    + "group_norm), "
                    + "'add-var' by sqrt(var + eps) (verl whitening), 'clamp-var' by sqrt(max(var, eps)) (OpenRLHF "
                    + "whitening), 'clamp-var-add-std' by sqrt(max(var, eps)) + eps (verl vectorized GRPO).");

    public static final ConfigOption<Integer> STD_DDOF = key("credit.std-ddof")
            .intType()
            .defaultValue(1)
            .withDescription("Delta degrees of freedom of every variance: 1 divides by n - 1 (torch.std, verl, TRL), "
                    + "0 by n (OpenRLHF whitening).");

    public static final ConfigOption<SingletonGroup> SINGLETON_GROUP = key("credit.singleton-group")
            .enumType(SingletonGroup.class)
            .defaultValue(SingletonGroup.TASK_BASELINE)
            .withDescription("A group of one trajectory (also one without a group id): 'task-baseline' scores it against "
                    + "its task's streaming baseline: its score (the outcome plus any step rewards, so it differs from "
                    + "the outcome estimator's outcome - baseline where steps have rewards) minus the running mean of "
                    + "the task's earlier outcomes (baseline.decay; 0 before the task's first outcome), not divided by "
                    + "a group's std (credit.scale-rewards=batch and credit.normalize=batch scale it with the rest of "
                    + "the batch), so that ungrouped "
                    + "traffic gets a baseline too; 'raw' takes mean 0 and std 1, "
                    + "so it keeps its own score (verl); 'zero' gives it advantage 0 (TRL, verl's vectorized RLOO). "
                    + "The presets set raw or zero, as their frameworks do. "
                    + "Applies to grpo, dr_grpo, rloo, reinforce_pp_baseline, gigpo's episode level (with "
                    + "credit.gigpo-episode-stats=step a trajectory alone with several steps is centred on its own, "
                    + "except under task-baseline) and process; "
                    + "process with credit.process-baseline=group-norm normalises over the group's scored steps, so there "
                    + "it applies to a group with one scored step (kept under task-baseline: process rewards have no task "
                    + "baseline), and a trajectory alone with several is centred on its own; its outcome part follows "
                    + "the rule for a trajectory alone.");

    public static final ConfigOption<ScaleRewards> SCALE_REWARDS = key("credit.scale-rewards")
            .enumType(ScaleRewards.class)
            .defaultValue(ScaleRewards.GROUP)
            .withDescription("Divisor of grpo and gigpo after subtracting the group mean: 'group' the group's std, "
                    + "'batch' the std of all scores in the training batch (TRL scale_rewards='batch', grpo only), "
                    + "'none' nothing (Dr. GRPO; gigpo's mean_norm). dr_grpo never divides.");

    public static final ConfigOption<Normalize> NORMALIZE = key("credit.normalize")
            .enumType(Normalize.class)
            .defaultValue(Normalize.NONE)
            .withDescription("'batch' whitens the final advantages over the training batch (subtract the mean, divide by "
                    + "the std): over trainable steps for gae, reinforce_pp, reinforce_pp_baseline and process (verl "
                    + "masked_whiten, OpenRLHF), over trajectories for outcome, grpo, dr_grpo and rloo (TRL "
                    + "normalize_advantages). 'none' leaves them. gigpo does not whiten: 'batch' is refused for it.");

    public static final ConfigOption<Double> REWARD_SCALE = key("credit.reward-scale")
            .doubleType()
            .defaultValue(1.0)
            .withDescription("Multiplies outcomes and step rewards before anything else; not verifier scores:"
                    + " credit.process-coef weighs the process rewards against the outcome.");

    public static final ConfigOption<NonTrainableSteps> NON_TRAINABLE_STEPS = key("credit.non-trainable-steps")
            .enumType(NonTrainableSteps.class)
            .defaultValue(NonTrainableSteps.SKIP)
            .withDescription("How recurrences treat steps that are not trainable: 'skip' as if absent, with no reward, "
                    + "value or discount step, as verl's GAE skips masked tokens; 'zero' with reward and value 0 while"
                    + " the discount still steps through them, as OpenRLHF does; 'reset' as the end of what comes"
                    + " before them: the recurrence restarts from 0, so no reward after a tool step (the outcome"
                    + " included) reaches the steps before it, as verl's REINFORCE++ multiplies its running return by"
                    + " the response mask (the verl preset's reinforce_pp). In every mode a reward reported on a"
                    + " non-trainable step reaches no recurrence (as verl loses one on a masked token), though the"
                    + " outcome estimators' scores sum every step's reward: agents report it on the trainable step"
                    + " whose action earned it.");

    public static final ConfigOption<Map<String, String>> VERIFIER_WEIGHTS = key("credit.verifier-weights")
            .mapType()
            .defaultValue(Map.of())
            .withDescription("Weight of each verifier in a step's process reward, e.g. 'v1:2.0,v2:0.5' (others: 1; "
                    + "0 ignores a verifier). With reliability.weight-verifiers (the default) the weight used is this"
                    + " one times the verifier's learnt informativeness, once the model has learnt enough.");

    public static final ConfigOption<ProcessBaseline> PROCESS_BASELINE = key("credit.process-baseline")
            .enumType(ProcessBaseline.class)
            .defaultValue(ProcessBaseline.GROUP_NORM)
            .withDescription("Baseline of process rewards and of the score within a group: 'group-norm' subtracts the "
                    + "mean and divides by the std of all scored steps of the group (DeepSeekMath process supervision; "
                    + "the score: over the group's trajectories); 'rloo' leave-one-out over trajectory means (verl's "
                    + "PRIME recipe); 'none' takes them raw.");

    public static final ConfigOption<Double> PROCESS_COEF = key("credit.process-coef")
            .doubleType()
            .defaultValue(1.0)
            .withDescription("Weight of the baselined process rewards in the fused step reward (PRIME "
                    + "reward_dpo_coef).");

    public static final ConfigOption<Double> OUTCOME_COEF = key("credit.outcome-coef")
            .doubleType()
            .defaultValue(1.0)
            .withDescription("Weight of the baselined score in the fused step reward of the last trainable step "
                    + "(PRIME reward_gt_coef; 0 for process rewards alone).");

    public static final ConfigOption<Double> GIGPO_STEP_WEIGHT = key("credit.gigpo-step-weight")
            .doubleType()
            .defaultValue(1.0)
            .withDescription("Weight w of the step-level advantage in GiGPO: A = A_episode + w * A_step.");

    public static final ConfigOption<GigpoEpisodeStats> GIGPO_EPISODE_STATS = key("credit.gigpo-episode-stats")
            .enumType(GigpoEpisodeStats.class)
            .defaultValue(GigpoEpisodeStats.TRAJECTORY)
            .withDescription("Statistics of GiGPO's episode level: 'trajectory' one entry per trajectory (DrMAS, and "
                    + "verl-agent with compute_mean_std_cross_steps=false); 'step' one entry per trainable step, so a "
                    + "longer trajectory weighs more (verl-agent's default, compute_mean_std_cross_steps, formerly "
                    + "compute_mean_std_cross_all_data; credit.preset=verl).");

    private CreditOptions() {}

    /**
     * How the settings name a value of the enums below: its constant in lower case, '-' for '_' (CLAMP_VAR_ADD_STD
     * is clamp-var-add-std). Flink reads an enum setting by its {@code toString}, in any case.
     */
    private static String settingName(Enum<?> value) {
        return value.name().toLowerCase(Locale.ROOT).replace('_', '-');
    }

    public enum Preset {
        NONE, VERL, TRL, OPENRLHF;

        @Override
        public String toString() {
            return settingName(this);
        }
    }

    /**
     * Where kernels run: a {@link io.strawless.pipeline.kernels.KernelExecutor.Backend}, or {@code auto}, which
     * measures them and picks one.
     */
    public enum Backend {
        AUTO, OPENCL, JTP, JAVA;

        @Override
        public String toString() {
            return settingName(this);
        }
    }

    public enum EpsilonMode {
        ADD_STD, ADD_VAR, CLAMP_VAR, CLAMP_VAR_ADD_STD;

        @Override
        public String toString() {
            return settingName(this);
        }
    }

    public enum SingletonGroup {
        RAW, ZERO, TASK_BASELINE;

        @Override
        public String toString() {
            return settingName(this);
        }
    }

    public enum ScaleRewards {
        GROUP, BATCH, NONE;

        @Override
        public String toString() {
            return settingName(this);
        }
    }

    public enum Normalize {
        NONE, BATCH;

        @Override
        public String toString() {
            return settingName(this);
        }
    }

    public enum NonTrainableSteps {
        SKIP, ZERO, RESET;

        @Override
        public String toString() {
            return settingName(this);
        }
    }

    public enum ProcessBaseline {
        GROUP_NORM, RLOO, NONE;

        @Override
        public String toString() {
            return settingName(this);
        }
    }

    public enum GigpoEpisodeStats {
        TRAJECTORY, STEP;

        @Override
        public String toString() {
            return settingName(this);
        }
    }
}
