package io.strawless.connectors.serde;

import io.strawless.schemas.DeadLetter;
import io.strawless.schemas.OffsetRange;
import io.strawless.schemas.OutcomeEvent;
import io.strawless.schemas.ScoredStep;
import io.strawless.schemas.ScoredTrajectory;
import io.strawless.schemas.StepEvent;
import io.strawless.schemas.TerminalKind;
import io.strawless.schemas.TrainingBatch;
import io.strawless.schemas.UnscoredReason;
import io.strawless.schemas.UnscoredTrajectory;
import io.strawless.schemas.VerifierSignal;
import java.nio.ByteBuffer;
import java.time.Instant;
import java.util.List;

/** One fully populated instance of every record type (optional fields set, so they round-trip too). */
public final class TestRecords {

    public static final Instant T0 = Instant.ofEpochMilli(1_700_000_000_123L);

    private TestRecords() {}

    public static StepEvent step(String trajectoryId, int index) {
        return StepEvent.newBuilder()
                .setTrajectoryId(trajectoryId)
                .setStepIndex(index)
                .setAgentId("agent-7")
                .setTaskId("task-42")
                .setGroupId("group-1")
                .setGroupSize(4)
                .setPolicyVersion(12)
                .setEventTime(T0.plusMillis(index))
                .setTrainable(index % 2 == 0)
                .setValue(0.25)
                .setReward(0.5)
                .setLogprob(-1.5)
                .setTokenIds(List.of(101, 102, 103))
                .setPayloadRef("s3://bucket/" + trajectoryId + "/" + index)
                .setObservationKey("obs-" + index)
                .setTerminal(index == 2 ? TerminalKind.TRUNCATED : TerminalKind.NONE)
                .setBootstrapValue(index == 2 ? 0.75 : null)
                .build();
    }

    public static OutcomeEvent outcome(String trajectoryId) {
        return OutcomeEvent.newBuilder()
                .setTrajectoryId(trajectoryId)
                .setReward(1.0)
                .setSuccess(true)
                .setSource("unit-tests")
                .setRevision(2)
                .setEventTime(T0.plusSeconds(5))
                .build();
    }

    public static VerifierSignal verdict(String trajectoryId) {
        return VerifierSignal.newBuilder()
                .setTrajectoryId(trajectoryId)
                .setStepIndex(1)
                .setVerifierId("prm-1")
                .setScore(0.9)
                .setConfidence(0.8)
                .setEventTime(T0.plusSeconds(6))
                .build();
    }

    public static TrainingBatch batch(String batchId) {
        ScoredStep scored = ScoredStep.newBuilder()
                .setStepIndex(0)
                .setTrainable(true)
                .setAdvantage(0.5)
                .setTargetReturn(1.0)
                .setReward(0.5)
                .setValue(0.25)
                .setLogprob(-1.5)
                .setTokenIds(List.of(1, 2))
                .setPayloadRef("ref")
                .setPolicyVersion(12)
                .build();
        ScoredTrajectory trajectory = ScoredTrajectory.newBuilder()
                .setTrajectoryId("traj-1")
                .setAgentId("agent-7")
                .setTaskId("task-42")
                .setGroupId("group-1")
                .setOutcomeReward(1.0)
                .setSuccess(true)
                .setOutcomeRevision(2)
                .setBaseline(0.4)
                .setSteps(List.of(scored))
                .build();
        return TrainingBatch.newBuilder()
                .setBatchId(batchId)
                .setCreatedAt(T0.plusSeconds(10))
                .setEstimator("grpo")
                .setConfigFingerprint("abc123")
                .setBackend("opencl")
                .setMinPolicyVersion(11)
                .setMaxPolicyVersion(12)
                .setLineage(List.of(new OffsetRange("agent.steps", 0, 10L, 20L)))
                .setTrajectories(List.of(trajectory))
                .build();
    }

    public static DeadLetter deadLetter(byte[] key, byte[] value) {
        return DeadLetter.newBuilder()
                .setTopic("agent.steps")
                .setPartition(3)
                .setOffset(99)
                .setOriginalKey(key == null ? null : ByteBuffer.wrap(key))
                .setOriginalValue(value == null ? null : ByteBuffer.wrap(value))
                .setErrorClass("BAD_HEADER")
                .setErrorMessage("not Avro")
                .setFailedAt(T0.plusSeconds(7))
                .build();
    }

    public static UnscoredTrajectory unscored(String trajectoryId) {
        return UnscoredTrajectory.newBuilder()
                .setTrajectoryId(trajectoryId)
                .setReason(UnscoredReason.OUTCOME_TIMEOUT)
                .setDetail("no outcome within 10 min")
                .setRoutedAt(T0.plusSeconds(600))
                .setSteps(List.of(step(trajectoryId, 0), step(trajectoryId, 1)))
                .setOutcomes(List.of(outcome(trajectoryId)))
                .setVerdicts(List.of(verdict(trajectoryId)))
                .build();
    }
}
