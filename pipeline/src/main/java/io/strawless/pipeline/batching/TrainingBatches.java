package io.strawless.pipeline.batching;

import io.strawless.connectors.serde.TrainingBatchSerializer;
import io.strawless.pipeline.assembly.AssembledTrajectory;
import io.strawless.pipeline.credit.Credit;
import io.strawless.pipeline.credit.Step;
import io.strawless.pipeline.credit.Trajectory;
import io.strawless.schemas.OffsetRange;
import io.strawless.schemas.ScoredStep;
import io.strawless.schemas.ScoredTrajectory;
import io.strawless.schemas.StepEvent;
import io.strawless.schemas.VerifierSignal;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/** Translation between the job's records and the credit library's flat inputs and outputs. */
final class TrainingBatches {

    private TrainingBatches() {}

    /**
     * At most the bytes a trajectory adds to the batch it is scored in: its ScoredTrajectory, its steps' process
     * rewards where the estimator writes them ({@code processRewards}), and its lineage entries (the batch merges them
     * by partition, so it holds no more than their sum).
     */
    static long bytesBound(AssembledTrajectory t, boolean processRewards) {
        long bytes = TrainingBatchSerializer.trajectoryBytesBound(t.trajectoryId(), t.agentId(), t.taskId(), t.groupId(),
                t.outcome().getRevision(), t.steps(), processRewards);
        for (OffsetRange range : t.lineage()) {
            bytes += TrainingBatchSerializer.offsetRangeBytes(range);
        }
        return bytes;
    }

    /**
     * What the estimators see of an assembled trajectory; absent numbers become NaN. {@code unit} names the
     * unit grouping closed it in, unique within the batch: the estimators pool the statistics of trajectories
     * that share a group key, and two units may share a {@code group_id} (a task's later round that uses the
     * id again, or two tasks that both number their groups from 0).
     */
    static Trajectory creditInput(AssembledTrajectory t, double baseline, String unit) {
        Map<Integer, Map<String, Double>> scoresByStep = t.newestVerdictsByStep(VerifierSignal::getScore);
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
        return new Trajectory(t.trajectoryId(), unit, t.taskId(), t.outcome().getReward(),
                last.getTerminal(), orNaN(last.getBootstrapValue()), baseline, steps);
    }

    /**
     * The output record: the step events' own fields, plus the credit the estimator gave each step, and the process
     * reward that went into it where the estimator has them. A {@code suspect} (quarantined under
     * job.suspect-policy=FLAG) keeps its credit but weighs 0. {@code scoringUnit} names the unit it was scored in
     * ({@code unit} of {@link #creditInput}), {@code unitSize} how many trajectories its credit was computed with.
     *
     * <p>Built with the all-arguments constructors, in schema order, not with Avro's builders: a builder per
     * step allocated and validated per field, for every step the job outputs.
     */
    static ScoredTrajectory scored(AssembledTrajectory t, Credit credit, Double baseline, boolean suspect,
            int scoringUnit, int unitSize) {
        List<ScoredStep> steps = new ArrayList<>(t.steps().size());
        double[] processRewards = credit.processRewards();
        for (int i = 0; i < t.steps().size(); i++) {
            StepEvent e = t.steps().get(i);
            steps.add(new ScoredStep(
                    e.getStepIndex(), // step_index
                    e.getTrainable(), // trainable
                    credit.advantages()[i], // advantage
                    credit.returns()[i], // target_return
                    e.getReward(), // reward
                    e.getValue(), // value
                    e.getLogprob(), // logprob
                    e.getTokenIds(), // token_ids
                    e.getPayloadRef(), // payload_ref
                    e.getPolicyVersion(), // policy_version
                    processRewards == null ? null : orNull(processRewards[i]))); // process_reward
        }
        return new ScoredTrajectory(
                t.trajectoryId(), // trajectory_id
                t.agentId(), // agent_id
                t.taskId(), // task_id
                t.groupId(), // group_id
                t.outcome().getReward(), // outcome_reward
                t.outcome().getSuccess(), // success
                t.outcome().getRevision(), // outcome_revision
                baseline, // baseline
                steps, // steps
                suspect, // suspect
                suspect ? 0.0 : 1.0, // weight
                t.outcomeTimedOut(), // outcome_timed_out
                t.verifiersTimedOut(), // verifiers_timed_out
                scoringUnit, // scoring_unit
                unitSize, // unit_size
                t.steps().get(t.steps().size() - 1).getTerminal()); // terminal
    }

    private static double orNaN(Double value) {
        return value == null ? Double.NaN : value;
    }

    /** A step the credit has no process reward for (NaN: no verdict judged it) has none in the batch either. */
    private static Double orNull(double value) {
        return Double.isNaN(value) ? null : value;
    }
}
