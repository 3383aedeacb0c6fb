package io.strawless.ops.demo;

import com.fasterxml.jackson.annotation.JsonProperty;
import io.strawless.connectors.KafkaOptions;
import io.strawless.ops.fleet.InputTopic;
import io.strawless.schemas.UnscoredReason;
import io.strawless.schemas.UnscoredTrajectory;
import java.util.List;
import java.util.Map;
import org.apache.flink.configuration.ConfigOption;
import org.apache.flink.configuration.ReadableConfig;

/**
 * The promise "nothing that enters is silently dropped", checked per input topic: every record on it is in
 * a committed batch, in the dead-letter topic, or inside an unscored trajectory.
 *
 * <p>Steps and outcomes can be counted on the output side (a scored trajectory lists its steps and used one
 * outcome). Verifier signals cannot: a batch does not list the signals that went into it, so the verdict
 * topic is not part of the balance, and no more is a topic that carries verdicts beside steps or outcomes
 * ({@link #requireBalanceable}).
 *
 * <p>Where steps and outcomes share one topic ({@code topics.outcomes} the same as {@code topics.steps}), that
 * topic has one balance, of both kinds together: the broker counts its records, and the dead-letter topic names
 * it for each of its dead letters, without telling the kinds apart.
 *
 * <p>It counts the records as the demo's fleet sends them: no identical copies and no outcome revisions, which the
 * job drops and counts (its books, {@code ledger.<kind>.dropped}, balance with them; this topic-side count has no
 * place for them). A LATE_REVISION record carries the outcome that was scored as well as the late revision: only the
 * revision counts here, the scored one is in its batch.
 *
 * @param steps    the balance of the steps topic
 * @param outcomes the balance of the outcomes topic: the same as {@code steps} where the two kinds share it
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
    return balances().stream().allMatch(Balance::holds);
  }

  /** One balance per input topic: the steps topic's, and the outcomes topic's where it is another. */
  public List<Balance> balances() {
    return steps.topic().equals(outcomes.topic()) ? List.of(steps) : List.of(steps, outcomes);
  }

  /**
   * @param recordsIn records on each input topic, by topic name
   * @param output    everything the job published, read committed
   */
  public static Reconciliation of(Map<String, Long> recordsIn, CreditOutput output, ReadableConfig conf) {
    String steps = InputTopic.STEPS.name(conf);
    String outcomes = InputTopic.OUTCOMES.name(conf);
    long scoredSteps = output.scoredSteps();
    long unscoredSteps = output.unscored().stream().mapToLong(u -> u.getSteps().size()).sum();
    // A trajectory scored without its outcome (job.outcome-timeout-policy=PROCESS_ONLY) used none.
    long scoredOutcomes = output.scoredTrajectories().filter(t -> !t.getOutcomeTimedOut()).count();
    long unscoredOutcomes = output.unscored().stream().mapToLong(Reconciliation::outcomesUnscored).sum();
    if (steps.equals(outcomes)) {
      Balance both = new Balance(steps, recordsIn.getOrDefault(steps, 0L), scoredSteps + scoredOutcomes,
          output.deadLettersFrom(steps), unscoredSteps + unscoredOutcomes);
      return new Reconciliation(both, both);
    }
    return new Reconciliation(
        new Balance(steps, recordsIn.getOrDefault(steps, 0L), scoredSteps, output.deadLettersFrom(steps),
            unscoredSteps),
        new Balance(outcomes, recordsIn.getOrDefault(outcomes, 0L), scoredOutcomes, output.deadLettersFrom(outcomes),
            unscoredOutcomes));
  }

  /**
   * The outcome records an unscored trajectory stands for, as the job's books count them {@code unscored}: a
   * LATE_REVISION only its late revision (the one it carries beside it, which its trajectory was emitted with, is
   * counted where that trajectory went), any other every outcome it carries.
   */
  public static long outcomesUnscored(UnscoredTrajectory unscored) {
    return unscored.getReason() == UnscoredReason.LATE_REVISION ? 1 : unscored.getOutcomes().size();
  }

  /**
   * Refuses a verdicts topic that is also the steps or the outcomes topic: the output does not list the verdicts
   * that went into a batch, so that topic's records could not be balanced, and the run would fail however right the
   * job was. Steps and outcomes may share a topic.
   *
   * @throws IllegalArgumentException naming the keys, for the checks a command makes before anything starts
   */
  public static void requireBalanceable(ReadableConfig conf) {
    String verdicts = conf.get(KafkaOptions.VERDICTS_TOPIC);
    for (ConfigOption<String> balanced : List.of(KafkaOptions.STEPS_TOPIC, KafkaOptions.OUTCOMES_TOPIC)) {
      if (conf.get(balanced).equals(verdicts)) {
        throw new IllegalArgumentException(KafkaOptions.VERDICTS_TOPIC.key() + "=" + verdicts + " is also "
            + balanced.key() + ": the demo balances each input topic's records against the output, which does not"
            + " list the verdicts a batch used; give the verdicts a topic of their own");
      }
    }
  }
}
