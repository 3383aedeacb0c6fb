package io.strawless.pipeline;

import io.strawless.connectors.serde.InputRecord;
import io.strawless.connectors.serde.InputRecordSerializer;
import io.strawless.pipeline.assembly.AssembledTrajectory;
import io.strawless.schemas.OutcomeEvent;
import io.strawless.schemas.StepEvent;
import io.strawless.schemas.TerminalKind;
import io.strawless.schemas.VerifierSignal;
import java.io.IOException;
import java.time.Instant;
import java.util.List;
import org.apache.flink.api.common.serialization.SerializerConfigImpl;
import org.apache.flink.api.common.typeutils.TypeSerializer;
import org.apache.flink.core.memory.DataInputDeserializer;
import org.apache.flink.core.memory.DataOutputSerializer;

/** Small builders of input records for the pipeline's tests. */
public final class Events {

    private static long nextOffset;

    private Events() {}

    public static StepEvent.Builder step(String trajectoryId, int index, long eventTime) {
        return StepEvent.newBuilder()
                .setTrajectoryId(trajectoryId)
                .setStepIndex(index)
                .setAgentId("agent-1")
                .setTaskId("task-1")
                .setEventTime(Instant.ofEpochMilli(eventTime))
                .setReward(0.0)
                .setTerminal(TerminalKind.NONE);
    }

    public static StepEvent terminalStep(String trajectoryId, int index, long eventTime) {
        return step(trajectoryId, index, eventTime).setTerminal(TerminalKind.TERMINATED).build();
    }

    public static OutcomeEvent outcome(String trajectoryId, double reward, int revision, long eventTime) {
        return OutcomeEvent.newBuilder()
                .setTrajectoryId(trajectoryId)
                .setReward(reward)
                .setSuccess(reward > 0)
                .setRevision(revision)
                .setEventTime(Instant.ofEpochMilli(eventTime))
                .build();
    }

    public static VerifierSignal verdict(String trajectoryId, int stepIndex, String verifier, double score, long eventTime) {
        return VerifierSignal.newBuilder()
                .setTrajectoryId(trajectoryId)
                .setStepIndex(stepIndex)
                .setVerifierId(verifier)
                .setScore(score)
                .setEventTime(Instant.ofEpochMilli(eventTime))
                .build();
    }

    /** A completed three-step trajectory whose middle step is tool output (not trainable). */
    public static AssembledTrajectory trajectory(String id, String group, int groupSize, double reward, long policy) {
        List<StepEvent> steps = List.of(
                step(id, 0, 100).setPolicyVersion(policy).build(),
                step(id, 1, 100).setTrainable(false).setPolicyVersion(policy).build(),
                step(id, 2, 100).setTerminal(TerminalKind.TERMINATED).setPolicyVersion(policy).build());
        return new AssembledTrajectory(id, "agent-1", "task-1", group, groupSize, steps,
                outcome(id, reward, 0, 100), List.of(), List.of());
    }

    public static InputRecord in(StepEvent step) {
        return InputRecord.ofStep("agent.steps", 0, nextOffset++, step.getEventTime().toEpochMilli(), step);
    }

    public static InputRecord in(OutcomeEvent outcome) {
        return InputRecord.ofOutcome("agent.outcomes", 0, nextOffset++, outcome.getEventTime().toEpochMilli(), outcome);
    }

    public static InputRecord in(VerifierSignal verdict) {
        return InputRecord.ofVerdict("agent.verdicts", 0, nextOffset++, verdict.getEventTime().toEpochMilli(), verdict);
    }

    /**
     * The input as the assembler receives it in the job: through the network serializer of the edge before it,
     * so that a step arrives as its bytes alone and is decoded only where the assembler asks for it.
     */
    public static InputRecord overTheNetwork(InputRecord input) throws IOException {
        TypeSerializer<InputRecord> serializer =
                InputRecordSerializer.TYPE_INFO.createSerializer(new SerializerConfigImpl());
        DataOutputSerializer out = new DataOutputSerializer(256);
        serializer.serialize(input, out);
        return serializer.deserialize(new DataInputDeserializer(out.getSharedBuffer(), 0, out.length()));
    }
}
