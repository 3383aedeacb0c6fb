package io.strawless.connectors.serde;

import static io.strawless.connectors.serde.AvroBinary.arrayFramingBytes;
import static io.strawless.connectors.serde.AvroBinary.nullableDoubleBytes;
import static io.strawless.connectors.serde.AvroBinary.nullableIntsBytes;
import static io.strawless.connectors.serde.AvroBinary.nullableStringBytes;
import static io.strawless.connectors.serde.AvroBinary.stringBytes;
import static io.strawless.connectors.serde.AvroBinary.varintBytes;
import static io.strawless.connectors.serde.AvroBinary.writeNullableDouble;
import static io.strawless.connectors.serde.AvroBinary.writeNullableEnum;
import static io.strawless.connectors.serde.AvroBinary.writeNullableInt;
import static io.strawless.connectors.serde.AvroBinary.writeNullableInts;
import static io.strawless.connectors.serde.AvroBinary.writeNullableString;

import io.strawless.schemas.OffsetRange;
import io.strawless.schemas.StepEvent;
import io.strawless.schemas.ScoredStep;
import io.strawless.schemas.ScoredTrajectory;
import io.strawless.schemas.TrainingBatch;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.List;
import java.util.Map;
import org.apache.avro.io.BinaryEncoder;
import org.apache.avro.io.Encoder;
import org.apache.avro.io.EncoderFactory;
import org.apache.flink.api.common.serialization.SerializationSchema;

/**
 * Writes a {@link TrainingBatch} as a Kafka value in Avro single-object encoding, byte for byte what
 * {@link SingleObjectSerializer} (Avro's own writer) writes, field by field instead of through Avro's generic
 * writer. A batch carries every step it scores, so the batch sink encodes about as many records as the job reads;
 * profiled, the generic writer (a schema walk, a virtual {@code get(i)} and a boxed value per field) was about a
 * third of the scoring stage's own time.
 *
 * <p>Written by hand from the schema, like {@link StepEventCodec}: {@link #FIELDS} lists each record's fields in the
 * order they are written, and the test fails when the schema and that list part, and compares the bytes with
 * Avro's.
 */
public final class TrainingBatchSerializer implements SerializationSchema<TrainingBatch> {

    private static final long serialVersionUID = 1L;

    /** Each record's fields, in the order they are written: the test compares this with the schema. */
    static final Map<String, List<String>> FIELDS = Map.of(
            "TrainingBatch", List.of("batch_id", "created_at", "estimator", "config_fingerprint", "backend",
                    "min_policy_version", "max_policy_version", "lineage", "trajectories", "verifier_reliability"),
            "ScoredTrajectory", List.of("trajectory_id", "agent_id", "task_id", "group_id", "outcome_reward",
                    "success", "outcome_revision", "baseline", "steps", "suspect", "weight", "outcome_timed_out",
                    "verifiers_timed_out", "scoring_unit", "unit_size", "terminal"),
            "ScoredStep", List.of("step_index", "trainable", "advantage", "target_return", "reward", "value",
                    "logprob", "token_ids", "payload_ref", "policy_version", "process_reward"),
            "OffsetRange", List.of("topic", "partition", "first_offset", "last_offset"));

    private static final byte[] HEADER = SingleObjectHeader.of(TrainingBatch.getClassSchema());

    /** Bytes of a batch's key, its id: a UUID in its 36-character form. */
    public static final int KEY_BYTES = 36;

    /**
     * Fields of StepEvent that a ScoredStep does not keep, besides the three leading ids: group_id, group_size,
     * event_time, observation_key, terminal, bootstrap_value. Each takes at least one byte.
     */
    private static final int DROPPED_STEP_FIELDS = 6;
    /** The credit a ScoredStep adds to what it keeps of its StepEvent: advantage and target_return, two doubles. */
    private static final int CREDIT_BYTES = 16;

    /**
     * The bytes of a scoring_unit and a unit_size as counted before the trajectory is scored, when neither is known:
     * each present, at the largest an int takes.
     */
    private static final int UNIT_BYTES = 2 * (1 + 5);

    /**
     * The bytes of a ScoredStep's process_reward as counted before the batch is scored: where the estimator writes
     * process rewards, present (the union's branch and a double), since which steps a verdict judged is not known yet;
     * else null, the branch alone.
     */
    private static int processRewardBytes(boolean processRewards) {
        return processRewards ? 1 + 8 : 1;
    }

