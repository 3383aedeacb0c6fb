package io.strawless.pipeline.reliability;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.strawless.pipeline.credit.CreditConfig;
import io.strawless.pipeline.credit.CreditOptions;
import io.strawless.pipeline.grouping.TrajectoryGroup;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.metrics.Gauge;
import org.apache.flink.metrics.MetricGroup;
import org.apache.flink.metrics.groups.UnregisteredMetricsGroup;
import org.junit.jupiter.api.Test;

class VerifierReliabilityTest {

    /** Keeps the gauges registered under it, by name. */
    private static final class Gauges extends UnregisteredMetricsGroup {
        final Map<String, Gauge<?>> registered = new HashMap<>();

        @Override
        public MetricGroup addGroup(String name) {
            return this;
        }

        @Override
        public <T, G extends Gauge<T>> G gauge(String name, G gauge) {
            registered.put(name, gauge);
            return gauge;
        }
    }

    private static final List<Map<String, Boolean>> STEPS = List.of(
            Map.of("checker", true, "stamp", true), Map.of("checker", false, "stamp", true),
            Map.of("checker", true, "stamp", true), Map.of("checker", false, "stamp", true));

    /** Groups whose steps the checker judges like the outcome and the stamp always calls good. */
    private static List<TrajectoryGroup> groups(int count) {
        List<TrajectoryGroup> groups = new java.util.ArrayList<>();
        for (int g = 0; g < count; g++) {
            groups.add(new TrajectoryGroup(List.of(
                    QuarantineTest.trajectory("s" + g, true, List.of(STEPS.get(0), STEPS.get(2))),
                    QuarantineTest.trajectory("f" + g, false, List.of(STEPS.get(1), STEPS.get(3)))), 0));
        }
        return groups;
    }

    @Test
    void learnsFromEveryMemberAndReportsOneGaugePerVerifier() {
        VerifierReliability reliability = new VerifierReliability(new Configuration());
        Gauges gauges = new Gauges();
        reliability.registerMetrics(gauges);

        ReliabilityModel model = reliability.learn(null, groups(50));

        assertEquals(200, model.learnt, "two verified steps per member");
        assertEquals(Map.of("checker", model.reliabilities().get("checker"), "stamp", model.reliabilities().get("stamp")),
                Map.of("checker", gauges.registered.get("checker").getValue(), "stamp", gauges.registered.get("stamp").getValue()));
        ReliabilityModel again = reliability.learn(model, groups(1));
        assertEquals(again.reliabilities().get("checker"), gauges.registered.get("checker").getValue(), "gauges show the newest");
    }

    @Test
    void aForgottenVerifiersGaugeSaysNaN() {
        Configuration conf = new Configuration();
        conf.set(ReliabilityOptions.WINDOW_STEPS, 8);
        VerifierReliability reliability = new VerifierReliability(conf);
        Gauges gauges = new Gauges();
        reliability.registerMetrics(gauges);
        ReliabilityModel model = reliability.learn(null, groups(2)); // checker and stamp
        assertFalse(Double.isNaN((Double) gauges.registered.get("stamp").getValue()));

        List<Map<String, Boolean>> checkerOnly = List.of(Map.of("checker", true), Map.of("checker", false));
        List<TrajectoryGroup> later = new java.util.ArrayList<>();
        for (int g = 0; g < 4; g++) { // 8 steps: the window holds none of the stamp's verdicts any more
            later.add(new TrajectoryGroup(List.of(
                    QuarantineTest.trajectory("s" + g, true, List.of(checkerOnly.get(0))),
                    QuarantineTest.trajectory("f" + g, false, List.of(checkerOnly.get(1)))), 0));
        }
        reliability.learn(model, later);

        assertTrue(Double.isNaN((Double) gauges.registered.get("stamp").getValue()), "forgotten: no estimate");
        assertFalse(Double.isNaN((Double) gauges.registered.get("checker").getValue()));
    }

    @Test
    void weightsAreTheConfiguredWeightTimesTheLearntInformativeness() {
        Configuration conf = new Configuration();
        conf.set(CreditOptions.VERIFIER_WEIGHTS, Map.of("checker", "2", "retired", "0.5"));
        VerifierReliability reliability = new VerifierReliability(conf);
        ReliabilityModel model = reliability.learn(null, groups(50));

        Map<String, Double> weights = reliability.verifierWeights(model, CreditConfig.from(conf)).orElseThrow();

        assertEquals(2 * model.informativeness("checker"), weights.get("checker"), 1e-12);
        assertTrue(weights.get("checker") > 1.5, weights.toString());
        assertEquals(0.0, weights.get("stamp"), "a verifier that always says good weighs nothing");
        assertEquals(0.5, weights.get("retired"), "one the model has not seen keeps its configured weight");

        conf.set(ReliabilityOptions.WEIGHT_VERIFIERS, false);
        assertTrue(new VerifierReliability(conf).verifierWeights(model, CreditConfig.from(conf)).isEmpty());
    }

