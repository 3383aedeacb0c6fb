package io.strawless.connectors.serde;

import static io.strawless.connectors.serde.AvroBinary.writeNullableDouble;
import static io.strawless.connectors.serde.AvroBinary.writeNullableInts;
import static io.strawless.connectors.serde.AvroBinary.writeNullableString;

import io.strawless.schemas.OffsetRange;
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
                    "success", "outcome_revision", "baseline", "steps", "suspect", "weight", "outcome_timed_out"),
            "ScoredStep", List.of("step_index", "trainable", "advantage", "target_return", "reward", "value",
                    "logprob", "token_ids", "payload_ref", "policy_version"),
            "OffsetRange", List.of("topic", "partition", "first_offset", "last_offset"));

    private static final byte[] HEADER = AvroBinary.singleObjectHeader(TrainingBatch.getClassSchema());

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
    }
}
