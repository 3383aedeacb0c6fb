package io.strawless.pipeline.reliability;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.strawless.pipeline.Events;
import io.strawless.pipeline.assembly.AssembledTrajectory;
import io.strawless.schemas.StepEvent;
import io.strawless.schemas.TerminalKind;
import io.strawless.schemas.VerifierSignal;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.apache.flink.configuration.Configuration;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

class QuarantineTest {

    /** Learnt from 5,000 steps judged by checker (0.94), prm (0.85), rater (0.60) and stamp (always good). */
    private static ReliabilityModel model;

    @BeforeAll
    static void learn() {
        model = new ReliabilityModel();
        model.learn(LabelledSteps.generate(5_000, 0.55, LabelledSteps.PANEL, 11), 10_000);
    }

    /** A trajectory whose i-th step gets {@code verdicts.get(i)} (verifier -> says good); its outcome as given. */
    static AssembledTrajectory trajectory(String id, boolean success, List<Map<String, Boolean>> verdicts) {
        List<StepEvent> steps = new ArrayList<>();
        List<VerifierSignal> signals = new ArrayList<>();
        for (int i = 0; i < verdicts.size(); i++) {
            boolean last = i == verdicts.size() - 1;
            steps.add(Events.step(id, i, 100 + i).setTerminal(last ? TerminalKind.TERMINATED : TerminalKind.NONE).build());
            int step = i;
            verdicts.get(i).forEach((verifier, good) ->
                    signals.add(Events.verdict(id, step, verifier, good ? 0.9 : 0.1, 200 + step)));
        }
        return new AssembledTrajectory(id, "agent-1", "task-1", null, 0, steps,
                Events.outcome(id, success ? 1.0 : 0.0, 0, 300), signals, List.of());
    }

    private static List<Map<String, Boolean>> repeat(Map<String, Boolean> verdicts, int steps) {
        return java.util.Collections.nCopies(steps, verdicts);
    }

    private static Optional<String> judge(AssembledTrajectory t) {
        return new Quarantine(new Configuration()).suspicion(t, model);
    }

    @Test
    void aSuccessWhoseStepsReliableVerifiersCallBadIsSuspect() {
        var hack = trajectory("hack", true, repeat(Map.of("checker", false, "prm", false, "stamp", true), 5));
        Optional<String> suspicion = judge(hack);
        assertTrue(suspicion.isPresent());
        assertTrue(suspicion.get().startsWith("succeeded, but the verdicts on its 5 judged steps"), suspicion.get());
        assertTrue(suspicion.get().contains("quarantine.max-good-share-on-success 0.33"), suspicion.get());
    }

    @Test
    void anHonestSuccessIsNot() {
        assertTrue(judge(trajectory("ok", true, repeat(Map.of("checker", true, "prm", true), 5))).isEmpty());
        var mixed = new ArrayList<Map<String, Boolean>>(repeat(Map.of("checker", true), 3));
        mixed.addAll(repeat(Map.of("checker", false), 2));
        assertTrue(judge(trajectory("mixed", true, mixed)).isEmpty(), "3 good steps of 5 is an honest success");
    }

    @Test
    void fewUnreliableOrUninformativeVerdictsCondemnNobody() {
        assertTrue(judge(trajectory("stamp-only", true, repeat(Map.of("stamp", true), 8))).isEmpty());
        assertTrue(judge(trajectory("rater-only", true, repeat(Map.of("rater", false), 4))).isEmpty(),
                "four verdicts of a 60% verifier are not strong evidence");
        assertTrue(judge(trajectory("one-step", true, List.of(Map.of("checker", false)))).isEmpty(),
                "one bad step is not 'most of its steps'");
        assertTrue(judge(trajectory("unjudged", true, repeat(Map.of(), 6))).isEmpty());
    }

    @Test
    void theReverseAFailureWithNothingButGoodStepsIsSuspectToo() {
        Optional<String> suspicion = judge(trajectory("sabotaged", false,
                repeat(Map.of("checker", true, "prm", true), 10)));
        assertTrue(suspicion.isPresent());
        assertTrue(suspicion.get().startsWith("failed, but"), suspicion.get());
        assertTrue(judge(trajectory("honest failure", false, repeat(Map.of("checker", false), 6))).isEmpty());
    }

    @Test
    void judgesNothingBeforeTheModelHasLearntEnough() {
        ReliabilityModel young = new ReliabilityModel();
        young.learn(LabelledSteps.generate(100, 0.5, LabelledSteps.PANEL, 1), 10_000); // below quarantine.min-learnt-steps
        var hack = trajectory("hack", true, repeat(Map.of("checker", false, "prm", false), 6));
        assertTrue(new Quarantine(new Configuration()).suspicion(hack, young).isEmpty());
        Configuration eager = new Configuration();
        eager.set(ReliabilityOptions.MIN_LEARNT_STEPS, 100);
        assertTrue(new Quarantine(eager).suspicion(hack, young).isPresent());
    }

