package io.strawless.ops.demo;

import com.fasterxml.jackson.annotation.JsonProperty;
import io.strawless.ops.fleet.InputTopic;
import io.strawless.schemas.UnscoredReason;
import java.util.List;
import java.util.Map;
import org.apache.flink.configuration.ReadableConfig;

/**
 * The promise "nothing that enters is silently dropped", checked per input topic: every record on it is in
 * a committed batch, in the dead-letter topic, or inside an unscored trajectory.
 *
 * <p>Steps and outcomes can be counted on the output side (a scored trajectory lists its steps and used one
 * outcome). Verifier signals cannot: a batch does not list the signals that went into it, so the verdict
 * topic is not part of the balance.
 *
 * <p>It counts the records as the demo's fleet sends them: no identical copies and no outcome revisions, which the
 * job drops and counts (its books, {@code ledger.<kind>.dropped}, balance with them; this topic-side count has no
 * place for them). A LATE_REVISION record carries the outcome that was scored as well as the late revision: only the
 * revision counts here, the scored one is in its batch.
 */
public record Reconciliation(Balance steps, Balance outcomes) {

  /** One input topic: records in, and where they ended. */
  public record Balance(String topic, long in, long scored, long deadLettered, long unscored) {
    @JsonProperty("holds")
    public boolean holds() {
      return in == scored + deadLettered + unscored;
    }
  }

  public boolean holds() {
    return steps.holds() && outcomes.holds();
  }

  public List<Balance> balances() {
    return List.of(steps, outcomes);
  }

  /**
   * @param recordsIn records on each input topic, by topic name
   * @param output    everything the job published, read committed
   */
  public static Reconciliation of(Map<String, Long> recordsIn, CreditOutput output, ReadableConfig conf) {
    String steps = InputTopic.STEPS.name(conf);
    String outcomes = InputTopic.OUTCOMES.name(conf);
    return new Reconciliation(
        new Balance(steps, recordsIn.getOrDefault(steps, 0L),
            output.scoredSteps(),
            output.deadLettersFrom(steps),
            output.unscored().stream().mapToLong(u -> u.getSteps().size()).sum()),
        new Balance(outcomes, recordsIn.getOrDefault(outcomes, 0L),
            // A trajectory scored without its outcome (job.outcome-timeout-policy=PROCESS_ONLY) used none.
            output.scoredTrajectories().filter(t -> !t.getOutcomeTimedOut()).count(),
            output.deadLettersFrom(outcomes),
            output.unscored().stream()
                .mapToLong(u -> u.getReason() == UnscoredReason.LATE_REVISION ? 1 : u.getOutcomes().size())
                .sum()));
  }
}
