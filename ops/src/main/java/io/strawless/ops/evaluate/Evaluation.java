package io.strawless.ops.evaluate;

import io.strawless.ops.demo.CreditOutput;
import io.strawless.ops.fleet.FleetLedger;
import io.strawless.ops.fleet.FleetLedger.SentTrajectory;
import io.strawless.ops.fleet.FleetLedger.SentVerdict;
import io.strawless.pipeline.batching.ScoreAndBatch;
import io.strawless.pipeline.credit.Estimator;
import io.strawless.schemas.ScoredStep;
import io.strawless.schemas.ScoredTrajectory;
import io.strawless.schemas.TrainingBatch;
import io.strawless.schemas.UnscoredReason;
import io.strawless.schemas.UnscoredTrajectory;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;

/**
 * How one estimator's run did against the fleet's ground truth, which only the evaluator sees.
 *
 * @param estimator          the credit estimator the job ran
 * @param configFingerprint  the {@code config_fingerprint} of the run's batches, the rule their numbers were
 *                           computed by; null when there was no batch
 * @param stepAuc            step-level AUC of the advantages against the hidden quality, over the policy steps a
 *                           trainer trains on: those of every trajectory in a committed batch with a weight above 0
 *                           (a suspect flagged by the quarantine weighs 0, and its credit teaches nothing; see
 *                           {@link StepAuc}); NaN when nothing was scored
 * @param scoredTrajectories trajectories in committed batches
 * @param scoredSteps        the policy steps the AUC ranks
 * @param buckets            the batching buckets that made a batch: each learnt a reliability model of its own
 * @param verifiers          each verifier's true reliability next to what each bucket's final model had learnt
 * @param quarantine         the suspects the job marked (flagged in a batch, or unscored as SUSPECT) against the
 *                           reward hacks it could have judged (see {@link QuarantineScore})
 * @param duration           the run, job start to read-back
 */