    @Test
    void thresholdsAtTheEndsTurnEachSideOff() {
        Configuration off = new Configuration();
        off.set(ReliabilityOptions.MAX_GOOD_SHARE_ON_SUCCESS, 0.0);
        off.set(ReliabilityOptions.MIN_GOOD_SHARE_ON_FAILURE, 1.0);
        Quarantine quarantine = new Quarantine(off);
        assertTrue(quarantine.suspicion(trajectory("h", true, repeat(Map.of("checker", false), 20)), model).isEmpty());
        assertTrue(quarantine.suspicion(trajectory("s", false, repeat(Map.of("checker", true), 20)), model).isEmpty());

        Configuration bad = new Configuration();
        bad.set(ReliabilityOptions.MAX_GOOD_SHARE_ON_SUCCESS, 1.5);
        assertThrows(IllegalArgumentException.class, () -> new Quarantine(bad));
    }

    @Test
    void thresholdsThatAShareOfOneHalfWouldReachAreRefused() {
        Configuration success = new Configuration();
        success.set(ReliabilityOptions.MAX_GOOD_SHARE_ON_SUCCESS, 0.5);
        IllegalArgumentException refused = assertThrows(IllegalArgumentException.class, () -> new Quarantine(success));
        assertTrue(refused.getMessage().startsWith("quarantine.max-good-share-on-success must be at least 0 and below 0.5"),
                refused.getMessage());
        assertTrue(refused.getMessage().contains("or to 0 to turn this side off"), refused.getMessage());

        Configuration failure = new Configuration();
        failure.set(ReliabilityOptions.MIN_GOOD_SHARE_ON_FAILURE, 0.5);
        refused = assertThrows(IllegalArgumentException.class, () -> new Quarantine(failure));
        assertTrue(refused.getMessage().startsWith("quarantine.min-good-share-on-failure must be above 0.5"),
                refused.getMessage());

        Configuration nearHalf = new Configuration();
        nearHalf.set(ReliabilityOptions.MAX_GOOD_SHARE_ON_SUCCESS, 0.49);
        nearHalf.set(ReliabilityOptions.MIN_GOOD_SHARE_ON_FAILURE, 0.51);
        Quarantine quarantine = new Quarantine(nearHalf);
        assertTrue(quarantine.suspicion(trajectory("unjudged success", true, repeat(Map.of(), 6)), model).isEmpty());
        assertTrue(quarantine.suspicion(trajectory("unjudged failure", false, repeat(Map.of(), 6)), model).isEmpty());
    }

    @Test
    void stepsJudgedOnlyByVerifiersTheModelDoesNotKnowAreNoEvidence() {
        var verdicts = new ArrayList<Map<String, Boolean>>(repeat(Map.of("checker", false, "prm", false), 5));
        verdicts.addAll(repeat(Map.of("newcomer", false), 3));
        Optional<String> suspicion = judge(trajectory("hack", true, verdicts));
        assertTrue(suspicion.isPresent());
        assertTrue(suspicion.get().startsWith("succeeded, but the verdicts on its 5 judged steps"), suspicion.get());
        assertTrue(judge(trajectory("newcomer-only", true, repeat(Map.of("newcomer", false), 8))).isEmpty());
    }

    /**
     * The examples that the quarantine's options (ReliabilityOptions) and the README give, computed through the real
     * rule with the model learnt from the panel, whose checker is right 95% of the time and rater 61%: the share
     * each puts on a trajectory, to two places, and whether it is a suspect at the default thresholds.
     */
    @Test
    void theDocumentedExamplesHold() {
        assertEquals(0.95, model.reliabilities().get("checker"), 0.005);
        assertEquals(0.61, model.reliabilities().get("rater"), 0.005);
        assertExample("checker", true, 0, 2, 0.26, true);
        assertExample("checker", true, 1, 2, 0.38, false);
        assertExample("rater", true, 0, 8, 0.25, true);
        assertExample("rater", true, 0, 4, 0.35, false);
        assertExample("checker", false, 10, 0, 0.91, true);
        assertExample("checker", false, 9, 1, 0.85, false);
    }

    /**
     * A trajectory with {@code good} steps that {@code verifier} alone called good and {@code bad} it called bad:
     * the share of good steps its verdicts imply, and whether the default thresholds make it a suspect.
     */
    private static void assertExample(String verifier, boolean success, int good, int bad, double share,
            boolean suspect) {
        var verdicts = new ArrayList<Map<String, Boolean>>(repeat(Map.of(verifier, true), good));
        verdicts.addAll(repeat(Map.of(verifier, false), bad));
        AssembledTrajectory t = trajectory("example", success, verdicts);
        String example = (success ? "success" : "failure") + ", " + verifier + ": " + good + " good, " + bad + " bad";
        assertEquals(share, Quarantine.goodShare(LabelledStep.of(t), model), 0.005, example);
        assertEquals(suspect, judge(t).isPresent(), example);
    }

