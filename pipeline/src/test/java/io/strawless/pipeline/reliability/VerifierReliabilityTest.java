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
}
