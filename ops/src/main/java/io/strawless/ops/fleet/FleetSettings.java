package io.strawless.ops.fleet;

/**
 * Size and behaviour of the synthetic agent fleet.
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
 * @param verdictShare        chance that a trajectory gets verifier signals on some of its steps
 * @param seed                seed of the fleet's random choices: the same seed sends the same records
 *
 * <p>Invalid values are refused with a message that names the setting as {@code strawless demo}'s flag does.
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
    long seed) {

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
  }

  private static void requirePositive(String name, int value) {
    if (value < 1) {
      throw new IllegalArgumentException(name + " must be at least 1, was " + value);
    }
  }

  private static void requireShare(String name, double value) {
    if (!(value >= 0 && value <= 1)) {
      throw new IllegalArgumentException(name + " must be between 0 and 1, was " + value);
    }
  }
}