public record Evaluation(
    Estimator estimator,
    String configFingerprint,
    double stepAuc,
    long scoredTrajectories,
    long scoredSteps,
    int buckets,
    Map<String, VerifierEstimate> verifiers,
    QuarantineScore quarantine,
    Duration duration) {

  /**
   * Reliability as the job reports it, balanced accuracy (sensitivity + specificity) / 2. The job learns it per
   * batching bucket, one per parallel instance of its scoring stage, each from the groups of its own tasks; so each
   * bucket's final model is graded, and the worst one counts.
   *
   * @param truth           from the fleet's verdicts and the hidden step qualities
   * @param learntByBucket  each bucket's estimate in its last batch, in bucket order; NaN for a bucket whose model
   *                        does not name the verifier
   */
  public record VerifierEstimate(double truth, List<Double> learntByBucket) {
    /** The largest distance from the truth among the buckets; NaN without buckets, or when one learnt nothing. */
    public double error() {
      double worst = learntByBucket.isEmpty() ? Double.NaN : 0;
      for (double learnt : learntByBucket) {
        worst = Math.max(worst, Math.abs(learnt - truth)); // Math.max keeps a NaN
      }
      return worst;
    }

    /** The estimate whose error {@link #error} reports, the bucket's furthest from the truth; NaN where that is. */
    public double learnt() {
      double error = error();
      return learntByBucket.stream()
          .filter(learnt -> Math.abs(learnt - truth) == error)
          .findFirst()
          .orElse(Double.NaN);
    }
  }

  /**
   * What the quarantine caught: {@code caught} of the {@code hacks} reward hacks it could have judged, and {@code
   * falseAlarms} honest trajectories. It can judge a hack whose outcome came and that at least one verdict was sent
   * for: it compares the outcome with the verdicts. The {@code unjudgedHacks} had no outcome or no verdict (as under
   * the fleet's --verdict-share), and count in neither figure: they measure the fleet's verifier coverage, not the
   * quarantine's rule.
   */
  public record QuarantineScore(int caught, int falseAlarms, int hacks, int unjudgedHacks) {
    /** Share of suspects that were hacks; NaN without suspects. */
    public double precision() {
      return caught + falseAlarms == 0 ? Double.NaN : caught / (double) (caught + falseAlarms);
    }

    /** Share of the hacks it could have judged that were suspected; NaN without such hacks. */
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

  /**
   * Grades what the job published ({@code output}) against what the fleet knows ({@code ledger}).
   *
   * @param parallelism the job's parallelism, which decides its batching buckets
   */
  public static Evaluation of(
      Estimator estimator, FleetLedger ledger, CreditOutput output, int parallelism, Duration duration) {
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
    List<Map<String, Double>> finalModels = finalModels(output, parallelism);
    return new Evaluation(estimator, configFingerprint(output), StepAuc.of(credits, goods), trajectories,
        credits.length, finalModels.size(), verifiers(ledger, finalModels), quarantine(ledger, suspects), duration);
  }

  /** The one fingerprint of a run's batches: a run is one job with one configuration. */
  private static String configFingerprint(CreditOutput output) {
    Set<String> fingerprints = new TreeSet<>();
    output.batches().forEach(batch -> fingerprints.add(batch.getConfigFingerprint()));
    if (fingerprints.size() > 1) {
      throw new IllegalStateException("the run's batches carry " + fingerprints.size() + " config fingerprints, "
          + fingerprints + ": its figures would mix the numbers of different rules");
    }
    return fingerprints.isEmpty() ? null : fingerprints.iterator().next();
  }

  /**
   * Each batching bucket's final model: the reliabilities in its last batch, in bucket order. Every batch records
   * the model of the bucket that made it, and buckets learn from different tasks, so the batch made last overall
   * holds one bucket's model, whichever flushed last. A bucket's last batch is its latest by {@code created_at}, the
   * later in topic order where two share a millisecond (the records of one flush carry one model).
   */
  private static List<Map<String, Double>> finalModels(CreditOutput output, int parallelism) {
    Map<Integer, TrainingBatch> lastOfBucket = new TreeMap<>();
    for (TrainingBatch batch : output.batches()) {
      lastOfBucket.merge(bucketOf(batch, parallelism), batch,
          (earlier, later) -> later.getCreatedAt().isBefore(earlier.getCreatedAt()) ? earlier : later);
    }
    return lastOfBucket.values().stream().<Map<String, Double>>map(TrainingBatch::getVerifierReliability).toList();
  }

  /**
   * The bucket that made {@code batch}, by the job's rule ({@link ScoreAndBatch#bucketIndexOf}): a group goes to
   * its task's bucket, so every trajectory of a batch names the same one.
   */
  static int bucketOf(TrainingBatch batch, int parallelism) {
    Set<Integer> buckets = new TreeSet<>();
    batch.getTrajectories().forEach(t -> buckets.add(ScoreAndBatch.bucketIndexOf(t.getTaskId(), parallelism)));
    if (buckets.size() != 1) {
      throw new IllegalStateException("batch " + batch.getBatchId() + " holds tasks of buckets " + buckets
          + " at parallelism " + parallelism + ": the job no longer buckets tasks as the evaluation assumes");
    }
    return buckets.iterator().next();
  }

  private static Map<String, VerifierEstimate> verifiers(FleetLedger ledger, List<Map<String, Double>> finalModels) {
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
        (c[1] / (double) c[0] + c[3] / (double) c[2]) / 2,
        finalModels.stream().map(model -> model.getOrDefault(verifier, Double.NaN)).toList())));
    return estimates;
  }

  private static QuarantineScore quarantine(FleetLedger ledger, Set<String> suspects) {
    int caught = 0;
    int falseAlarms = 0;
    int hacks = 0;
    int unjudgedHacks = 0;
    for (SentTrajectory t : ledger.trajectories().values()) {
      boolean suspect = suspects.contains(t.trajectoryId());
      if (!t.truth().rewardHack()) {
        falseAlarms += suspect ? 1 : 0;
      } else if (t.outcome().isPresent() && t.verdicts() > 0) { // the quarantine compares the two
        hacks++;
        caught += suspect ? 1 : 0;
      } else {
        unjudgedHacks++;
      }
    }
    return new QuarantineScore(caught, falseAlarms, hacks, unjudgedHacks);
  }
}
