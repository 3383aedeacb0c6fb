package io.strawless.pipeline.batching;

import io.strawless.pipeline.assembly.AssembledTrajectory;
import io.strawless.pipeline.credit.Credit;
import io.strawless.pipeline.credit.Step;
import io.strawless.pipeline.credit.Trajectory;
import io.strawless.schemas.ScoredStep;
import io.strawless.schemas.ScoredTrajectory;
import io.strawless.schemas.StepEvent;
import io.strawless.schemas.VerifierSignal;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** Translation between the job's records and the credit library's flat inputs and outputs. */
final class TrainingBatches {

    private TrainingBatches() {}

    /** What the estimators see of an assembled trajectory; absent numbers become NaN. */
    static Trajectory creditInput(AssembledTrajectory t, double baseline) {
        Map<Integer, Map<String, Double>> scoresByStep = new HashMap<>();
        for (VerifierSignal verdict : t.verdicts()) {
            if (verdict.getStepIndex() != null) {
                // Signals are kept in arrival order: a verifier's newer score of a step replaces its older one.
                scoresByStep.computeIfAbsent(verdict.getStepIndex(), k -> new LinkedHashMap<>())
                        .put(verdict.getVerifierId(), verdict.getScore());
            }
        }
        List<Step> steps = new ArrayList<>(t.steps().size());
        for (StepEvent e : t.steps()) {
            steps.add(new Step(
                    e.getStepIndex(),
                    orNaN(e.getReward()),
                    orNaN(e.getValue()),
                    e.getTrainable(),
                    e.getObservationKey(),
                    scoresByStep.getOrDefault(e.getStepIndex(), Map.of())));
        }
        StepEvent last = t.steps().get(t.steps().size() - 1);
        if (t.outcomeTimedOut()) {
            // Scored on its verifier signals alone: no outcome, no baseline, and a group of its own, so that
            // it neither takes nor gives group statistics of outcomes.
            return new Trajectory(t.trajectoryId(), null, t.taskId(), Double.NaN, last.getTerminal(),
                    orNaN(last.getBootstrapValue()), 0.0, steps);
        }
        return new Trajectory(t.trajectoryId(), t.groupId(), t.taskId(), t.outcome().getReward(),
                last.getTerminal(), orNaN(last.getBootstrapValue()), baseline, steps);
    }

    /**
     * The output record: the step events' own fields, plus the credit the estimator gave each step. A
     * {@code suspect} (quarantined under job.suspect-policy=FLAG) keeps its credit but weighs 0.
     */
    static ScoredTrajectory scored(AssembledTrajectory t, Credit credit, double baseline, boolean suspect) {
        List<ScoredStep> steps = new ArrayList<>(t.steps().size());
        for (int i = 0; i < t.steps().size(); i++) {
            StepEvent e = t.steps().get(i);
            steps.add(ScoredStep.newBuilder()
                    .setStepIndex(e.getStepIndex())
                    .setTrainable(e.getTrainable())
                    .setAdvantage(credit.advantages()[i])
                    .setTargetReturn(credit.returns()[i])
                    .setReward(e.getReward())
                    .setValue(e.getValue())
                    .setLogprob(e.getLogprob())
                    .setTokenIds(e.getTokenIds())
                    .setPayloadRef(e.getPayloadRef())
                    .setPolicyVersion(e.getPolicyVersion())
                    .build());
        }
        return ScoredTrajectory.newBuilder()
                .setTrajectoryId(t.trajectoryId())
                .setAgentId(t.agentId())
                .setTaskId(t.taskId())
                .setGroupId(t.groupId())
                .setOutcomeReward(t.outcome().getReward())
                .setSuccess(t.outcome().getSuccess())
                .setOutcomeRevision(t.outcome().getRevision())
                .setBaseline(baseline)
                .setSteps(steps)
                .setSuspect(suspect)
                .setWeight(suspect ? 0.0 : 1.0)
                .setOutcomeTimedOut(t.outcomeTimedOut())
                .build();
    }

    private static double orNaN(Double value) {
        return value == null ? Double.NaN : value;
    }
}
