package io.strawless.pipeline.assembly;

import io.strawless.connectors.serde.EncodedSteps;
import io.strawless.schemas.OffsetRange;
import io.strawless.schemas.OutcomeEvent;
import io.strawless.schemas.StepEvent;
import io.strawless.schemas.UnscoredReason;
import io.strawless.schemas.UnscoredTrajectory;
import io.strawless.schemas.VerifierSignal;
import java.time.Instant;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Function;

/**
 * A trajectory whose steps are contiguous from 0 up to a terminal step and whose outcome has arrived:
 * ready to be scored.
 *
 * @param steps ordered by step index, no gaps, the last one terminal
 * @param outcome the newest revision that arrived before completion
 * @param verdicts verifier signals in arrival order
 * @param lineage the source offsets every input of the trajectory came from
 * @param groupSize expected size of the trajectory's group, 0 when it has none
 * @param outcomeTimedOut true when the outcome never came and the trajectory is scored on its verifier signals
 *     alone ({@code job.outcome-timeout-policy=PROCESS_ONLY}); {@code outcome} is then a placeholder (reward 0)
 *     that stands for no outcome
 * @param verifiersTimedOut true when {@code job.verifier-timeout} passed before the required verifiers had judged
 *     every trainable step, and the trajectory is scored with the verdicts that came
 *     ({@code job.verifier-timeout-policy=SCORE})
 */
public record AssembledTrajectory(
        String trajectoryId,
        String agentId,
        String taskId,
        String groupId,
        int groupSize,
        List<StepEvent> steps,
        OutcomeEvent outcome,
        List<VerifierSignal> verdicts,
        List<OffsetRange> lineage,
        boolean outcomeTimedOut,
        boolean verifiersTimedOut) {

    /** A trajectory with its outcome. */
    public AssembledTrajectory(String trajectoryId, String agentId, String taskId, String groupId, int groupSize,
            List<StepEvent> steps, OutcomeEvent outcome, List<VerifierSignal> verdicts, List<OffsetRange> lineage) {
        this(trajectoryId, agentId, taskId, groupId, groupSize, steps, outcome, verdicts, lineage, false);
    }

    /** A trajectory whose required verifiers, if any, all came in time. */
    public AssembledTrajectory(String trajectoryId, String agentId, String taskId, String groupId, int groupSize,
            List<StepEvent> steps, OutcomeEvent outcome, List<VerifierSignal> verdicts, List<OffsetRange> lineage,
            boolean outcomeTimedOut) {
        this(trajectoryId, agentId, taskId, groupId, groupSize, steps, outcome, verdicts, lineage, outcomeTimedOut,
                false);
    }

    /** The outcomes that arrived for it: none when it timed out, else the one it is scored with. */
    public List<OutcomeEvent> outcomesReceived() {
        return outcomeTimedOut ? List.of() : List.of(outcome);
    }

    /**
     * Each verifier's newest verdict on each step it judged, by step index, then by verifier in the order they first
     * judged the step; verdicts without a step index (on the whole trajectory) are left out. {@code reading} turns a
     * verdict into what is kept of it: its score for the credit estimators, whether it called the step good for the
     * reliability model. One reading of the verdicts for both, so that they count the same verdicts.
     */
    public <V> Map<Integer, Map<String, V>> newestVerdictsByStep(Function<VerifierSignal, V> reading) {
        Map<Integer, Map<String, V>> byStep = new HashMap<>();
        for (VerifierSignal verdict : verdicts) {
            if (verdict.getStepIndex() != null) {
                // Signals are kept in arrival order: a verifier's newer verdict on a step replaces its older one.
                byStep.computeIfAbsent(verdict.getStepIndex(), k -> new LinkedHashMap<>())
                        .put(verdict.getVerifierId(), reading.apply(verdict));
            }
        }
        return byStep;
    }

    /** The record that routes it to the unscored topic, with everything that arrived for it. */
    public UnscoredTrajectory unscored(UnscoredReason reason, String detail, Instant routedAt) {
        return UnscoredTrajectory.newBuilder()
                .setTrajectoryId(trajectoryId)
                .setReason(reason)
                .setDetail(detail)
                .setRoutedAt(routedAt)
                .setSteps(steps)
                .setOutcomes(outcomesReceived())
                .setVerdicts(verdicts)
                .build();
    }

    public long minPolicyVersion() {
        if (steps instanceof EncodedSteps encoded) {
            return encoded.minPolicyVersion();
        }
        return steps.stream().mapToLong(StepEvent::getPolicyVersion).min().orElse(0);
    }

    public long maxPolicyVersion() {
        if (steps instanceof EncodedSteps encoded) {
            return encoded.maxPolicyVersion();
        }
        return steps.stream().mapToLong(StepEvent::getPolicyVersion).max().orElse(0);
    }
}
