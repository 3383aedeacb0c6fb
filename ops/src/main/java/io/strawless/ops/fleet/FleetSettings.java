package io.strawless.ops.fleet;

import com.fasterxml.jackson.annotation.JsonIgnore;
import com.fasterxml.jackson.annotation.JsonProperty;
import java.time.Duration;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Set;

/**
 * Size and behaviour of the synthetic agent fleet.
 *
 * <p>Every policy step has a hidden quality, good or bad: a trajectory's steps are good at its agent's
 * competence on the task, its success depends on its share of good steps (with noise), and verifiers
 * judge steps as imperfectly as their profiles say. The hidden quality never reaches the input topics;
 * the {@link FleetLedger} keeps it for an evaluator.
 *
 * @param agents              agents working in parallel; each runs its trajectories one after another
 * @param tasks               distinct tasks (prompts)
 * @param trajectories        trajectories in the whole run (the run length); tasks are sampled round after
 *                            round, one group of {@code groupSize} trajectories per sampling
 * @param groupSize           trajectories per sampling of a task (GRPO-style group)
 * @param minSteps            fewest steps in a trajectory
 * @param maxSteps            most steps in a trajectory
 * @param malformedShare      chance that a record is followed by a malformed one (garbage or truncated Avro)
 *                            on the same topic
 * @param missingOutcomeShare chance that a trajectory's outcome is never sent
 * @param verdictShare        chance that a trajectory is put before the verifiers at all
 * @param seed                seed of the fleet's random choices: the same seed sends the same records
 * @param outcomeNoise        standard deviation of the noise on a trajectory's share of good steps before it
 *                            is compared with 1/2: its success is {@code goodShare + noise >= 0.5}
 * @param rewardHackShare     chance that a trajectory hacks its reward: it succeeds although nearly all its
 *                            steps are bad
 * @param verifiers           the verifiers that judge the steps of a verified trajectory
 * @param tokensPerStep       token ids each policy step carries; 0 for 4 to 16 at random, short for an LLM's turn
 *                            but enough to exercise the codecs (a bench sets it to see how size weighs)
 *
 * <p>Invalid values are refused with a message that names the setting as the commands' flags do.
 */
