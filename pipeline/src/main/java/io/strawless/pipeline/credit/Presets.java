package io.strawless.pipeline.credit;

import io.strawless.pipeline.credit.CreditOptions.EpsilonMode;
import io.strawless.pipeline.credit.CreditOptions.GigpoEpisodeStats;
import io.strawless.pipeline.credit.CreditOptions.NonTrainableSteps;
import io.strawless.pipeline.credit.CreditOptions.Normalize;
import io.strawless.pipeline.credit.CreditOptions.Preset;
import io.strawless.pipeline.credit.CreditOptions.ProcessBaseline;
import io.strawless.pipeline.credit.CreditOptions.ScaleRewards;
import io.strawless.pipeline.credit.CreditOptions.SingletonGroup;
import org.apache.flink.configuration.Configuration;

/**
 * The conventions each framework uses, per estimator, read from their source (commits in
 * shared/golden/credit-vectors.json): verl b178a3cd core_algos.py and its PRIME recipe, verl-agent
 * core_gigpo.py, huggingface/trl f2cd5771, OpenRLHF 3c3be623 experience_maker.py.
 */
final class Presets {

    private Presets() {}

    /** The option values {@code preset} sets for {@code estimator}; rejects estimators the framework does not have. */
    static Configuration conventions(Preset preset, Estimator estimator) {
        Configuration c = new Configuration();
        switch (preset) {
            case NONE -> { }
            case VERL -> verl(c, estimator);
            case TRL -> trl(c, estimator);
            case OPENRLHF -> openRlhf(c, estimator);
        }
        return c;
    }

    private static void verl(Configuration c, Estimator estimator) {
        switch (estimator) {
            // compute_grpo_outcome_advantage and friends: torch.std (n-1), (r - mean) / (std + 1e-6), and a group of
            // one gets mean 0, std 1. No whitening.
            case GRPO, DR_GRPO, RLOO, GIGPO -> {
                std(c, 1e-6, EpsilonMode.ADD_STD, 1);
                c.set(CreditOptions.SINGLETON_GROUP, SingletonGroup.RAW);
                c.set(CreditOptions.NORMALIZE, Normalize.NONE);
                // verl-agent's default GiGPO mode is mean_norm; its episode statistics take every step row of the group
                // (compute_mean_std_cross_steps, formerly compute_mean_std_cross_all_data, true by default).
                c.set(CreditOptions.SCALE_REWARDS,
                        estimator == Estimator.GIGPO ? ScaleRewards.NONE : ScaleRewards.GROUP);
                c.set(CreditOptions.GIGPO_EPISODE_STATS, GigpoEpisodeStats.STEP);
            }
            // GAE and REINFORCE++ end in masked_whiten: unbiased variance, (x - mean) * rsqrt(var + 1e-8). GAE carries
            // its recurrence across masked tokens; compute_reinforce_plus_plus_outcome_advantage multiplies its running
            // return by the response mask, which restarts it at a tool turn as at the end of the response.
            case GAE, REINFORCE_PP, REINFORCE_PP_BASELINE -> {
                whitened(c, 1e-8, EpsilonMode.ADD_VAR, 1);
                c.set(CreditOptions.SINGLETON_GROUP, SingletonGroup.RAW);
                c.set(CreditOptions.NON_TRAINABLE_STEPS,
                        estimator == Estimator.REINFORCE_PP ? NonTrainableSteps.RESET : NonTrainableSteps.SKIP);
            }
            // The PRIME recipe: leave-one-out baselines for the implicit process rewards and the verifier outcome,
            // both weighted 5, summed with gamma 1, then masked_whiten.
            case PROCESS -> {
                whitened(c, 1e-8, EpsilonMode.ADD_VAR, 1);
                c.set(CreditOptions.SINGLETON_GROUP, SingletonGroup.RAW);
                c.set(CreditOptions.NON_TRAINABLE_STEPS, NonTrainableSteps.SKIP);
                c.set(CreditOptions.PROCESS_BASELINE, ProcessBaseline.RLOO);
                c.set(CreditOptions.PROCESS_COEF, 5.0);
                c.set(CreditOptions.OUTCOME_COEF, 5.0);
                c.set(CreditOptions.GAMMA, 1.0);
            }
            default -> throw unsupported(Preset.VERL, estimator, "grpo, dr_grpo, rloo, gae, reinforce_pp, "
                    + "reinforce_pp_baseline, process, gigpo");
        }
    }

    private static void trl(Configuration c, Estimator estimator) {
        switch (estimator) {
            // (r - mean) / (std + 1e-4) with torch.std (n-1); a group of one has std 0 and mean r: advantage 0.
            case GRPO, DR_GRPO, RLOO -> {
                std(c, 1e-4, EpsilonMode.ADD_STD, 1);
                c.set(CreditOptions.SINGLETON_GROUP, SingletonGroup.ZERO);
                c.set(CreditOptions.SCALE_REWARDS, ScaleRewards.GROUP);
                c.set(CreditOptions.NORMALIZE, Normalize.NONE);
            }
            default -> throw unsupported(Preset.TRL, estimator, "grpo, dr_grpo, rloo");
        }
    }

    private static void openRlhf(Configuration c, Estimator estimator) {
        switch (estimator) {
            // group_norm: (r - mean) / (std + 1e-9), torch.std (n-1). OpenRLHF refuses groups of one
            // (n_samples_per_prompt > 1); this preset gives them 0, what r - mean would be.
            case GRPO, DR_GRPO, RLOO -> {
                std(c, 1e-9, EpsilonMode.ADD_STD, 1);
                c.set(CreditOptions.SINGLETON_GROUP, SingletonGroup.ZERO);
                c.set(CreditOptions.SCALE_REWARDS, ScaleRewards.GROUP);
                c.set(CreditOptions.NORMALIZE, Normalize.NONE);
            }
            // gae, reinforce and reinforce_baseline are whitened over action tokens with the biased variance
            // clamped at 1e-8; masked tokens have reward and value 0 and the recursion steps through them.
            case GAE, REINFORCE_PP, REINFORCE_PP_BASELINE -> {
                whitened(c, 1e-8, EpsilonMode.CLAMP_VAR, 0);
                c.set(CreditOptions.SINGLETON_GROUP, SingletonGroup.ZERO);
                c.set(CreditOptions.NON_TRAINABLE_STEPS, NonTrainableSteps.ZERO);
            }
            default -> throw unsupported(Preset.OPENRLHF, estimator, "grpo, dr_grpo, rloo, gae, reinforce_pp, "
                    + "reinforce_pp_baseline");
        }
    }

    private static void std(Configuration c, double epsilon, EpsilonMode mode, int ddof) {
        c.set(CreditOptions.EPSILON, epsilon);
        c.set(CreditOptions.EPSILON_MODE, mode);
        c.set(CreditOptions.STD_DDOF, ddof);
    }

    private static void whitened(Configuration c, double epsilon, EpsilonMode mode, int ddof) {
        std(c, epsilon, mode, ddof);
        c.set(CreditOptions.NORMALIZE, Normalize.BATCH);
    }

    private static IllegalArgumentException unsupported(Preset preset, Estimator estimator, String supported) {
        return new IllegalArgumentException("credit.preset " + preset + " does not define estimator '" + estimator
                + "' (it defines " + supported + "); use credit.preset none and set the options explicitly");
    }
}