    /**
     * At most the bytes that the ScoredTrajectory scored from these inputs takes in a batch, {@code processRewards}
     * saying whether the estimator writes its steps' process rewards. Exact but for the baseline (counted as present),
     * the scoring unit's id and size (counted as present and 5-byte ints) and, where {@code processRewards}, each
     * step's process reward (counted as present) when {@code steps} are decoded; for steps that arrive encoded
     * ({@link EncodedSteps}) each step's bound comes from its encoding's length, without decoding it, and exceeds
     * the exact size by what the dropped fields take beyond a byte each (an event time: 5 bytes more).
     */
    public static long trajectoryBytesBound(String trajectoryId, String agentId, String taskId, String groupId,
            int outcomeRevision, List<StepEvent> steps, boolean processRewards) {
        long bytes = stringBytes(trajectoryId) + stringBytes(agentId) + stringBytes(taskId)
                + nullableStringBytes(groupId)
                + 8 // outcome_reward
                + 1 // success
                + varintBytes(outcomeRevision)
                + 9 // baseline, as if present
                + arrayFramingBytes(steps.size())
                + 1 + 8 + 1 + 1 // suspect, weight, outcome_timed_out, verifiers_timed_out
                + UNIT_BYTES // scoring_unit, unit_size
                + 2; // terminal, present: the union's branch, then the symbol's (one byte for any of three)
        if (steps instanceof EncodedSteps encoded) {
            for (int i = 0; i < encoded.size(); i++) {
                bytes += scoredStepBytesBound(encoded.encoded(i), processRewards);
            }
        } else {
            for (StepEvent step : steps) {
                bytes += scoredStepBytes(step, processRewards);
            }
        }
        return bytes;
    }

    /** The bytes of a lineage entry in a batch; a batch's merged entry for a partition takes no more than any of its parts. */
    public static int offsetRangeBytes(OffsetRange range) {
        return stringBytes(range.getTopic()) + varintBytes(range.getPartition())
                + varintBytes(range.getFirstOffset()) + varintBytes(range.getLastOffset());
    }

    /**
     * At most the bytes a batch's value takes besides its trajectories' and lineage entries' own: the header, the
     * batch's own fields, the arrays' framing, and a verifier_reliability map of up to {@code verifiers} entries whose
     * ids take at most {@code maxVerifierIdBytes} bytes of UTF-8 each.
     */
    public static int envelopeBytesBound(String estimator, String configFingerprint, String backend, int verifiers,
            int maxVerifierIdBytes) {
        return HEADER.length
                + varintBytes(KEY_BYTES) + KEY_BYTES // batch_id
                + 10 // created_at
                + stringBytes(estimator) + stringBytes(configFingerprint) + stringBytes(backend)
                + 10 + 10 // min_policy_version, max_policy_version
                + 6 // lineage's framing: a count of up to 5 bytes, then the end
                + 6 // trajectories' framing
                + 6 + verifiers * (varintBytes(maxVerifierIdBytes) + maxVerifierIdBytes + 8);
    }

    /**
     * The exact bytes of the ScoredStep scored from {@code step}, its process reward counted as present where
     * {@code processRewards} (see {@link #processRewardBytes}).
     */
    static int scoredStepBytes(StepEvent step, boolean processRewards) {
        return varintBytes(step.getStepIndex())
                + 1 // trainable
                + CREDIT_BYTES
                + nullableDoubleBytes(step.getReward())
                + nullableDoubleBytes(step.getValue())
                + nullableDoubleBytes(step.getLogprob())
                + nullableIntsBytes(step.getTokenIds())
                + nullableStringBytes(step.getPayloadRef())
                + varintBytes(step.getPolicyVersion())
                + processRewardBytes(processRewards);
    }

    private static int scoredStepBytesBound(byte[] encodedStep, boolean processRewards) {
        try {
            int body = StepEventCodec.bodyBytesLessIds(encodedStep);
            if (body < 0) { // another schema version, or bytes only Avro reads: decode it (rare)
                return scoredStepBytes(StepEventCodec.decodeOtherVersion(encodedStep), processRewards);
            }
            return body - DROPPED_STEP_FIELDS + CREDIT_BYTES + processRewardBytes(processRewards);
        } catch (IOException e) {
            throw new UncheckedIOException("a step the job encoded itself does not read", e);
        }
    }

