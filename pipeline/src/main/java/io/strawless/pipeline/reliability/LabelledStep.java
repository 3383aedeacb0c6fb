package io.strawless.pipeline.reliability;

import io.strawless.pipeline.assembly.AssembledTrajectory;
import io.strawless.schemas.StepEvent;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * What the reliability model learns from: one trainable step that at least one verifier judged, with each
 * verifier's verdict as a binary label, and whether its trajectory succeeded.
 *
 * @param saidGood per verifier, whether it called the step good (score at least {@link #GOOD_SCORE})
 * @param trajectorySucceeded the outcome's success flag: the outcome is one more, weaker, judge of every step
 */
public record LabelledStep(Map<String, Boolean> saidGood, boolean trajectorySucceeded) {

    /** Verifier scores are in [0, 1] with 1 = good step: from this score on, a verdict says "good". */
    public static final double GOOD_SCORE = 0.5;

    /**
     * The trajectory's verified trainable steps, in step order. A verifier that scored a step twice counts
     * with its newest score, as the credit estimators count it. Verdicts on tool output or on the whole
     * trajectory judge no policy step and are left out. None for a trajectory whose outcome timed out.
     */
    public static List<LabelledStep> of(AssembledTrajectory trajectory) {
        if (trajectory.outcomeTimedOut()) {
            return List.of(); // its placeholder outcome is no evidence
        }
        Map<Integer, Map<String, Boolean>> byStep =
                trajectory.newestVerdictsByStep(verdict -> verdict.getScore() >= GOOD_SCORE);
        if (byStep.isEmpty()) {
            return List.of(); // most trajectories: no step verdict, no need to walk the steps
        }
        boolean succeeded = trajectory.outcome().getSuccess();
        List<LabelledStep> steps = new ArrayList<>();
        for (StepEvent step : trajectory.steps()) {
            Map<String, Boolean> labels = byStep.get(step.getStepIndex());
            if (step.getTrainable() && labels != null) {
                steps.add(new LabelledStep(labels, succeeded));
            }
        }
        return steps;
    }
}
