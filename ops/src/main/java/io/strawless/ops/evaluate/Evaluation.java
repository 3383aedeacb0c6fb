package io.strawless.ops.evaluate;

import io.strawless.ops.demo.CreditOutput;
import io.strawless.ops.fleet.FleetLedger;
import io.strawless.ops.fleet.FleetLedger.SentTrajectory;
import io.strawless.ops.fleet.FleetLedger.SentVerdict;
import io.strawless.pipeline.credit.Estimator;
import io.strawless.schemas.ScoredStep;
import io.strawless.schemas.ScoredTrajectory;
import io.strawless.schemas.TrainingBatch;
import io.strawless.schemas.UnscoredReason;
import io.strawless.schemas.UnscoredTrajectory;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;

/**
 * How one estimator's run did against the fleet's ground truth, which only the evaluator sees.
 *
 * @param estimator          the credit estimator the job ran
 * @param stepAuc            step-level AUC of the advantages against the hidden quality, over the policy steps a
 *                           trainer trains on: those of every trajectory in a committed batch with a weight above 0
 *                           (a suspect flagged by the quarantine weighs 0, and its credit teaches nothing; see
 *                           {@link StepAuc}); NaN when nothing was scored
 * @param scoredTrajectories trajectories in committed batches
 * @param scoredSteps        the policy steps the AUC ranks
 * @param verifiers          each verifier's true reliability next to the one the job had learnt by its last batch
 * @param quarantine         the suspects the job marked (flagged in a batch, or unscored as SUSPECT) against the
 *                           reward hacks it could have caught (those whose outcome was sent)
 * @param duration           the run, job start to read-back
 */
public record Evaluation(
    Estimator estimator,
    double stepAuc,
    long scoredTrajectories,
    long scoredSteps,
    Map<String, VerifierEstimate> verifiers,
    QuarantineScore quarantine,
    Duration duration) {

  /**
   * Reliability as the job reports it, balanced accuracy (sensitivity + specificity) / 2.
   *
   * @param truth  from the fleet's verdicts and the hidden step qualities
   * @param learnt the job's estimate in its last batch; NaN when no batch named the verifier
   */
  public record VerifierEstimate(double truth, double learnt) {
    public double error() {
      return Math.abs(learnt - truth);
    }
  }

  /** What the quarantine caught: {@code caught} of {@code hacks} reward hacks, and {@code falseAlarms} honest trajectories. */
  public record QuarantineScore(int caught, int falseAlarms, int hacks) {
    /** Share of suspects that were hacks; NaN without suspects. */
    public double precision() {
      return caught + falseAlarms == 0 ? Double.NaN : caught / (double) (caught + falseAlarms);
    }

    /** Share of hacks that were suspected; NaN without hacks. */
    public double recall() {
      return hacks == 0 ? Double.NaN : caught / (double) hacks;
    }
  }

  /** The largest error among the verifiers (NaN when the job learnt nothing of one of them). */
  public double reliabilityMaxError() {
    double max = 0;
    for (VerifierEstimate estimate : verifiers.values()) {
      if (Double.isNaN(estimate.error())) {
        return Double.NaN;
      }
      max = Math.max(max, estimate.error());
    }
    return verifiers.isEmpty() ? Double.NaN : max;
  }

  /** Grades what the job published ({@code output}) against what the fleet knows ({@code ledger}). */
  public static Evaluation of(Estimator estimator, FleetLedger ledger, CreditOutput output, Duration duration) {
    List<Double> credit = new ArrayList<>();
    List<Boolean> good = new ArrayList<>();
    Set<String> suspects = new HashSet<>();
    long trajectories = 0;
    for (TrainingBatch batch : output.batches()) {
      for (ScoredTrajectory scored : batch.getTrajectories()) {
        trajectories++;
        SentTrajectory sent = ledger.trajectories().get(scored.getTrajectoryId());
        for (ScoredStep step : scored.getSteps()) {
          if (step.getTrainable() && scored.getWeight() > 0) {
            credit.add(step.getAdvantage());
            good.add(sent.truth().goodSteps().get(step.getStepIndex()));
          }
        }
        if (scored.getSuspect()) {
          suspects.add(scored.getTrajectoryId());
        }
      }
    }
    for (UnscoredTrajectory unscored : output.unscored()) {
      if (unscored.getReason() == UnscoredReason.SUSPECT) {
        suspects.add(unscored.getTrajectoryId());
      }
    }
    double[] credits = credit.stream().mapToDouble(Double::doubleValue).toArray();
    boolean[] goods = new boolean[good.size()];
    for (int i = 0; i < goods.length; i++) {
      goods[i] = good.get(i);
    }
    return new Evaluation(estimator, StepAuc.of(credits, goods), trajectories, credits.length,
        verifiers(ledger, lastReliabilities(output)), quarantine(ledger, suspects), duration);
  }

  /** The reliabilities recorded in the batch made last: the job's newest estimate. */
  private static Map<String, Double> lastReliabilities(CreditOutput output) {
    return output.batches().stream()
        .max(Comparator.comparing(TrainingBatch::getCreatedAt))
        .<Map<String, Double>>map(TrainingBatch::getVerifierReliability)
        .orElse(Map.of());
  }

  private static Map<String, VerifierEstimate> verifiers(FleetLedger ledger, Map<String, Double> learnt) {
    Map<String, long[]> counts = new TreeMap<>(); // verifier -> {good steps, said good of them, bad steps, said bad of them}
    for (SentTrajectory t : ledger.trajectories().values()) {
      for (SentVerdict verdict : t.verdictsSent()) {
        long[] c = counts.computeIfAbsent(verdict.verifierId(), v -> new long[4]);
        if (t.truth().goodSteps().get(verdict.stepIndex())) {
          c[0]++;
          c[1] += verdict.saidGood() ? 1 : 0;
        } else {
          c[2]++;
          c[3] += verdict.saidGood() ? 0 : 1;
        }
      }
    }
    Map<String, VerifierEstimate> estimates = new TreeMap<>();
    counts.forEach((verifier, c) -> estimates.put(verifier, new VerifierEstimate(
        (c[1] / (double) c[0] + c[3] / (double) c[2]) / 2, learnt.getOrDefault(verifier, Double.NaN))));
    return estimates;
  }

  private static QuarantineScore quarantine(FleetLedger ledger, Set<String> suspects) {
    int caught = 0;
    int falseAlarms = 0;
    int hacks = 0;
    for (SentTrajectory t : ledger.trajectories().values()) {
      boolean hack = t.truth().rewardHack() && t.outcome().isPresent(); // without an outcome nothing is to judge
      boolean suspect = suspects.contains(t.trajectoryId());
      hacks += hack ? 1 : 0;
      caught += hack && suspect ? 1 : 0;
      falseAlarms += suspect && !hack ? 1 : 0;
    }
    return new QuarantineScore(caught, falseAlarms, hacks);
  }
}
