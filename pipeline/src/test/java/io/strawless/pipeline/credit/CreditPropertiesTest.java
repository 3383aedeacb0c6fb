package io.strawless.pipeline.credit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.strawless.pipeline.kernels.KernelExecutor;
import io.strawless.schemas.TerminalKind;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import net.jqwik.api.constraints.DoubleRange;
import net.jqwik.api.constraints.IntRange;

/** Laws every estimator must keep, on random micro-batches (plain-Java backend; the others agree with it). */
class CreditPropertiesTest {

    @Provide
    Arbitrary<String> estimators() {
        return Arbitraries.of(RandomBatches.ESTIMATORS);
    }

    @Provide
    Arbitrary<String> groupEstimators() {
        return Arbitraries.of("grpo", "dr_grpo", "rloo", "reinforce_pp_baseline");
    }

    /** GAE with lambda 1 telescopes into the discounted return (bootstrapped when truncated) minus the value. */
    @Property(tries = 300)
    void gaeWithLambdaOneIsTheDiscountedReturnMinusTheValue(@ForAll long seed,
                                                             @ForAll @DoubleRange(min = 0, max = 1) double gamma) {
        List<Trajectory> batch = RandomBatches.batch(seed);
        List<Credit> credits = score(batch, "gae", "credit.gamma", Double.toString(gamma), "credit.lambda", "1");

        for (int t = 0; t < batch.size(); t++) {
            Trajectory trajectory = batch.get(t);
            List<Step> steps = trajectory.steps();
            double[] expected = new double[steps.size()];
            double futureReturn = trajectory.terminal() == TerminalKind.TRUNCATED ? trajectory.bootstrapValue() : 0;
            boolean last = true;
            for (int s = steps.size() - 1; s >= 0; s--) {
                Step step = steps.get(s);
                if (!step.trainable()) {
                    continue;
                }
                double reward = orZero(step.reward()) + (last ? orZero(trajectory.outcome()) : 0);
                last = false;
                futureReturn = reward + gamma * futureReturn;
                expected[s] = futureReturn - step.value();
            }
            Scoring.assertClose(expected, credits.get(t).advantages(), "trajectory " + trajectory.id());
        }
    }

    /** Centring within a group leaves nothing over: the advantages of a group's trajectories sum to 0. */
    @Property(tries = 300)
    void groupNormalizedAdvantagesSumToZeroInEachGroup(@ForAll long seed, @ForAll("groupEstimators") String estimator,
                                                        @ForAll @IntRange(min = 2, max = 12) int size) {
        List<Trajectory> group = RandomBatches.group(seed, size);
        List<Credit> credits = score(group, estimator);
        double sum = 0;
        double largest = 1;
        for (int t = 0; t < group.size(); t++) {
            double advantage = trajectoryAdvantage(group.get(t), credits.get(t));
            sum += advantage;
            largest = Math.max(largest, Math.abs(advantage));
        }
        assertTrue(Math.abs(sum) <= 1e-9 * size * largest, estimator + " advantages sum to " + sum);
    }

    @Property(tries = 300)
    void permutingABatchPermutesItsCredits(@ForAll long seed, @ForAll("estimators") String estimator) {
        List<Trajectory> batch = RandomBatches.batch(seed);
        List<Trajectory> shuffled = new ArrayList<>(batch);
        Collections.shuffle(shuffled, new Random(seed));

        Map<String, Credit> before = byId(score(batch, estimator));
        Map<String, Credit> after = byId(score(shuffled, estimator));
        for (Trajectory trajectory : batch) {
            Credit expected = before.get(trajectory.id());
            Credit actual = after.get(trajectory.id());
            Scoring.assertClose(expected.advantages(), actual.advantages(), estimator + " " + trajectory.id());
            Scoring.assertClose(expected.returns(), actual.returns(), estimator + " " + trajectory.id());
        }
    }

    @Property(tries = 300)
    void nonTrainableStepsNeverGetCredit(@ForAll long seed, @ForAll("estimators") String estimator,
                                         @ForAll boolean stepThrough, @ForAll boolean whiten) {
        List<Trajectory> batch = RandomBatches.batch(seed);
        // gigpo does not whiten, and refuses to be asked to.
        String[] options = {"credit.non-trainable-steps", stepThrough ? "zero" : "skip",
                "credit.normalize", whiten && !estimator.equals("gigpo") ? "batch" : "none"};
        try (CreditScorer scorer = new CreditScorer(Scoring.config("java", estimator, options))) {
            if (scorer.batchTooSmall(batch).isPresent()) { // one value to whiten
                assertThrows(IllegalArgumentException.class, () -> scorer.score(batch));
                return;
            }
        }
        List<Credit> credits = score(batch, estimator, options);
        for (int t = 0; t < batch.size(); t++) {
            List<Step> steps = batch.get(t).steps();
            assertEquals(steps.size(), credits.get(t).advantages().length);
            for (int s = 0; s < steps.size(); s++) {
                assertTrue(Double.isFinite(credits.get(t).advantages()[s]), "finite advantage");
                if (!steps.get(s).trainable()) {
                    assertEquals(0.0, credits.get(t).advantages()[s], estimator + " advantage of a tool step");
                    assertEquals(0.0, credits.get(t).returns()[s], estimator + " return of a tool step");
                }
            }
        }
    }

