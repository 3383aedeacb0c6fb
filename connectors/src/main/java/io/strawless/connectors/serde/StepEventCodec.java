package io.strawless.connectors.serde;

import io.strawless.schemas.StepEvent;
import io.strawless.schemas.TerminalKind;
import java.io.IOException;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import org.apache.flink.core.memory.DataInputView;
import org.apache.flink.core.memory.DataOutputView;
import org.apache.flink.types.StringValue;

/**
 * Writes and reads a {@link StepEvent} between the job's tasks, field by field, without Avro.
 *
 * <p>Why: every step crosses the network three times inside the job (to the assembler, to grouping, to
 * scoring), and Avro's generic writer, which resolves every field and union by reflection on each record,
 * was the largest item of the job's profile. This format is only ever read by the same build that wrote
 * it (Flink's network stack and {@code copy}); it is never stored in state, a savepoint or a topic, where
 * the Avro schema and its compatibility rules stay the contract. {@code StepEventCodecTest} fails when the
 * schema gains a field this codec does not carry.
 */
public final class StepEventCodec {

    /** The schema's fields, in the order they are written: the test compares this with the schema. */
    static final List<String> FIELDS = List.of("trajectory_id", "step_index", "agent_id", "task_id", "group_id",
            "group_size", "policy_version", "event_time", "trainable", "value", "reward", "logprob", "token_ids",
            "payload_ref", "observation_key", "terminal", "bootstrap_value");

    private static final TerminalKind[] TERMINAL_KINDS = TerminalKind.values();

    // One bit per nullable field, so that a null costs a bit and not a byte.
    private static final int GROUP_ID = 1;
    private static final int GROUP_SIZE = 1 << 1;
    private static final int VALUE = 1 << 2;
    private static final int REWARD = 1 << 3;
    private static final int LOGPROB = 1 << 4;
    private static final int TOKEN_IDS = 1 << 5;
    private static final int PAYLOAD_REF = 1 << 6;
    private static final int OBSERVATION_KEY = 1 << 7;
    private static final int BOOTSTRAP_VALUE = 1 << 8;

    private StepEventCodec() {}

    public static void write(StepEvent step, DataOutputView out) throws IOException {
        int present = (step.getGroupId() != null ? GROUP_ID : 0)
                | (step.getGroupSize() != null ? GROUP_SIZE : 0)
                | (step.getValue() != null ? VALUE : 0)
                | (step.getReward() != null ? REWARD : 0)
                | (step.getLogprob() != null ? LOGPROB : 0)
                | (step.getTokenIds() != null ? TOKEN_IDS : 0)
                | (step.getPayloadRef() != null ? PAYLOAD_REF : 0)
                | (step.getObservationKey() != null ? OBSERVATION_KEY : 0)
                | (step.getBootstrapValue() != null ? BOOTSTRAP_VALUE : 0);
        out.writeShort(present);
        StringValue.writeString(step.getTrajectoryId(), out);
        out.writeInt(step.getStepIndex());
        StringValue.writeString(step.getAgentId(), out);
        StringValue.writeString(step.getTaskId(), out);
        if ((present & GROUP_ID) != 0) {
            StringValue.writeString(step.getGroupId(), out);
        }
        if ((present & GROUP_SIZE) != 0) {
            out.writeInt(step.getGroupSize());
        }
        out.writeLong(step.getPolicyVersion());
        out.writeLong(step.getEventTime().toEpochMilli());
        out.writeBoolean(step.getTrainable());
        if ((present & VALUE) != 0) {
            out.writeDouble(step.getValue());
        }
        if ((present & REWARD) != 0) {
            out.writeDouble(step.getReward());
        }
        if ((present & LOGPROB) != 0) {
            out.writeDouble(step.getLogprob());
        }
        if ((present & TOKEN_IDS) != 0) {
            List<Integer> tokens = step.getTokenIds();
            out.writeInt(tokens.size());
            for (int i = 0; i < tokens.size(); i++) {
                out.writeInt(tokens.get(i));
            }
        }
        if ((present & PAYLOAD_REF) != 0) {
            StringValue.writeString(step.getPayloadRef(), out);
        }
        if ((present & OBSERVATION_KEY) != 0) {
            StringValue.writeString(step.getObservationKey(), out);
        }
        out.writeByte(step.getTerminal().ordinal());
        if ((present & BOOTSTRAP_VALUE) != 0) {
            out.writeDouble(step.getBootstrapValue());
        }
    }

    public static StepEvent read(DataInputView in) throws IOException {
        int present = in.readShort();
        StepEvent step = new StepEvent();
        step.setTrajectoryId(StringValue.readString(in));
        step.setStepIndex(in.readInt());
        step.setAgentId(StringValue.readString(in));
        step.setTaskId(StringValue.readString(in));
        if ((present & GROUP_ID) != 0) {
            step.setGroupId(StringValue.readString(in));
        }
        if ((present & GROUP_SIZE) != 0) {
            step.setGroupSize(in.readInt());
        }
        step.setPolicyVersion(in.readLong());
        step.setEventTime(Instant.ofEpochMilli(in.readLong()));
        step.setTrainable(in.readBoolean());
        if ((present & VALUE) != 0) {
            step.setValue(in.readDouble());
        }
        if ((present & REWARD) != 0) {
            step.setReward(in.readDouble());
        }
        if ((present & LOGPROB) != 0) {
            step.setLogprob(in.readDouble());
        }
        if ((present & TOKEN_IDS) != 0) {
            int count = in.readInt();
            List<Integer> tokens = new ArrayList<>(count);
            for (int i = 0; i < count; i++) {
                tokens.add(in.readInt());
            }
            step.setTokenIds(tokens);
        }
        if ((present & PAYLOAD_REF) != 0) {
            step.setPayloadRef(StringValue.readString(in));
        }
        if ((present & OBSERVATION_KEY) != 0) {
            step.setObservationKey(StringValue.readString(in));
        }
        step.setTerminal(TERMINAL_KINDS[in.readByte()]);
        if ((present & BOOTSTRAP_VALUE) != 0) {
            step.setBootstrapValue(in.readDouble());
        }
        return step;
    }
}
