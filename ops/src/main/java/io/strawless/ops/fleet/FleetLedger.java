package io.strawless.ops.fleet;

import java.util.List;
import java.util.Map;
import java.util.OptionalDouble;

/**
 * What the fleet sent, in the terms the job's output is checked against: each trajectory with its steps,
 * outcome and verdicts, and each malformed record byte for byte. It also holds the ground truth that the
 * records do not carry (each step's hidden quality, which trajectories hacked their reward), so that an
 * evaluator can grade the job's credit; that truth exists only here, never on a topic.
 *
 * @param trajectories by trajectory id, in the order they were generated
 * @param malformed    the malformed records, in send order
 */
public record FleetLedger(Map<String, SentTrajectory> trajectories, List<MalformedRecord> malformed) {

  /**
   * One trajectory as sent.
   *
   * @param trainable    per step index, whether the policy produced the step (false for tool output)
   * @param outcome      the outcome reward, empty when the fleet withheld the outcome
   * @param verdictsSent the verifier signals sent for it, in send order
   * @param truth        what the job must find out for itself
   */
  public record SentTrajectory(
      String trajectoryId,
      String agentId,
      String taskId,
      String groupId,
      int groupSize,
      List<Boolean> trainable,
      OptionalDouble outcome,
      List<SentVerdict> verdictsSent,
      GroundTruth truth) {

    public int steps() {
      return trainable.size();
    }

    /** How many verifier signals were sent for it. */
    public int verdicts() {
      return verdictsSent.size();
    }
  }

  /**
   * One verifier signal as sent.
   *
   * @param saidGood what the verifier meant: its score is at least 0.55 when true, at most 0.45 when false
   */
  public record SentVerdict(int stepIndex, String verifierId, boolean saidGood) {}

  /**
   * The hidden truth of one trajectory.
   *
   * @param goodSteps  per step index, whether the step was good; only policy steps have a quality (tool output:
   *                   false)
   * @param rewardHack whether it succeeded although nearly all its steps were bad: its outcome is not to be believed
   */
  public record GroundTruth(List<Boolean> goodSteps, boolean rewardHack) {}

  /** A record that must not decode: random bytes, or a valid encoding cut short. */
  public record MalformedRecord(InputTopic topic, byte[] key, byte[] value, Kind kind) {
    public enum Kind { GARBAGE, TRUNCATED }
  }

  public long validSteps() {
    return trajectories.values().stream().mapToLong(SentTrajectory::steps).sum();
  }

  public long outcomesSent() {
    return trajectories.values().stream().filter(t -> t.outcome().isPresent()).count();
  }

  public long verdictsSent() {
    return trajectories.values().stream().mapToLong(SentTrajectory::verdicts).sum();
  }

  public long malformed(InputTopic topic) {
    return malformed.stream().filter(m -> m.topic() == topic).count();
  }
}