    @Test
    void untilTheModelHasLearntEnoughStepsVerifiersWeighAsConfigured() {
        Configuration conf = new Configuration();
        conf.set(ReliabilityOptions.MIN_LEARNT_STEPS, 8);
        VerifierReliability reliability = new VerifierReliability(conf);
        CreditConfig credit = CreditConfig.from(conf);

        ReliabilityModel young = reliability.learn(null, groups(1)); // 4 verified steps
        assertEquals(4, young.learnt);
        assertTrue(reliability.verifierWeights(young, credit).isEmpty(),
                "4 steps are no evidence: the configured weights, not 0.4 times them or a fit's 0");

        ReliabilityModel grown = reliability.learn(young, groups(1));
        assertEquals(8, grown.learnt);
        assertTrue(reliability.verifierWeights(grown, credit).isPresent(), "learnt weights from quarantine.min-learnt-steps on");

        conf.set(ReliabilityOptions.MIN_LEARNT_STEPS, -1);
        assertThrows(IllegalArgumentException.class, () -> new VerifierReliability(conf));
    }

    /**
     * The gate is per verifier too: a verifier id that appears once the model has warmed up keeps its configured
     * weight until it has judged quarantine.min-learnt-steps of the window's steps. Its informativeness before that
     * is a fit to a handful of its own verdicts: a new verifier that always says "good" came out at 0.23 from these
     * five steps (a weight of 0.69), where its established twin, the stamp, weighs 0.
     */
    @Test
    void aNewVerifierKeepsItsConfiguredWeightUntilItHasJudgedMinLearntStepsItself() {
        Configuration conf = new Configuration();
        conf.set(ReliabilityOptions.MIN_LEARNT_STEPS, 20);
        conf.set(CreditOptions.VERIFIER_WEIGHTS, Map.of("newcomer", "3"));
        VerifierReliability reliability = new VerifierReliability(conf);
        CreditConfig credit = CreditConfig.from(conf);
        ReliabilityModel model = reliability.learn(null, groups(50)); // 200 steps of the checker and the stamp

        model = reliability.learn(model, newcomerSaysGood(5));
        Map<String, Double> weights = reliability.verifierWeights(model, credit).orElseThrow();
        assertEquals(3.0, weights.get("newcomer"), "5 of its own verdicts are no evidence: its configured weight");
        assertEquals(0.0, weights.get("stamp"), "its established twin");
        assertEquals(model.informativeness("checker"), weights.get("checker"), 1e-12, "learnt");

        model = reliability.learn(model, newcomerSaysGood(14));
        assertEquals(3.0, reliability.verifierWeights(model, credit).orElseThrow().get("newcomer"), "19 steps");

        model = reliability.learn(model, newcomerSaysGood(1));
        double informativeness = model.informativeness("newcomer");
        assertEquals(informativeness < VerifierReliability.MIN_INFORMATIVENESS ? 0 : 3 * informativeness,
                reliability.verifierWeights(model, credit).orElseThrow().get("newcomer"), 1e-12,
                "from quarantine.min-learnt-steps of its own verdicts on, learnt");
        assertTrue(informativeness < 0.2, "and an always-good verifier's is low: " + informativeness);
    }

    /**
     * Groups of one trajectory of one step each, alternately successful and failed, which the checker judges like
     * the outcome and the newcomer calls good.
     */
    private static List<TrajectoryGroup> newcomerSaysGood(int steps) {
        List<TrajectoryGroup> groups = new java.util.ArrayList<>();
        for (int s = 0; s < steps; s++) {
            boolean good = s % 2 == 0;
            groups.add(new TrajectoryGroup(List.of(QuarantineTest.trajectory("n" + s, good,
                    List.of(Map.of("checker", good, "newcomer", true)))), 0));
        }
        return groups;
    }

    /**
     * A window smaller than quarantine.min-learnt-steps, which earlier releases accepted, still weights verifiers:
     * one that judged every step of the window has judged all a verifier can.
     */
    @Test
    void aWindowSmallerThanMinLearntStepsAsksAVerifierForTheWholeWindow() {
        Configuration conf = new Configuration();
        conf.set(ReliabilityOptions.WINDOW_STEPS, 100);
        VerifierReliability reliability = new VerifierReliability(conf);
        ReliabilityModel model = reliability.learn(null, groups(50)); // 200 steps of the checker and the stamp
        Map<String, Double> weights = reliability.verifierWeights(model, CreditConfig.from(conf)).orElseThrow();
        assertEquals(model.informativeness("checker"), weights.get("checker"), 1e-12, "learnt");
    }
}