    /**
     * What holds whatever the verifiers, as the options say: one judged step keeps the share between 1/3 and 2/3, so
     * at the default 0.33 a suspect success has two judged steps at least; and a suspect failure at the default 0.9
     * has eight at least, since seven judged good by a perfect verifier put it at 8/9 (and nine, at 10/11, do).
     */
    @Test
    void oneStepNeverCondemnsASuccessNorFewerThanEightAFailure() {
        ReliabilityModel perfect = new ReliabilityModel();
        perfect.verifiers = new String[] {"oracle"};
        perfect.sensitivity = new double[] {1 - 1e-12};
        perfect.specificity = new double[] {1 - 1e-12};
        Configuration anyModel = new Configuration();
        anyModel.set(ReliabilityOptions.MIN_LEARNT_STEPS, 0); // a model made by hand has learnt no step
        Quarantine quarantine = new Quarantine(anyModel);

        var oneBad = trajectory("one bad", true, List.of(Map.of("oracle", false)));
        assertTrue(Quarantine.goodShare(LabelledStep.of(oneBad), perfect) >= 1.0 / 3);
        assertTrue(quarantine.suspicion(oneBad, perfect).isEmpty());
        var oneGood = trajectory("one good", false, List.of(Map.of("oracle", true)));
        assertTrue(Quarantine.goodShare(LabelledStep.of(oneGood), perfect) <= 2.0 / 3);
        assertTrue(quarantine.suspicion(trajectory("two bad", true, repeat(Map.of("oracle", false), 2)), perfect)
                .isPresent());

        var sevenGood = trajectory("seven good", false, repeat(Map.of("oracle", true), 7));
        assertEquals(8.0 / 9, Quarantine.goodShare(LabelledStep.of(sevenGood), perfect), 1e-4);
        assertTrue(quarantine.suspicion(sevenGood, perfect).isEmpty());
        assertTrue(quarantine.suspicion(trajectory("nine good", false, repeat(Map.of("oracle", true), 9)), perfect)
                .isPresent());
    }

    @Test
    void theShareIsThePosteriorMeanUnderAUniformPrior() {
        assertEquals(0.5, Quarantine.goodShare(List.of(), model), 1e-9, "no evidence: the prior's mean");
        // A perfect verifier that saw k good steps of n: the posterior is Beta(k + 1, n - k + 1), mean (k+1)/(n+2).
        ReliabilityModel perfect = new ReliabilityModel();
        perfect.verifiers = new String[] {"oracle"};
        perfect.sensitivity = new double[] {1 - 1e-12};
        perfect.specificity = new double[] {1 - 1e-12};
        List<LabelledStep> steps = List.of(
                new LabelledStep(Map.of("oracle", true), true),
                new LabelledStep(Map.of("oracle", false), true),
                new LabelledStep(Map.of("oracle", false), true));
        assertEquals(2.0 / 5, Quarantine.goodShare(steps, perfect), 1e-4);
    }

    @Test
    void stepsWithTheSameVerdictsCountOnceEachAsIfTakenOneByOne() {
        ReliabilityModel two = new ReliabilityModel();
        two.verifiers = new String[] {"a", "b"};
        two.sensitivity = new double[] {0.9, 0.7};
        two.specificity = new double[] {0.8, 0.6};
        List<Map<String, Boolean>> verdicts = List.of(
                Map.of("a", true), Map.of("a", true, "b", false), Map.of("b", true), Map.of("a", false, "b", false));
        List<LabelledStep> steps = new ArrayList<>();
        for (int i = 0; i < 37; i++) {
            steps.add(new LabelledStep(verdicts.get((i * i + 3 * i) % verdicts.size()), true));
        }
        assertEquals(shareStepByStep(steps, two), Quarantine.goodShare(steps, two), 1e-12);
    }

    /** The posterior mean as its definition reads: every step's likelihood, on a grid of 200 points. */
    private static double shareStepByStep(List<LabelledStep> steps, ReliabilityModel model) {
        double[] logPosterior = new double[200];
        for (LabelledStep step : steps) {
            double[] likelihood = model.likelihoods(step.saidGood());
            for (int k = 0; k < 200; k++) {
                double g = (k + 0.5) / 200;
                logPosterior[k] += Math.log(g * likelihood[0] + (1 - g) * likelihood[1]);
            }
        }
        double max = Arrays.stream(logPosterior).max().orElseThrow();
        double mass = 0;
        double mean = 0;
        for (int k = 0; k < 200; k++) {
            mass += Math.exp(logPosterior[k] - max);
            mean += Math.exp(logPosterior[k] - max) * (k + 0.5) / 200;
        }
        return mean / mass;
    }
}