public record FleetSettings(
    int agents,
    int tasks,
    int trajectories,
    int groupSize,
    int minSteps,
    int maxSteps,
    double malformedShare,
    double missingOutcomeShare,
    double verdictShare,
    long seed,
    double outcomeNoise,
    double rewardHackShare,
    List<VerifierProfile> verifiers,
    int tokensPerStep) {

  public static final double DEFAULT_OUTCOME_NOISE = 0.1;

  /**
   * The demo's verifiers: two, judging few steps, about as many verdicts as a trajectory in four gets
   * in production today.
   */
  public static final List<VerifierProfile> DEMO_VERIFIERS = List.of(
      new VerifierProfile("step-checker", 0.9, 0.0, 0.15, Duration.ofMillis(100)),
      new VerifierProfile("reward-model", 0.75, 0.05, 0.15, Duration.ofMillis(150)));

  /** A fleet without reward hacking, judged by the {@link #DEMO_VERIFIERS}. */
  public FleetSettings(int agents, int tasks, int trajectories, int groupSize, int minSteps, int maxSteps,
      double malformedShare, double missingOutcomeShare, double verdictShare, long seed) {
    this(agents, tasks, trajectories, groupSize, minSteps, maxSteps, malformedShare, missingOutcomeShare,
        verdictShare, seed, DEFAULT_OUTCOME_NOISE, 0.0, DEMO_VERIFIERS);
  }

  /** Policy steps with 4 to 16 token ids. */
  public FleetSettings(int agents, int tasks, int trajectories, int groupSize, int minSteps, int maxSteps,
      double malformedShare, double missingOutcomeShare, double verdictShare, long seed, double outcomeNoise,
      double rewardHackShare, List<VerifierProfile> verifiers) {
    this(agents, tasks, trajectories, groupSize, minSteps, maxSteps, malformedShare, missingOutcomeShare,
        verdictShare, seed, outcomeNoise, rewardHackShare, verifiers, 0);
  }

  /** The same fleet with {@code count} token ids in each policy step (0: 4 to 16 at random). */
  public FleetSettings withTokensPerStep(int count) {
    return new FleetSettings(agents, tasks, trajectories, groupSize, minSteps, maxSteps, malformedShare,
        missingOutcomeShare, verdictShare, seed, outcomeNoise, rewardHackShare, verifiers, count);
  }

  public FleetSettings {
    requirePositive("agents", agents);
    requirePositive("tasks", tasks);
    requirePositive("trajectories", trajectories);
    requirePositive("group-size", groupSize);
    requirePositive("min-steps", minSteps);
    if (maxSteps < minSteps) {
      throw new IllegalArgumentException("max-steps must be at least min-steps (" + minSteps + "), was " + maxSteps);
    }
    requireShare("malformed-share", malformedShare);
    requireShare("missing-outcome-share", missingOutcomeShare);
    requireShare("verdict-share", verdictShare);
    if (!(outcomeNoise >= 0 && Double.isFinite(outcomeNoise))) {
      throw new IllegalArgumentException("outcome-noise must be a number at least 0, was " + outcomeNoise);
    }
    requireShare("reward-hack-share", rewardHackShare);
    if (tokensPerStep < 0) {
      throw new IllegalArgumentException("tokens-per-step must be at least 0 (0: 4 to 16 at random), was "
          + tokensPerStep);
    }
    verifiers = List.copyOf(verifiers);
    Set<String> ids = new HashSet<>();
    for (VerifierProfile verifier : verifiers) {
      if (!ids.add(verifier.id())) {
        throw new IllegalArgumentException("verifiers must have distinct ids, '" + verifier.id() + "' comes twice");
      }
    }
  }

  /**
   * How one verifier behaves. It judges each policy step of a verified trajectory with probability {@code
   * coverage}; it calls a good step good with probability {@code accuracy + bias} (its sensitivity) and a bad
   * step bad with probability {@code accuracy - bias} (its specificity), both clamped to [0, 1]; and its verdict
   * comes between 0 and twice {@code meanDelay} after the step. Accuracy 0.5 with bias 0.5 always says good.
   * A verdict's score is in [0.55, 1] when it says good and in [0, 0.45] when it says bad.
   */
  public record VerifierProfile(String id, double accuracy, double bias, double coverage,
      @JsonIgnore Duration meanDelay) {

    public VerifierProfile {
      if (id == null || id.isBlank() || id.contains(":") || id.contains(",")) {
        throw new IllegalArgumentException("verifiers: an id must be a non-empty name without ':' or ',', was '" + id + "'");
      }
      requireIn("verifiers: accuracy of " + id, accuracy, 0, 1);
      requireIn("verifiers: bias of " + id, bias, -1, 1);
      requireIn("verifiers: coverage of " + id, coverage, 0, 1);
      if (meanDelay.isNegative()) {
        throw new IllegalArgumentException("verifiers: delay of " + id + " must not be negative, was " + meanDelay);
      }
    }

    /** Reads {@code id:accuracy:bias:coverage:delay-ms}, e.g. {@code checker:0.95:0:0.9:100}. */
    public static VerifierProfile parse(String spec) {
      String[] parts = spec.trim().split(":");
      if (parts.length != 5) {
        throw new IllegalArgumentException("verifiers: '" + spec + "' is not id:accuracy:bias:coverage:delay-ms");
      }
      try {
        return new VerifierProfile(parts[0], Double.parseDouble(parts[1]), Double.parseDouble(parts[2]),
            Double.parseDouble(parts[3]), Duration.ofMillis(Long.parseLong(parts[4])));
      } catch (NumberFormatException e) {
        throw new IllegalArgumentException("verifiers: '" + spec + "' has a part that is not a number");
      }
    }

    /** Reads a comma-separated list of {@link #parse} specs. */
    public static List<VerifierProfile> parseAll(String specs) {
      return specs.isBlank() ? List.of() : java.util.Arrays.stream(specs.split(",")).map(VerifierProfile::parse).toList();
    }

    /** The mean delay as reports write it (JSON has no duration type). */
    @JsonProperty("mean_delay_ms")
    public long meanDelayMillis() {
      return meanDelay.toMillis();
    }

    /** Chance that it calls a good step good. */
    public double sensitivity() {
      return Math.min(1, Math.max(0, accuracy + bias));
    }

    /** Chance that it calls a bad step bad. */
    public double specificity() {
      return Math.min(1, Math.max(0, accuracy - bias));
    }

    /** The {@link #parse} form. */
    @Override
    public String toString() {
      return String.format(Locale.ROOT, "%s:%s:%s:%s:%d", id, accuracy, bias, coverage, meanDelay.toMillis());
    }
  }

  private static void requirePositive(String name, int value) {
    if (value < 1) {
      throw new IllegalArgumentException(name + " must be at least 1, was " + value);
    }
  }

  private static void requireShare(String name, double value) {
    requireIn(name, value, 0, 1);
  }

  private static void requireIn(String name, double value, double min, double max) {
    if (!(value >= min && value <= max)) {
      throw new IllegalArgumentException(name + " must be between " + format(min) + " and " + format(max) + ", was " + value);
    }
  }

  private static String format(double bound) {
    return bound == Math.rint(bound) ? Long.toString((long) bound) : Double.toString(bound);
  }
}
