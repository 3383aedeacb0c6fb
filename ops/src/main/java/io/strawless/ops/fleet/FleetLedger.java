package io.strawless.ops.fleet;

import java.util.List;
import java.util.Map;
import java.util.OptionalDouble;

/**
 * What the fleet sent, in the terms the job's output is checked against: each trajectory with its steps
 * and outcome, and each malformed record byte for byte.
 *
 * @param trajectories by trajectory id, in the order they were generated
 * @param malformed    the malformed records, in send order
 */
public record FleetLedger(Map<String, SentTrajectory> trajectories, List<MalformedRecord> malformed) {

  /**
   * One trajectory as sent.
   *
   * @param trainable per step index, whether the policy produced the step (false for tool output)
   * @param outcome   the outcome reward, empty when the fleet withheld the outcome
   * @param verdicts  how many verifier signals were sent for it
   */
  public record SentTrajectory(
      String trajectoryId,
      String agentId,
      String taskId,
      String groupId,
      int groupSize,
      List<Boolean> trainable,
      OptionalDouble outcome,
      int verdicts) {

    public int steps() {
      return trainable.size();
    }
  }

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
