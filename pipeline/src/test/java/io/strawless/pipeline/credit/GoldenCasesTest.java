package io.strawless.pipeline.credit;

import static io.strawless.pipeline.credit.Scoring.allTrainable;
import static io.strawless.pipeline.credit.Scoring.assertClose;
import static io.strawless.pipeline.credit.Scoring.firstStepAdvantages;
import static io.strawless.pipeline.credit.Scoring.outcomeGroup;
import static io.strawless.pipeline.credit.Scoring.score;
import static io.strawless.pipeline.credit.Scoring.trainable;
import static io.strawless.pipeline.credit.Scoring.trajectory;
import static org.junit.jupiter.api.Assertions.assertEquals;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.strawless.schemas.TerminalKind;
import java.io.IOException;
import java.io.InputStream;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.stream.Collectors;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The reference numbers of verl, TRL, OpenRLHF, verl-agent and the papers
 * (src/test/resources/golden/credit-vectors.json, copied from shared/golden), reproduced to 1e-5 on
 * every backend. A step here is what the frameworks call a token; masked tokens are non-trainable
 * steps, whose credit is 0 by contract (the frameworks' values there are ignored by their losses).
 */
class GoldenCasesTest {

    private static JsonNode golden;

    @BeforeAll
    static void load() throws IOException {
        try (InputStream in = GoldenCasesTest.class.getResourceAsStream("/golden/credit-vectors.json")) {
            golden = new ObjectMapper().readTree(in);
        }
    }

    @ParameterizedTest
    @MethodSource("io.strawless.pipeline.credit.Scoring#backends")
    void gaeSchulman(String backend) {
        JsonNode c = golden.get("gae_schulman");
        double[] rewards = doubles(c.get("inputs").get("rewards"));
        double[] values = doubles(c.get("inputs").get("values_V(s_0..s_3)"));
        String[] gae = {"credit.gamma", "0.99", "credit.lambda", "0.95"};

        Credit terminated = only(score(backend, List.of(trajectory("t", null, Double.NaN, rewards, values, allTrainable(4))),
                "gae", gae));
        assertClose(doubles(c.get("terminated (V(s_4)=0)").get("advantages")), terminated.advantages(), "terminated");
        assertClose(doubles(c.get("terminated (V(s_4)=0)").get("returns(lambda-return)")), terminated.returns(),
                "terminated returns");

        Credit truncated = only(score(backend, List.of(trajectory("t", null, Double.NaN, TerminalKind.TRUNCATED, 0.9,
                rewards, values, allTrainable(4))), "gae", gae));
        assertClose(doubles(c.get("truncated (bootstrap V(s_4)=0.9)").get("advantages")), truncated.advantages(),
                "truncated");
        assertClose(doubles(c.get("truncated (bootstrap V(s_4)=0.9)").get("returns(lambda-return)")),
                truncated.returns(), "truncated returns");

        Credit monteCarlo = only(score(backend, List.of(trajectory("t", null, Double.NaN, rewards, values,
                allTrainable(4))), "gae", "credit.gamma", "0.99", "credit.lambda", "1"));
        assertClose(doubles(c.get("terminated, lambda=1 (MC return - V)")), monteCarlo.advantages(), "lambda 1");

        Credit td = only(score(backend, List.of(trajectory("t", null, Double.NaN, rewards, values, allTrainable(4))),
                "gae", "credit.gamma", "0.99", "credit.lambda", "0"));
        assertClose(doubles(c.get("terminated, lambda=0 (TD(0) residual)")), td.advantages(), "lambda 0");
    }

    @ParameterizedTest
    @MethodSource("io.strawless.pipeline.credit.Scoring#backends")
    void verlGaeWhitened(String backend) {
        JsonNode c = golden.get("verl_gae_single_seq");
        Trajectory t = trajectory("t", null, Double.NaN, doubles(c.get("inputs").get("token_level_rewards").get(0)),
                doubles(c.get("inputs").get("values").get(0)), allTrainable(4));
        Credit credit = only(score(backend, List.of(t), "gae", "credit.preset", "verl", "credit.gamma", "0.99",
                "credit.lambda", "0.95"));
        assertClose(doubles(c.get("advantages (masked_whiten over batch, unbiased var, rsqrt(var+1e-8))")),
                credit.advantages(), "whitened advantages");
        assertClose(doubles(c.get("returns (= raw adv + values)")), credit.returns(), "returns");
    }

    @ParameterizedTest
    @MethodSource("io.strawless.pipeline.credit.Scoring#backends")
    void gaeSkipsToolStepsLikeVerlAndStepsThroughThemLikeOpenRlhf(String backend) {
        JsonNode c = golden.get("gae_multiturn_observation_mask");
        int[] mask = ints(c.get("inputs").get("response_mask (0 = tool/observation token)").get(0));
        Trajectory t = trajectory("t", null, Double.NaN, doubles(c.get("inputs").get("token_level_rewards").get(0)),
                doubles(c.get("inputs").get("values").get(0)), trainable(mask));
        JsonNode verl = c.get("verl (skips masked tokens: no value, no TD error, no discount step)");
        String[] gae = {"credit.gamma", "0.99", "credit.lambda", "0.95"};

        Credit raw = only(score(backend, List.of(t), "gae", gae));
        assertClose(masked(doubles(verl.get("advantages_before_whiten")), mask), raw.advantages(), "verl raw");
        Credit whitened = only(score(backend, List.of(t), "gae", concat(gae, "credit.preset", "verl")));
        assertClose(masked(doubles(verl.get("advantages_whitened")), mask), whitened.advantages(), "verl whitened");
        Credit openRlhf = only(score(backend, List.of(t), "gae", concat(gae, "credit.preset", "openrlhf",
                "credit.normalize", "none")));
        assertClose(masked(doubles(c.get("OpenRLHF (values/rewards zeroed at masked tokens, recursion still steps through them)")
                .get("advantages_before_whiten")), mask), openRlhf.advantages(), "OpenRLHF raw");
    }

    @ParameterizedTest
    @MethodSource("io.strawless.pipeline.credit.Scoring#backends")
    void rewardOnAToolStepIsLostLikeInVerl(String backend) {
        JsonNode gae = golden.get("edge_reward_on_masked_token").get("verl_gae");
        int[] mask = ints(gae.get("inputs").get("response_mask").get(0));
        Trajectory t = trajectory("t", null, Double.NaN, doubles(gae.get("inputs").get("token_level_rewards").get(0)),
                doubles(gae.get("inputs").get("values").get(0)), trainable(mask));
        Credit credit = only(score(backend, List.of(t), "gae", "credit.gamma", "0.99", "credit.lambda", "0.95"));
        assertClose(append(doubles(gae.get("advantages_before_whiten (valid tokens 0..2 see reward 0)")), 0),
                credit.advantages(), "gae");

        JsonNode rpp = golden.get("edge_reward_on_masked_token").get("verl_reinforce_pp_returns");
        List<Trajectory> batch = new ArrayList<>();
        for (int i = 0; i < 2; i++) {
            int[] m = ints(rpp.get("inputs").get("response_mask").get(i));
            batch.add(trajectory("t" + i, null, Double.NaN, doubles(rpp.get("inputs").get("token_level_rewards").get(i)),
                    null, trainable(m)));
        }
        List<Credit> credits = score(backend, batch, "reinforce_pp", "credit.preset", "verl");
        for (int i = 0; i < 2; i++) {
            int[] m = ints(rpp.get("inputs").get("response_mask").get(i));
            assertClose(masked(doubles(rpp.get("returns").get(i)), m), credits.get(i).returns(), "returns " + i);
        }
    }

    /**
     * verl's REINFORCE++ multiplies its running return by the response mask, so a tool turn in the middle of a
     * response restarts the return: no reward after it reaches the turns before. Not in the shared golden file, whose
     * masks are all at the end; the numbers are verl's loop and masked_whiten run in numpy on these inputs (gamma 0.9).
     * The verl preset reproduces them; without it the return carries across the tool step (skip).
     */
    @ParameterizedTest
    @MethodSource("io.strawless.pipeline.credit.Scoring#backends")
    void verlsReinforcePlusPlusRestartsItsReturnAtAToolStep(String backend) {
        List<Trajectory> batch = List.of(
                trajectory("a", null, Double.NaN, new double[] {0, 0.5, 0, 1}, null, trainable(1, 0, 1, 1)),
                trajectory("b", null, Double.NaN, new double[] {0.2, 0, 0.3, 0}, null, trainable(1, 1, 0, 1)));

        List<Credit> verl = score(backend, batch, "reinforce_pp", "credit.preset", "verl", "credit.gamma", "0.9");

        assertClose(new double[] {0, 0, 0.9, 1}, verl.get(0).returns(), "returns a");
        assertClose(new double[] {0.2, 0, 0, 0}, verl.get(1).returns(), "returns b");
        assertClose(new double[] {-0.741166, 0, 1.16469, 1.376452}, verl.get(0).advantages(), "advantages a");
        assertClose(new double[] {-0.317643, -0.741166, 0, -0.741166}, verl.get(1).advantages(), "advantages b");

        List<Credit> skip = score(backend, batch, "reinforce_pp", "credit.preset", "verl", "credit.gamma", "0.9",
                "credit.non-trainable-steps", "skip");
        assertClose(new double[] {0.81, 0, 0.9, 1}, skip.get(0).returns(), "returns a, carried across the tool step");
    }

    @ParameterizedTest
    @MethodSource("io.strawless.pipeline.credit.Scoring#backends")
    void grpoInEachFramework(String backend) {
        JsonNode c = golden.get("grpo");
        JsonNode g1001 = c.get("group_[1,0,0,1]");
        List<Trajectory> group = outcomeGroup(1, 0, 0, 1);
        expectGroup(g1001, "verl (std unbiased, eps=1e-6, A=(r-mean)/(std+eps))", backend, group, "grpo",
                "credit.preset", "verl");
        expectGroup(g1001, "verl_vectorized (std=sqrt(max(var,1e-6)))", backend, group, "grpo",
                "credit.preset", "verl", "credit.epsilon-mode", "clamp-var-add-std");
        expectGroup(g1001, "verl norm_adv_by_std_in_grpo=False (Dr.GRPO)", backend, group, "dr_grpo",
                "credit.preset", "verl");
        expectGroup(g1001, "TRL scale_rewards='group' (eps=1e-4)", backend, group, "grpo", "credit.preset", "trl");
        expectGroup(g1001, "TRL scale_rewards='none'", backend, group, "grpo", "credit.preset", "trl",
                "credit.scale-rewards", "none");
        expectGroup(g1001, "OpenRLHF group_norm (eps=1e-9)", backend, group, "grpo", "credit.preset", "openrlhf");
        expectGroup(g1001, "OpenRLHF dr_grpo", backend, group, "dr_grpo", "credit.preset", "openrlhf");

        expectGroup(c.get("group_[1,0,0,0]"), "verl", backend, outcomeGroup(1, 0, 0, 0), "grpo", "credit.preset", "verl");
        expectGroup(c.get("group_[1,0,0,0]"), "TRL group", backend, outcomeGroup(1, 0, 0, 0), "grpo",
                "credit.preset", "trl");

        JsonNode allOnes = c.get("all_equal_group_[1,1,1,1] (std=0)");
        expectGroup(allOnes, "verl", backend, outcomeGroup(1, 1, 1, 1), "grpo", "credit.preset", "verl");
        expectGroup(allOnes, "verl_vectorized", backend, outcomeGroup(1, 1, 1, 1), "grpo", "credit.preset", "verl",
                "credit.epsilon-mode", "clamp-var-add-std");
        expectGroup(allOnes, "TRL", backend, outcomeGroup(1, 1, 1, 1), "grpo", "credit.preset", "trl");
        expectGroup(allOnes, "OpenRLHF", backend, outcomeGroup(1, 1, 1, 1), "grpo", "credit.preset", "openrlhf");
        expectGroup(c.get("all_equal_group_[0,0,0,0]"), "verl", backend, outcomeGroup(0, 0, 0, 0), "grpo",
                "credit.preset", "verl");

        JsonNode singleton = c.get("singleton_group_[1] (group size 1)");
        expectGroup(singleton, "verl (mean:=0, std:=1 -> r/(1+1e-6))", backend, outcomeGroup(1), "grpo",
                "credit.preset", "verl");
        expectGroup(singleton, "verl_vectorized", backend, outcomeGroup(1), "grpo", "credit.preset", "verl",
                "credit.epsilon-mode", "clamp-var-add-std");
        expectGroup(singleton, "TRL num_generations=1 (std:=0 -> 0)", backend, outcomeGroup(1), "grpo",
                "credit.preset", "trl");

        List<Trajectory> continuous = outcomeGroup(0.2, 0.5, 0.9, 0.4);
        expectGroup(c.get("continuous_group_[0.2,0.5,0.9,0.4]"), "verl", backend, continuous, "grpo",
                "credit.preset", "verl");
        expectGroup(c.get("continuous_group_[0.2,0.5,0.9,0.4]"), "TRL group", backend, continuous, "grpo",
                "credit.preset", "trl");

        JsonNode nearConstant = c.get("near_constant_group_[1.0,1.0,1.0,1.0005] (verl vs vectorized differ)");
        List<Trajectory> near = outcomeGroup(1.0, 1.0, 1.0, 1.0005);
        expectGroup(nearConstant, "verl", backend, near, "grpo", "credit.preset", "verl");
        expectGroup(nearConstant, "verl_vectorized", backend, near, "grpo", "credit.preset", "verl",
                "credit.epsilon-mode", "clamp-var-add-std");
    }

    @ParameterizedTest
    @MethodSource("io.strawless.pipeline.credit.Scoring#backends")
    void trlGrpoScaleRewardsOverTwoGroups(String backend) {
        JsonNode c = golden.get("trl_grpo_scale_rewards_two_groups");
        double[] rewards = doubles(c.get("inputs").get("rewards"));
        List<Trajectory> batch = new ArrayList<>();
        for (int i = 0; i < rewards.length; i++) {
            batch.add(trajectory("t" + i, "g" + (i / 4), rewards[i], new double[2], null, allTrainable(2)));
        }
        for (String scale : List.of("group", "batch", "none")) {
            String key = scale.equals("batch") ? "batch (group mean, batch std)" : scale;
            List<Credit> credits = score(backend, batch, "grpo", "credit.preset", "trl", "credit.scale-rewards", scale);
            assertClose(doubles(c.get(key)), firstStepAdvantages(credits), "TRL scale_rewards=" + scale);
        }
    }

    @ParameterizedTest
    @MethodSource("io.strawless.pipeline.credit.Scoring#backends")
    void rlooInEachFramework(String backend) {
        JsonNode c = golden.get("rloo");
        JsonNode g = c.get("group_[1,0,1,1]");
        List<Trajectory> group = outcomeGroup(1, 0, 1, 1);
        expectGroup(g, "verl (n/(n-1)*(r-mean))", backend, group, "rloo", "credit.preset", "verl");
        expectGroup(g, "verl_vectorized", backend, group, "rloo", "credit.preset", "verl",
                "credit.singleton-group", "zero");
        expectGroup(g, "TRL (r - (sum-r)/(n-1))", backend, group, "rloo", "credit.preset", "trl");
        expectGroup(g, "TRL normalize_advantages=True", backend, group, "rloo", "credit.preset", "trl",
                "credit.normalize", "batch");
        expectGroup(g, "OpenRLHF rloo", backend, group, "rloo", "credit.preset", "openrlhf");

        JsonNode singleton = c.get("singleton_group_[0.7]");
        expectGroup(singleton, "verl non-vectorized (raw score kept!)", backend, outcomeGroup(0.7), "rloo",
                "credit.preset", "verl");
        expectGroup(singleton, "verl_vectorized (0)", backend, outcomeGroup(0.7), "rloo", "credit.preset", "verl",
                "credit.singleton-group", "zero");
        List<Credit> allEqual = score(backend, outcomeGroup(1, 1, 1, 1), "rloo", "credit.preset", "verl");
        assertClose(doubles(c.get("all_equal_[1,1,1,1]")), firstStepAdvantages(allEqual), "rloo all equal");
    }

    @ParameterizedTest
    @MethodSource("io.strawless.pipeline.credit.Scoring#backends")
    void reinforcePlusPlus(String backend) {
        JsonNode c = golden.get("reinforce_plus_plus");
        List<Trajectory> batch = new ArrayList<>();
        int[][] masks = new int[2][];
        for (int i = 0; i < 2; i++) {
            masks[i] = ints(c.get("inputs").get("response_mask").get(i));
            batch.add(trajectory("t" + i, null, Double.NaN, doubles(c.get("inputs").get("token_level_rewards").get(i)),
                    null, trainable(masks[i])));
        }
        expectSteps(c.get("verl gamma=1.0"), "advantages (unbiased var)", "returns", masks,
                score(backend, batch, "reinforce_pp", "credit.preset", "verl"));
        expectSteps(c.get("verl gamma=0.9"), "advantages", "returns", masks,
                score(backend, batch, "reinforce_pp", "credit.preset", "verl", "credit.gamma", "0.9"));
        expectSteps(c.get("OpenRLHF reinforce gamma=1 (biased var, clamp 1e-8)"), "advantages", "returns", masks,
                score(backend, batch, "reinforce_pp", "credit.preset", "openrlhf"));
    }

    @ParameterizedTest
    @MethodSource("io.strawless.pipeline.credit.Scoring#backends")
    void reinforcePlusPlusWithGroupBaseline(String backend) {
        JsonNode c = golden.get("reinforce_plus_plus_baseline");
        double[] scores = doubles(c.get("inputs").get("scores"));
        JsonNode masks = c.get("inputs").get("response_mask (lengths 3,2,2,3)");
        List<Trajectory> batch = new ArrayList<>();
        int[][] stepMasks = new int[scores.length][];
        for (int i = 0; i < scores.length; i++) {
            stepMasks[i] = ints(masks.get(i));
            batch.add(trajectory("t" + i, "q", scores[i], new double[stepMasks[i].length], null,
                    trainable(stepMasks[i])));
        }
        for (String framework : List.of("verl", "OpenRLHF")) {
            List<Credit> credits = score(backend, batch, "reinforce_pp_baseline", "credit.preset",
                    framework.toLowerCase());
            for (int i = 0; i < scores.length; i++) {
                double[] advantages = masked(doubles(c.get(framework).get(i)), stepMasks[i]);
                assertClose(advantages, credits.get(i).advantages(), framework + " trajectory " + i);
                // verl returns its whitened scores as the returns too; OpenRLHF's returns are the cumulative returns
                // of the baselined score, before its trainer whitens the advantages (gamma 1: the score less the
                // group's mean, 0.5, on every action token).
                double[] returns = new double[stepMasks[i].length];
                for (int s = 0; s < returns.length; s++) {
                    returns[s] = framework.equals("verl") ? advantages[s] : stepMasks[i][s] * (scores[i] - 0.5);
                }
                assertClose(returns, credits.get(i).returns(), framework + " returns of trajectory " + i);
            }
        }
    }

    /** ReMax: the outcome estimator with the greedy decode's reward as baseline. */
    @ParameterizedTest
    @MethodSource("io.strawless.pipeline.credit.Scoring#backends")
    void remaxIsTheOutcomeEstimatorWithTheGreedyBaseline(String backend) {
        JsonNode c = golden.get("remax");
        double[] rewards = doubles(c.get("inputs").get("token_level_rewards").get(0));
        double outcome = rewards[rewards.length - 1];
        List<Step> steps = new ArrayList<>();
        for (int s = 0; s < rewards.length; s++) {
            steps.add(new Step(s, Double.NaN, Double.NaN, true, null, Map.of()));
        }
        Trajectory t = new Trajectory("t", null, "task", outcome, TerminalKind.TERMINATED, Double.NaN,
                c.get("inputs").get("reward_baselines").get(0).asDouble(), steps);
        Credit credit = only(score(backend, List.of(t), "outcome"));
        assertClose(doubles(c.get("advantages").get(0)), credit.advantages(), "advantages");
        assertClose(doubles(c.get("returns").get(0)), credit.returns(), "returns");
    }

    @ParameterizedTest
    @MethodSource("io.strawless.pipeline.credit.Scoring#backends")
    void primeRecipeIsProcessWithVerlPreset(String backend) {
        JsonNode c = golden.get("prime_verl_recipe");
        JsonNode in = c.get("inputs");
        List<Trajectory> batch = new ArrayList<>();
        int[][] masks = new int[2][];
        for (int i = 0; i < 2; i++) {
            masks[i] = ints(in.get("response_mask").get(i));
            double[] prm = doubles(in.get("rm_scores (implicit PRM token rewards beta*log(pi/pi_ref), after prime_norm)")
                    .get(i));
            List<Step> steps = new ArrayList<>();
            for (int s = 0; s < prm.length; s++) {
                steps.add(new Step(s, Double.NaN, Double.NaN, masks[i][s] == 1, null, Map.of("implicit-prm", prm[s])));
            }
            batch.add(new Trajectory("t" + i, "q", "task", in.get("acc (verifier outcome)").get(i).asDouble(),
                    TerminalKind.TERMINATED, Double.NaN, Double.NaN, steps));
        }
        List<Credit> credits = score(backend, batch, "process", "credit.preset", "verl");
        expectSteps(c, "advantages (masked_whiten)", "returns (gamma=1 reverse cumsum)", masks, credits);
        // What the recurrence summed: each step's process reward as the batch reports it, and on the last trainable
        // step the baselined outcome, reward_gt_coef 5 times the outcome's leave-one-out difference.
        double[] acc = doubles(in.get("acc (verifier outcome)"));
        for (int i = 0; i < 2; i++) {
            double[] combined = credits.get(i).processRewards().clone();
            int last = -1;
            for (int s = 0; s < combined.length; s++) {
                if (masks[i][s] == 1) {
                    last = s;
                } else {
                    combined[s] = 0; // not trainable: no process reward (NaN), 0 in verl's masked tensor
                }
            }
            combined[last] += 5 * (acc[i] - acc[1 - i]);
            assertClose(doubles(c.get("combined_token_reward").get(i)), combined, "combined reward " + i);
        }
    }

    @ParameterizedTest
    @MethodSource("io.strawless.pipeline.credit.Scoring#backends")
    void deepSeekMathProcessSupervision(String backend) {
        JsonNode c = golden.get("deepseekmath_process_supervision_grpo");
        JsonNode rewards = c.get("inputs").get("step_rewards");
        JsonNode stepEnds = c.get("inputs").get("step_end_token_index");
        List<Trajectory> batch = new ArrayList<>();
        for (int i = 0; i < rewards.size(); i++) {
            List<Step> steps = new ArrayList<>();
            for (int s = 0; s < rewards.get(i).size(); s++) {
                steps.add(new Step(s, Double.NaN, Double.NaN, true, null, Map.of("prm", rewards.get(i).get(s).asDouble())));
            }
            batch.add(new Trajectory("t" + i, "q", "task", Double.NaN, TerminalKind.TERMINATED, Double.NaN,
                    Double.NaN, steps));
        }
        for (String std : List.of("unbiased", "biased")) {
            List<Credit> credits = score(backend, batch, "process", "credit.process-baseline", "group-norm",
                    "credit.outcome-coef", "0", "credit.epsilon", "0", "credit.std-ddof", std.equals("unbiased") ? "1" : "0");
            JsonNode tokens = c.get("token_advantages (" + std + " std)");
            for (int i = 0; i < rewards.size(); i++) {
                // A step's advantage is the one its tokens share: the token at the step's end.
                double[] expected = new double[rewards.get(i).size()];
                for (int s = 0; s < expected.length; s++) {
                    expected[s] = tokens.get(i).get(stepEnds.get(i).get(s).asInt()).asDouble();
                }
                assertClose(expected, credits.get(i).advantages(), std + " std, trajectory " + i);
            }
        }
    }

    /** VinePPO: Monte-Carlo values of each state; the step advantage is the TD residual with gamma 1. */
    @ParameterizedTest
    @MethodSource("io.strawless.pipeline.credit.Scoring#backends")
    void vinePpoIsGaeWithLambdaZeroOnMonteCarloValues(String backend) {
        JsonNode c = golden.get("vineppo");
        JsonNode rollouts = c.get("inputs").get("mc_rollout_rewards_from_s0,s1,s2");
        double[] values = new double[rollouts.size()];
        for (int s = 0; s < values.length; s++) {
            values[s] = mean(doubles(rollouts.get(s)));
        }
        assertClose(java.util.Arrays.copyOf(doubles(c.get("V(s_i)")), values.length), values, "V(s_i)");
        Trajectory t = trajectory("t", null, Double.NaN, doubles(c.get("inputs").get("step_rewards")), values,
                allTrainable(values.length));
        Credit credit = only(score(backend, List.of(t), "gae", "credit.gamma", "1", "credit.lambda", "0"));
        assertClose(doubles(c.get("step_advantages")), credit.advantages(), "step advantages");
    }

    /** MT-GRPO: a turn-level verifier reward on the first turn plus the outcome, each normalized in the group. */
    @ParameterizedTest
    @MethodSource("io.strawless.pipeline.credit.Scoring#backends")
    void multiTurnGrpoIsProcessWithGroupNorm(String backend) {
        JsonNode c = golden.get("mt_grpo_turn_level");
        double[] turn = doubles(c.get("inputs").get("turn_rewards"));
        double[] outcome = doubles(c.get("inputs").get("outcome_rewards"));
        List<Trajectory> batch = new ArrayList<>();
        for (int i = 0; i < turn.length; i++) {
            batch.add(new Trajectory("t" + i, "q", "task", outcome[i], TerminalKind.TERMINATED, Double.NaN, Double.NaN,
                    List.of(new Step(0, Double.NaN, Double.NaN, true, null, Map.of("turn-verifier", turn[i])),
                            new Step(1, Double.NaN, Double.NaN, true, null, Map.of()))));
        }
        List<Credit> credits = score(backend, batch, "process", "credit.process-baseline", "group-norm",
                "credit.epsilon", "1e-4", "credit.process-coef", c.get("inputs").get("turn_advantage_coef").asText());
        double[] before = doubles(c.get("tokens_before_first_tool_result"));
        double[] after = doubles(c.get("tokens_after"));
        for (int i = 0; i < turn.length; i++) {
            assertClose(new double[] {before[i], after[i]}, credits.get(i).advantages(), "trajectory " + i);
        }
    }

    @ParameterizedTest
    @MethodSource("io.strawless.pipeline.credit.Scoring#backends")
    void gigpoAnchorStateGroups(String backend) {
        JsonNode c = golden.get("gigpo");
        JsonNode rows = c.get("inputs").get("rows");
        List<Trajectory> batch = new ArrayList<>();
        for (String traj : List.of("A", "B")) {
            List<Step> steps = new ArrayList<>();
            for (JsonNode row : rows) {
                if (row.get("traj").asText().equals(traj)) {
                    steps.add(new Step(steps.size(), row.get("step_reward").asDouble(), Double.NaN, true,
                            row.get("obs").asText(), Map.of()));
                }
            }
            // verl-agent's episode reward is the sum of the step rewards: no separate outcome on top.
            batch.add(new Trajectory(traj, "q", "task", 0.0, TerminalKind.TERMINATED, Double.NaN, Double.NaN, steps));
        }
        String[] gigpo = {"credit.gamma", c.get("inputs").get("gamma").asText(),
                "credit.gigpo-step-weight", c.get("inputs").get("step_advantage_w").asText()};
        expectGigpo(c.get("mean_norm (verl-agent default)"), score(backend, batch, "gigpo",
                concat(gigpo, "credit.preset", "verl")));
        expectGigpo(c.get("mean_std_norm (episode stats: one entry per trajectory; langfengQ/DrMAS gigpo/core_gigpo.py)"),
                score(backend, batch, "gigpo", concat(gigpo, "credit.preset", "verl", "credit.scale-rewards", "group",
                        "credit.gigpo-episode-stats", "trajectory")));
        // verl-agent's default statistics, under its newer flag name too (compute_mean_std_cross_steps).
        expectGigpo(c.get("mean_std_norm (episode stats over all step rows; older verl-agent compute_mean_std_cross_all_data=True)"),
                score(backend, batch, "gigpo", concat(gigpo, "credit.preset", "verl", "credit.scale-rewards", "group")));
    }

    /**
     * The golden case's trajectories are of one length, where the two episode statistics agree under mean_norm.
     * Of lengths 3 and 1 they do not: verl-agent's default (and credit.preset=verl) counts each step row, so the
     * group mean of the episode rewards 1, 1, 1 and 0 is 0.75; one entry per trajectory makes it 0.5. Worked by hand
     * from episode_norm_reward; each state is seen once, so the step level adds 0.
     */
    @ParameterizedTest
    @MethodSource("io.strawless.pipeline.credit.Scoring#backends")
    void gigpoEpisodeStatisticsOfTrajectoriesOfDifferentLengths(String backend) {
        List<Step> longOne = List.of(new Step(0, 0.0, Double.NaN, true, "a0", Map.of()),
                new Step(1, 0.0, Double.NaN, true, "a1", Map.of()), new Step(2, 1.0, Double.NaN, true, "a2", Map.of()));
        List<Trajectory> batch = List.of(
                new Trajectory("A", "q", "task", 0.0, TerminalKind.TERMINATED, Double.NaN, Double.NaN, longOne),
                new Trajectory("B", "q", "task", 0.0, TerminalKind.TERMINATED, Double.NaN, Double.NaN,
                        List.of(new Step(0, 0.0, Double.NaN, true, "b0", Map.of()))));

        List<Credit> perStepRow = score(backend, batch, "gigpo", "credit.preset", "verl", "credit.gamma", "1");
        assertClose(new double[] {0.25, 0.25, 0.25}, perStepRow.get(0).advantages(), "A, per step row");
        assertClose(new double[] {-0.75}, perStepRow.get(1).advantages(), "B, per step row");

        List<Credit> perTrajectory = score(backend, batch, "gigpo", "credit.preset", "verl", "credit.gamma", "1",
                "credit.gigpo-episode-stats", "trajectory");
        assertClose(new double[] {0.5, 0.5, 0.5}, perTrajectory.get(0).advantages(), "A, per trajectory");
        assertClose(new double[] {-0.5}, perTrajectory.get(1).advantages(), "B, per trajectory");
    }

    private static void expectGigpo(JsonNode expectedRows, List<Credit> credits) {
        Set<String> expectedTrajectories = new TreeSet<>();
        expectedRows.forEach(row -> expectedTrajectories.add(row.get("traj").asText()));
        assertEquals(expectedTrajectories, credits.stream().map(Credit::trajectoryId).collect(Collectors.toCollection(TreeSet::new)),
                "a credit for every trajectory of the case");
        for (Credit credit : credits) {
            List<Double> advantages = new ArrayList<>();
            List<Double> returns = new ArrayList<>();
            for (JsonNode row : expectedRows) {
                if (row.get("traj").asText().equals(credit.trajectoryId())) {
                    advantages.add(row.get("A").asDouble());
                    returns.add(row.get("G").asDouble());
                }
            }
            assertClose(advantages.stream().mapToDouble(Double::doubleValue).toArray(), credit.advantages(),
                    "GiGPO A of " + credit.trajectoryId());
            assertClose(returns.stream().mapToDouble(Double::doubleValue).toArray(), credit.returns(),
                    "GiGPO G of " + credit.trajectoryId());
        }
    }

    private static void expectGroup(JsonNode parent, String key, String backend, List<Trajectory> group,
                                    String estimator, String... options) {
        List<Credit> credits = score(backend, group, estimator, options);
        assertClose(doubles(parent.get(key)), firstStepAdvantages(credits), estimator + " " + key);
        for (Credit credit : credits) {
            // The middle step is a tool step: no credit. The two trainable steps share the trajectory's advantage.
            assertClose(new double[] {credit.advantages()[0], 0, credit.advantages()[0]}, credit.advantages(),
                    "broadcast onto trainable steps");
            assertClose(credit.advantages(), credit.returns(), "return equals advantage");
        }
    }

    private static void expectSteps(JsonNode parent, String advantagesKey, String returnsKey, int[][] masks,
                                    List<Credit> credits) {
        assertEquals(parent.get(advantagesKey).size(), credits.size(), "a credit for every trajectory of " + advantagesKey);
        for (int i = 0; i < credits.size(); i++) {
            assertClose(masked(doubles(parent.get(advantagesKey).get(i)), masks[i]), credits.get(i).advantages(),
                    advantagesKey + " of trajectory " + i);
            assertClose(masked(doubles(parent.get(returnsKey).get(i)), masks[i]), credits.get(i).returns(),
                    returnsKey + " of trajectory " + i);
        }
    }

    private static Credit only(List<Credit> credits) {
        return credits.get(0);
    }

    /** The frameworks' values with masked (non-trainable) entries set to the 0 our contract gives them. */
    private static double[] masked(double[] values, int[] mask) {
        double[] out = values.clone();
        for (int i = 0; i < out.length; i++) {
            if (mask[i] == 0) {
                out[i] = 0;
            }
        }
        return out;
    }

    private static double[] doubles(JsonNode array) {
        double[] out = new double[array.size()];
        for (int i = 0; i < out.length; i++) {
            out[i] = array.get(i).asDouble();
        }
        return out;
    }

    private static int[] ints(JsonNode array) {
        int[] out = new int[array.size()];
        for (int i = 0; i < out.length; i++) {
            out[i] = array.get(i).asInt();
        }
        return out;
    }

    private static double[] append(double[] values, double last) {
        double[] out = java.util.Arrays.copyOf(values, values.length + 1);
        out[values.length] = last;
        return out;
    }

    private static double mean(double[] values) {
        return java.util.Arrays.stream(values).average().orElseThrow();
    }

    private static String[] concat(String[] first, String... more) {
        String[] out = java.util.Arrays.copyOf(first, first.length + more.length);
        System.arraycopy(more, 0, out, first.length, more.length);
        return out;
    }
}
