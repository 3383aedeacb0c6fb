package io.strawless.schemas;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.nio.ByteBuffer;
import java.time.Instant;
import java.util.List;
import org.apache.avro.SchemaNormalization;
import org.apache.avro.message.MissingSchemaException;
import org.junit.jupiter.api.Test;

/** The wire format: Avro single-object encoding, C3 01 + 8-byte schema fingerprint + body. */
class SingleObjectEncodingTest {

    private static final Instant T = Instant.ofEpochMilli(1_700_000_000_000L);

    static StepEvent step() {
        return StepEvent.newBuilder()
                .setTrajectoryId("t1").setStepIndex(3).setAgentId("a1").setTaskId("k1")
                .setGroupId("g1").setGroupSize(4).setPolicyVersion(7).setEventTime(T)
                .setTrainable(false).setValue(0.5).setReward(0.25).setLogprob(-1.5)
                .setTokenIds(List.of(1, 2, 3)).setObservationKey("s0")
                .setTerminal(TerminalKind.TRUNCATED).setBootstrapValue(0.9)
                .build();
    }

    @Test
    void headerCarriesTheSchemaFingerprint() throws Exception {
        ByteBuffer bytes = step().toByteBuffer();
        assertEquals((byte) 0xC3, bytes.get(0));
        assertEquals((byte) 0x01, bytes.get(1));
        long fingerprint = bytes.order(java.nio.ByteOrder.LITTLE_ENDIAN).getLong(2);
        assertEquals(SchemaNormalization.parsingFingerprint64(StepEvent.getClassSchema()), fingerprint);
    }

    @Test
    void everyContractRoundTrips() throws Exception {
        StepEvent step = step();
        assertEquals(step, StepEvent.fromByteBuffer(step.toByteBuffer()));

        OutcomeEvent outcome = OutcomeEvent.newBuilder().setTrajectoryId("t1").setReward(1.0).setSuccess(true)
                .setSource("unit-tests").setRevision(2).setEventTime(T).build();
        assertEquals(outcome, OutcomeEvent.fromByteBuffer(outcome.toByteBuffer()));

        VerifierSignal verdict = VerifierSignal.newBuilder().setTrajectoryId("t1").setStepIndex(null)
                .setVerifierId("prm").setScore(0.8).setConfidence(0.6).setEventTime(T).build();
        assertEquals(verdict, VerifierSignal.fromByteBuffer(verdict.toByteBuffer()));

        TrainingBatch batch = TrainingBatch.newBuilder().setBatchId("b1").setCreatedAt(T).setEstimator("grpo")
                .setConfigFingerprint("grpo-1").setBackend("opencl").setMinPolicyVersion(1).setMaxPolicyVersion(2)
                .setLineage(List.of(new OffsetRange("agent.steps", 0, 10L, 20L)))
                .setTrajectories(List.of(ScoredTrajectory.newBuilder().setTrajectoryId("t1").setAgentId("a1")
                        .setTaskId("k1").setGroupId("g1").setOutcomeReward(1.0).setSuccess(true).setBaseline(0.5)
                        .setSteps(List.of(ScoredStep.newBuilder().setStepIndex(0).setTrainable(true)
                                .setAdvantage(0.5).setTargetReturn(1.0).setReward(0.0).setValue(0.5)
                                .setLogprob(-0.1).setTokenIds(List.of(5)).setPolicyVersion(1).build()))
                        .build()))
                .build();
        assertEquals(batch, TrainingBatch.fromByteBuffer(batch.toByteBuffer()));

        DeadLetter dead = DeadLetter.newBuilder().setTopic("agent.steps").setPartition(1).setOffset(42)
                .setOriginalKey(ByteBuffer.wrap(new byte[] {1})).setOriginalValue(ByteBuffer.wrap(new byte[] {2, 3}))
                .setErrorClass("AvroRuntimeException").setErrorMessage("truncated").setFailedAt(T).build();
        DeadLetter deadBack = DeadLetter.fromByteBuffer(dead.toByteBuffer());
        assertArrayEquals(new byte[] {2, 3}, deadBack.getOriginalValue().array());
        assertEquals(dead, deadBack);

        UnscoredTrajectory unscored = UnscoredTrajectory.newBuilder().setTrajectoryId("t1")
                .setReason(UnscoredReason.OUTCOME_TIMEOUT).setDetail("no outcome").setRoutedAt(T)
                .setSteps(List.of(step)).setOutcomes(List.of()).setVerdicts(List.of(verdict)).build();
        assertEquals(unscored, UnscoredTrajectory.fromByteBuffer(unscored.toByteBuffer()));
    }

    @Test
    void aReaderRejectsAnotherRecordsBytes() throws Exception {
        ByteBuffer stepBytes = step().toByteBuffer();
        assertThrows(MissingSchemaException.class, () -> OutcomeEvent.fromByteBuffer(stepBytes));
    }
}