    private transient ArrayOutput buffer;
    private transient BinaryEncoder encoder;

    @Override
    public byte[] serialize(TrainingBatch batch) {
        if (buffer == null) {
            buffer = new ArrayOutput();
        }
        buffer.reset();
        try {
            buffer.write(HEADER);
            encoder = EncoderFactory.get().binaryEncoder(buffer, encoder);
            write(batch, encoder);
            encoder.flush();
        } catch (IOException e) {
            throw new UncheckedIOException("cannot encode TrainingBatch " + batch.getBatchId(), e);
        }
        return buffer.toByteArray();
    }

    /** The Avro binary body of the batch, in schema order. */
    static void write(TrainingBatch batch, Encoder out) throws IOException {
        out.writeString(batch.getBatchId());
        out.writeLong(batch.getCreatedAt().toEpochMilli());
        out.writeString(batch.getEstimator());
        out.writeString(batch.getConfigFingerprint());
        out.writeString(batch.getBackend());
        out.writeLong(batch.getMinPolicyVersion());
        out.writeLong(batch.getMaxPolicyVersion());
        List<OffsetRange> lineage = batch.getLineage();
        out.writeArrayStart();
        out.setItemCount(lineage.size());
        for (OffsetRange range : lineage) {
            out.startItem();
            out.writeString(range.getTopic());
            out.writeInt(range.getPartition());
            out.writeLong(range.getFirstOffset());
            out.writeLong(range.getLastOffset());
        }
        out.writeArrayEnd();
        List<ScoredTrajectory> trajectories = batch.getTrajectories();
        out.writeArrayStart();
        out.setItemCount(trajectories.size());
        for (ScoredTrajectory trajectory : trajectories) {
            out.startItem();
            write(trajectory, out);
        }
        out.writeArrayEnd();
        Map<String, Double> reliability = batch.getVerifierReliability();
        out.writeMapStart();
        out.setItemCount(reliability.size());
        for (Map.Entry<String, Double> entry : reliability.entrySet()) {
            out.startItem();
            out.writeString(entry.getKey());
            out.writeDouble(entry.getValue());
        }
        out.writeMapEnd();
    }

    private static void write(ScoredTrajectory trajectory, Encoder out) throws IOException {
        out.writeString(trajectory.getTrajectoryId());
        out.writeString(trajectory.getAgentId());
        out.writeString(trajectory.getTaskId());
        writeNullableString(trajectory.getGroupId(), out);
        out.writeDouble(trajectory.getOutcomeReward());
        out.writeBoolean(trajectory.getSuccess());
        out.writeInt(trajectory.getOutcomeRevision());
        writeNullableDouble(trajectory.getBaseline(), out);
        List<ScoredStep> steps = trajectory.getSteps();
        out.writeArrayStart();
        out.setItemCount(steps.size());
        for (ScoredStep step : steps) {
            out.startItem();
            write(step, out);
        }
        out.writeArrayEnd();
        out.writeBoolean(trajectory.getSuspect());
        out.writeDouble(trajectory.getWeight());
        out.writeBoolean(trajectory.getOutcomeTimedOut());
        out.writeBoolean(trajectory.getVerifiersTimedOut());
        writeNullableInt(trajectory.getScoringUnit(), out);
        writeNullableInt(trajectory.getUnitSize(), out);
        writeNullableEnum(trajectory.getTerminal(), out);
    }

    private static void write(ScoredStep step, Encoder out) throws IOException {
        out.writeInt(step.getStepIndex());
        out.writeBoolean(step.getTrainable());
        out.writeDouble(step.getAdvantage());
        out.writeDouble(step.getTargetReturn());
        writeNullableDouble(step.getReward(), out);
        writeNullableDouble(step.getValue(), out);
        writeNullableDouble(step.getLogprob(), out);
        writeNullableInts(step.getTokenIds(), out);
        writeNullableString(step.getPayloadRef(), out);
        out.writeLong(step.getPolicyVersion());
        writeNullableDouble(step.getProcessReward(), out);
    }
}
