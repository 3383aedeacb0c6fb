package io.strawless.pipeline.reliability;

import io.strawless.pipeline.assembly.AssembledTrajectory;
import io.strawless.pipeline.credit.CreditConfig;
import io.strawless.pipeline.grouping.TrajectoryGroup;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import org.apache.flink.configuration.ReadableConfig;
import org.apache.flink.metrics.Gauge;
import org.apache.flink.metrics.MetricGroup;

/**
 * What the score-and-batch stage does with verifier reliability: learn it from each batch, weight the
 * process estimator's verifiers by it, and report it as one gauge per verifier
 * ({@code credit.reliability.<verifier id>}).
 *
 * <p>Where the model lives, and why there: in the score-and-batch stage itself, as keyed state of each
 * batching bucket. A batch is learnt from before it is scored, so its weights and its quarantine already
 * rest on its own verdicts, and replaying the same batches gives the same reliabilities. The alternative, a
 * separate reliability operator fed by the assembled trajectories and broadcast to score-and-batch, would
 * learn one model from all traffic, but it would race the batches it informs (which estimate a batch was
 * scored with would depend on timing) and add a stream and its state to every job. The cost of the local
 * model is that each bucket learns from its share of the traffic; a verifier's reliability is the same
 * everywhere, so every bucket converges to it, and each batch records the estimate it was scored with.
 *
 * <p>A rescale restarts the learning: the buckets' keys are chosen for the parallelism (one per instance, see
 * {@code ScoreAndBatch.bucketKeys}), so after a restore at another parallelism most buckets are new keys whose
 * models start from the prior, and until they have learnt {@code quarantine.min-learnt-steps} the quarantine
 * judges nothing and the process estimator weights verifiers as configured. The earlier keys' models stay in the
 * state, unread (one small model per earlier bucket), until {@code reliability.model-idle-ttl} of event time without
 * a batch clears them (their timers: {@code ScoreAndBatch}, and for models restored without one
 * {@code ScoreAndBatchOperator.open}); a restore at that earlier parallelism before then takes them up where they
 * stopped. An idle time, not the bucket keys the job was built with, decides: the runtime parallelism can differ
 * from them (the adaptive scheduler), and a key judged orphaned by it would lose a live model.
 */
public final class VerifierReliability {

    /**
     * A verifier whose learnt informativeness is below this weighs 0: the estimate of a verifier that tells
     * nothing (one that always says "good") comes out a little above 0, and the process reward of a step it
     * judged alone would otherwise be its verdict in full.
     */
    static final double MIN_INFORMATIVENESS = 0.05;

    private final int window;
    private final boolean weightVerifiers;
    private final long minLearntSteps;
    /**
     * The newest estimate of each verifier: that of whichever of the subtask's buckets learnt last (NaN where its
     * model does not know the verifier). Read by the metric reporter's thread.
     */
    private final Map<String, Double> latest = new ConcurrentHashMap<>();
    private MetricGroup gauges;

    public VerifierReliability(ReadableConfig conf) {
        this.window = conf.get(ReliabilityOptions.WINDOW_STEPS);
        if (window < 1) {
            throw new IllegalArgumentException(ReliabilityOptions.WINDOW_STEPS.key() + " must be at least 1, was " + window);
        }
        this.weightVerifiers = conf.get(ReliabilityOptions.WEIGHT_VERIFIERS);
        this.minLearntSteps = ReliabilityOptions.minLearntSteps(conf);
    }

    /** Registers the reliability gauges under {@code group} (as {@code reliability.<verifier id>}). */
    public void registerMetrics(MetricGroup group) {
        gauges = group.addGroup("reliability");
    }

    /** {@code model} (a new one when null) after learning from every trajectory of {@code groups}. */
    public ReliabilityModel learn(ReliabilityModel model, Iterable<TrajectoryGroup> groups) {
        ReliabilityModel learning = model == null ? new ReliabilityModel() : model;
        List<LabelledStep> steps = new ArrayList<>();
        for (TrajectoryGroup group : groups) {
            for (AssembledTrajectory trajectory : group.members()) {
                steps.addAll(LabelledStep.of(trajectory));
            }
        }
        learning.learn(steps, window);
        learning.reliabilities().forEach(this::report);
        // A verifier the model forgot (none of its verdicts is left in the window) has no estimate: its gauge, which
        // Flink cannot remove, says NaN rather than a number that is no longer true.
        latest.replaceAll((verifier, reliability) -> learning.knows(verifier) ? reliability : Double.NaN);
        return learning;
    }

    /**
     * The process estimator's verifier weights: each verifier's {@code credit.verifier-weights} entry times its
     * learnt informativeness (0 below {@value #MIN_INFORMATIVENESS}); empty, for the configured weights, when
     * {@code reliability.weight-verifiers} is off or the model has learnt fewer than {@code
     * quarantine.min-learnt-steps} steps. The gate is per verifier too: one that judged fewer than {@code
     * quarantine.min-learnt-steps} of the window's steps (all of them, where the window is smaller) keeps its
     * configured weight, as one the model does not know
     * does. Its informativeness would be the prior's, 0.4, or a fit to a handful of its own verdicts: a new verifier
     * that always says "good" comes out at 0.4 to 0.6 from five steps, where its established twin weighs 0.
     */
    public Optional<Map<String, Double>> verifierWeights(ReliabilityModel model, CreditConfig credit) {
        if (!weightVerifiers || model.learnt < minLearntSteps) {
            return Optional.empty();
        }
        Map<String, Double> weights = new TreeMap<>(credit.verifierWeights());
        int[] stepsJudged = model.stepsJudged();
        // A window smaller than min-learnt-steps (a setting of earlier releases, for the quarantine's sake) holds
        // fewer steps: all of it is then enough.
        long ownStepsNeeded = Math.min(minLearntSteps, window);
        for (int v = 0; v < model.verifiers.length; v++) {
            if (stepsJudged[v] >= ownStepsNeeded) {
                String verifier = model.verifiers[v];
                double informativeness = model.informativeness(verifier);
                weights.put(verifier, informativeness < MIN_INFORMATIVENESS ? 0
                        : credit.verifierWeight(verifier) * informativeness);
            }
        }
        return Optional.of(weights);
    }

    private void report(String verifier, double reliability) {
        if (latest.put(verifier, reliability) == null && gauges != null) {
            gauges.gauge(verifier, (Gauge<Double>) () -> latest.get(verifier));
        }
    }
}
