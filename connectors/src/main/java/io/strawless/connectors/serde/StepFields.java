package io.strawless.connectors.serde;

import io.strawless.schemas.StepEvent;
import io.strawless.schemas.TerminalKind;

/**
 * What the job's input rules check of a step, and its event time, which the watermark reads. Taken from a decoded
 * step ({@link #of}), or read in place from the step's encoding ({@link StepEventCodec#fields}), which saves the
 * source decoding nine in ten input records only to check them: one set of rules reads both.
 *
 * @param idMissing whether the trajectory, task or agent id is empty or blank
 * @param longestId the length in chars of its longest id (trajectory, agent, task, group, observation key)
 * @param groupSize its {@code group_size}, null without one or without a {@code group_id}: a size without a group
 *     means nothing to grouping, and a producer whose integers cannot be null (proto3, Go) writes 0 there
 * @param policyVersion its {@code policy_version}
 * @param tokenCount how many token ids the step carries inline (0 without any)
 * @param payloadRefLength the length of {@code payload_ref} in chars (0 without one)
 */
public record StepFields(
        String trajectoryId,
        int stepIndex,
        boolean idMissing,
        int longestId,
        Integer groupSize,
        long policyVersion,
        long eventTime,
        TerminalKind terminal,
        Double value,
        Double reward,
        Double logprob,
        Double bootstrapValue,
        int tokenCount,
        int payloadRefLength) {

    public static StepFields of(StepEvent step) {
        return new StepFields(
                step.getTrajectoryId(),
                step.getStepIndex(),
                blank(step.getTrajectoryId()) || blank(step.getTaskId()) || blank(step.getAgentId()),
                Math.max(Math.max(length(step.getTrajectoryId()), length(step.getAgentId())),
                        Math.max(length(step.getTaskId()),
                                Math.max(length(step.getGroupId()), length(step.getObservationKey())))),
                step.getGroupId() != null ? step.getGroupSize() : null,
                step.getPolicyVersion(),
                step.getEventTime().toEpochMilli(),
                step.getTerminal(),
                step.getValue(),
                step.getReward(),
                step.getLogprob(),
                step.getBootstrapValue(),
                step.getTokenIds() == null ? 0 : step.getTokenIds().size(),
                step.getPayloadRef() == null ? 0 : step.getPayloadRef().length());
    }

    private static int length(String id) {
        return id == null ? 0 : id.length();
    }

    private static boolean blank(String id) {
        return id == null || id.isBlank();
    }
}