    /**
     * An infinity, or a NaN where the estimator needs a number, is rejected with a message naming the
     * trajectory, the step and the field, before any kernel runs: the scorer here has an executor
     * without a device, which would throw a NullPointerException had any kernel been started.
     */
    @Property(tries = 300)
    void badNumbersAreRejectedBeforeAnyKernelRuns(@ForAll long seed, @ForAll("estimators") String estimator,
                                                  @ForAll boolean infinite) {
        Random random = new Random(seed);
        List<Trajectory> batch = new ArrayList<>(RandomBatches.batch(seed));
        int victim = random.nextInt(batch.size());
        Trajectory original = batch.get(victim);
        double bad = infinite ? (random.nextBoolean() ? Double.POSITIVE_INFINITY : Double.NEGATIVE_INFINITY) : Double.NaN;
        Corruption corruption = corrupt(original, estimator, bad, random);
        if (corruption == null) {
            return; // a NaN this estimator accepts anywhere it could go
        }
        batch.set(victim, corruption.trajectory());

        CreditConfig config = Scoring.config("java", estimator);
        try (CreditScorer scorer = new CreditScorer(config, KernelExecutor.openCl(null))) {
            IllegalArgumentException error = assertThrows(IllegalArgumentException.class, () -> scorer.score(batch));
            String message = error.getMessage();
            assertTrue(message.contains("trajectory '" + original.id() + "'"), message);
            assertTrue(message.contains(corruption.field()), message);
            if (corruption.stepIndex() >= 0) {
                assertTrue(message.contains("step " + corruption.stepIndex() + ":"), message);
            }
        }
    }

    private record Corruption(Trajectory trajectory, String field, int stepIndex) {}

    /** Puts {@code bad} into a field where the estimator must refuse it; null if there is none. */
    private static Corruption corrupt(Trajectory t, String estimator, double bad, Random random) {
        boolean nan = Double.isNaN(bad);
        List<Corruption> options = new ArrayList<>();
        if (!nan || List.of("outcome", "grpo", "dr_grpo", "rloo", "reinforce_pp_baseline", "gigpo").contains(estimator)) {
            options.add(new Corruption(new Trajectory(t.id(), t.groupId(), t.taskId(), bad, t.terminal(),
                    t.bootstrapValue(), t.baseline(), t.steps()), "outcome", -1));
        }
        if (!nan) {
            options.add(new Corruption(new Trajectory(t.id(), t.groupId(), t.taskId(), t.outcome(), t.terminal(),
                    t.bootstrapValue(), bad, t.steps()), "baseline", -1));
        }
        if (!nan || estimator.equals("gae")) {
            options.add(new Corruption(new Trajectory(t.id(), t.groupId(), t.taskId(), t.outcome(), TerminalKind.TRUNCATED,
                    bad, t.baseline(), t.steps()), "bootstrapValue", -1));
        }
        for (int s = 0; s < t.steps().size(); s++) {
            Step step = t.steps().get(s);
            if (!nan) {
                options.add(stepCorruption(t, s, new Step(step.index(), bad, step.value(), step.trainable(),
                        step.observationKey(), step.verifierScores()), "reward"));
            }
            if (!nan || (estimator.equals("gae") && step.trainable())) {
                options.add(stepCorruption(t, s, new Step(step.index(), step.reward(), bad, step.trainable(),
                        step.observationKey(), step.verifierScores()), "value"));
            }
            Map<String, Double> verdicts = new HashMap<>(step.verifierScores());
            verdicts.put("v9", bad);
            options.add(stepCorruption(t, s, new Step(step.index(), step.reward(), step.value(), step.trainable(),
                    step.observationKey(), verdicts), "verifierScores[v9]"));
        }
        return options.isEmpty() ? null : options.get(random.nextInt(options.size()));
    }

    private static Corruption stepCorruption(Trajectory t, int s, Step replacement, String field) {
        List<Step> steps = new ArrayList<>(t.steps());
        steps.set(s, replacement);
        return new Corruption(new Trajectory(t.id(), t.groupId(), t.taskId(), t.outcome(), t.terminal(),
                t.bootstrapValue(), t.baseline(), steps), field, replacement.index());
    }

    /** The advantage a trajectory got as a whole: that of its trainable steps, 0 when it has none. */
    private static double trajectoryAdvantage(Trajectory trajectory, Credit credit) {
        for (int s = 0; s < trajectory.steps().size(); s++) {
            if (trajectory.steps().get(s).trainable()) {
                return credit.advantages()[s];
            }
        }
        return Double.NaN;
    }

    private static List<Credit> score(List<Trajectory> batch, String estimator, String... options) {
        return Scoring.score("java", batch, estimator, options);
    }

    private static Map<String, Credit> byId(List<Credit> credits) {
        Map<String, Credit> byId = new HashMap<>();
        credits.forEach(c -> byId.put(c.trajectoryId(), c));
        return byId;
    }

    private static double orZero(double x) {
        return Double.isNaN(x) ? 0 : x;
    }
}
