package io.strawless.connectors.serde;

import io.strawless.schemas.OffsetRange;
import io.strawless.schemas.OutcomeEvent;
import io.strawless.schemas.VerifierSignal;
import java.io.IOException;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import org.apache.flink.core.memory.DataInputView;
import org.apache.flink.core.memory.DataOutputView;
import org.apache.flink.types.StringValue;

/**
 * The small Avro records that cross the network inside the job's own records (an outcome, verdicts and offset
 * ranges with every trajectory, outcomes and verdicts as inputs), written field by field. Flink's AvroSerializer
 * walks the schema with Avro's generic writer and reader for each of them; profiled, that was most of what moving
 * a trajectory between tasks cost, for about four such records per trajectory.
 *
 * <p>For the network only, where both ends run the same build: nothing here is kept in state. {@link #FIELDS}
 * lists each record's fields in the order they are written, and the test fails when a schema and that list part.
 */
public final class NetworkRecords {

    /** Each record's fields, in the order they are written: the test compares this with the schemas. */
    static final Map<String, List<String>> FIELDS = Map.of(
            "OutcomeEvent", List.of("trajectory_id", "reward", "success", "source", "revision", "event_time"),
            "VerifierSignal", List.of("trajectory_id", "step_index", "verifier_id", "score", "confidence", "event_time"),
            "OffsetRange", List.of("topic", "partition", "first_offset", "last_offset"));

    private NetworkRecords() {}

    public static void write(OutcomeEvent outcome, DataOutputView out) throws IOException {
        StringValue.writeString(outcome.getTrajectoryId(), out);
        out.writeDouble(outcome.getReward());
        out.writeBoolean(outcome.getSuccess());
        StringValue.writeString(outcome.getSource(), out);
        out.writeInt(outcome.getRevision());
        out.writeLong(outcome.getEventTime().toEpochMilli());
    }

    public static OutcomeEvent readOutcome(DataInputView in) throws IOException {
        return new OutcomeEvent(
                StringValue.readString(in),
                in.readDouble(),
                in.readBoolean(),
                StringValue.readString(in),
                in.readInt(),
                Instant.ofEpochMilli(in.readLong()));
    }

    public static void write(VerifierSignal verdict, DataOutputView out) throws IOException {
        StringValue.writeString(verdict.getTrajectoryId(), out);
        writeNullableInt(verdict.getStepIndex(), out);
        StringValue.writeString(verdict.getVerifierId(), out);
        out.writeDouble(verdict.getScore());
        boolean confidence = verdict.getConfidence() != null;
        out.writeBoolean(confidence);
        if (confidence) {
            out.writeDouble(verdict.getConfidence());
        }
        out.writeLong(verdict.getEventTime().toEpochMilli());
    }

    public static VerifierSignal readVerdict(DataInputView in) throws IOException {
        return new VerifierSignal(
                StringValue.readString(in),
                readNullableInt(in),
                StringValue.readString(in),
                in.readDouble(),
                in.readBoolean() ? in.readDouble() : null,
                Instant.ofEpochMilli(in.readLong()));
    }

    public static void write(OffsetRange range, DataOutputView out) throws IOException {
        StringValue.writeString(range.getTopic(), out);
        out.writeInt(range.getPartition());
        out.writeLong(range.getFirstOffset());
        out.writeLong(range.getLastOffset());
    }

    public static OffsetRange readOffsetRange(DataInputView in) throws IOException {
        return new OffsetRange(StringValue.readString(in), in.readInt(), in.readLong(), in.readLong());
    }

    private static void writeNullableInt(Integer value, DataOutputView out) throws IOException {
        out.writeBoolean(value != null);
        if (value != null) {
            out.writeInt(value);
        }
    }

    private static Integer readNullableInt(DataInputView in) throws IOException {
        return in.readBoolean() ? in.readInt() : null;
    }
}
