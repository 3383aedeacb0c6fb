package io.strawless.connectors.serde;

import static io.strawless.connectors.serde.AvroBinary.NULL;
import static io.strawless.connectors.serde.AvroBinary.PRESENT;
import static io.strawless.connectors.serde.AvroBinary.writeNullableDouble;
import static io.strawless.connectors.serde.AvroBinary.writeNullableInts;
import static io.strawless.connectors.serde.AvroBinary.writeNullableString;

import io.strawless.schemas.SchemaHistory;
import io.strawless.schemas.StepEvent;
import io.strawless.schemas.TerminalKind;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.apache.avro.AvroRuntimeException;
import org.apache.avro.io.BinaryEncoder;
import org.apache.avro.io.Decoder;
import org.apache.avro.io.DecoderFactory;
import org.apache.avro.io.Encoder;
import org.apache.avro.io.EncoderFactory;
import org.apache.avro.message.BinaryMessageDecoder;
import org.apache.flink.core.memory.DataInputView;
import org.apache.flink.core.memory.DataOutputView;

/**
 * Writes and reads a {@link StepEvent} in Avro's binary encoding, field by field, without the reflective datum
 * writer and reader: with Avro's own encoder, and read with a cursor over the bytes (Avro's own decoder where the
 * bytes are untrusted, or unusual).
 *
 * <p>Why: every step crosses the network three times inside the job (to the assembler, to grouping, to
 * scoring) and waits in the assembler's state, and Avro's generic writer and reader, which look up every field
 * and resolve every union by reflection on each record, were the largest item of the job's profile. Most steps
 * now travel as the bytes they came as ({@code InputRecord.encodedStep}, {@link EncodedSteps}): this codec
 * decodes them where a stage reads them, and encodes only steps that arrived in an older schema version. The bytes
 * are the same as Avro's {@code SpecificDatumWriter} writes (the test compares them), so state written with
 * {@link #encode} is ordinary Avro single-object encoding that Avro's resolving decoder reads after the schema
 * evolves, and {@code StepEventCodecTest} fails when the schema gains a field this codec does not know.
 *
 * <p>Keeps buffers between calls: one instance per thread (per serializer or operator instance).
 */
public final class StepEventCodec {

    /** The schema's fields, in the order they are written: the test compares this with the schema. */
    static final List<String> FIELDS = List.of("trajectory_id", "step_index", "agent_id", "task_id", "group_id",
            "group_size", "policy_version", "event_time", "trainable", "value", "reward", "logprob", "token_ids",
            "payload_ref", "observation_key", "terminal", "bootstrap_value");

    private static final TerminalKind[] TERMINAL_KINDS = TerminalKind.values();
    private static final byte[] SINGLE_OBJECT_HEADER = SingleObjectHeader.of(StepEvent.getClassSchema());
    /** Steps an earlier release encoded (in a savepoint) or an agent sent in an earlier schema version. */
    private static final BinaryMessageDecoder<StepEvent> OTHER_VERSIONS = SchemaHistory.decoder(StepEvent.class);

    /** For writing only, made on first use: most codecs only read ({@link EncodedSteps} makes one per trajectory). */
    private ArrayOutput buffer;
    private final RepeatedString trajectoryIds = new RepeatedString();
    private final RepeatedString agentIds = new RepeatedString();
    private final RepeatedString taskIds = new RepeatedString();
    private final RepeatedString groupIds = new RepeatedString();
    private BinaryEncoder encoder;

    /** The step as Avro single-object encoding, as {@code StepEvent.toByteBuffer()} writes it. */
    public byte[] encode(StepEvent step) throws IOException {
        ArrayOutput buffer = emptyBuffer();
        buffer.write(SINGLE_OBJECT_HEADER);
        writeBody(step);
        return buffer.toByteArray();
    }

    /**
     * Reads what {@link #encode} wrote; Avro's resolving decoder reads a step written with another schema version.
     *
     * <p>A step in the current schema is read straight from its bytes, as {@link #fields} reads them, with no
     * decoder. In JFR profiles of the bench (2026-11-27), Avro's decoder (setting up its buffer, a {@code Utf8} per
     * id, a box per token id) was a fifth of the scoring stage's samples: it decodes every step it scores. What this
     * build's source passes on, the cursor reads (it passes on only the bytes {@link #fields} accepts, and encodes
     * every other step again). Earlier releases passed on whatever Avro's reader accepted, and their savepoints may
     * hold such steps (a boolean byte other than 0 or 1, an int Avro truncates): the cursor refuses those, and Avro's
     * decoder reads them as it always did, or every restore would fail.
     */
    public StepEvent decode(byte[] singleObject) throws IOException {
        if (!hasCurrentHeader(singleObject)) {
            return decodeOtherVersion(singleObject);
        }
        try {
            return readInPlace(singleObject);
        } catch (IOException | AvroRuntimeException unusual) {
            return readByAvro(singleObject);
        }
    }

    /** A step in the current schema, read by Avro's decoder: whatever Avro's reader accepts, it reads. */
    private StepEvent readByAvro(byte[] singleObject) throws IOException {
        return read(DecoderFactory.get().binaryDecoder(singleObject, SINGLE_OBJECT_HEADER.length,
                singleObject.length - SINGLE_OBJECT_HEADER.length, null));
    }

    /**
     * The step, read by Avro's decoder, whose field an in-place accessor below could not read because the cursor
     * refused its bytes: as {@link #decode} falls back, and for the same steps (those an earlier release kept, which
     * a restore must read as it did). Where Avro's decoder fails too, the cursor's failure is thrown, with Avro's
     * suppressed in it. The accessors read in place within a try, which costs nothing until it catches.
     */
    private static StepEvent decodeRefused(byte[] singleObject, Exception refusal) throws IOException {
        try {
            return new StepEventCodec().readByAvro(singleObject);
        } catch (IOException | AvroRuntimeException alsoByAvro) {
            refusal.addSuppressed(alsoByAvro);
            if (refusal instanceof IOException io) {
                throw io;
            }
            throw (AvroRuntimeException) refusal;
        }
    }

    /** A step in the current schema, read by the cursor; fails on anything but plainly well-formed bytes. */
    private StepEvent readInPlace(byte[] singleObject) throws IOException {
        FieldCursor at = new FieldCursor(singleObject);
        StepEvent step = new StepEvent();
        step.setTrajectoryId(trajectoryIds.read(at));
        step.setStepIndex(at.readInt());
        step.setAgentId(agentIds.read(at));
        step.setTaskId(taskIds.read(at));
        step.setGroupId(at.union() == NULL ? null : groupIds.read(at));
        step.setGroupSize(at.union() == NULL ? null : at.readInt());
        step.setPolicyVersion(at.readLong());
        step.setEventTime(Instant.ofEpochMilli(at.readLong()));
        step.setTrainable(at.readBoolean());
        step.setValue(at.readNullableDouble());
        step.setReward(at.readNullableDouble());
        step.setLogprob(at.readNullableDouble());
        step.setTokenIds(at.union() == NULL ? null : at.readInts());
        step.setPayloadRef(at.union() == NULL ? null : at.readString());
        step.setObservationKey(at.union() == NULL ? null : at.readString());
        step.setTerminal(at.readTerminal());
        step.setBootstrapValue(at.readNullableDouble());
        if (!at.atEnd()) {
            throw at.corrupt("bytes left over after the step");
        }
        return step;
    }

    /**
     * The step index of an encoded step, read without decoding the rest: the index follows the trajectory id, the
     * schema's first field (the test pins that order).
     */
    public static int stepIndex(byte[] singleObject) throws IOException {
        if (!hasCurrentHeader(singleObject)) {
            return decodeOtherVersion(singleObject).getStepIndex();
        }
        try {
            FieldCursor at = new FieldCursor(singleObject);
            at.skipString(); // trajectory_id
            return at.readInt();
        } catch (IOException | AvroRuntimeException refused) {
            return decodeRefused(singleObject, refused).getStepIndex();
        }
    }

    /** The trajectory id of an encoded step, read without decoding the rest. */
    public static String trajectoryId(byte[] singleObject) throws IOException {
        if (!hasCurrentHeader(singleObject)) {
            return decodeOtherVersion(singleObject).getTrajectoryId();
        }
        try {
            return new FieldCursor(singleObject).readString();
        } catch (IOException | AvroRuntimeException refused) {
            return decodeRefused(singleObject, refused).getTrajectoryId();
        }
    }

    /** The policy version of an encoded step, read without decoding the rest. */
    public static long policyVersion(byte[] singleObject) throws IOException {
        if (!hasCurrentHeader(singleObject)) {
            return decodeOtherVersion(singleObject).getPolicyVersion();
        }
        try {
            FieldCursor at = new FieldCursor(singleObject);
            at.skipToPolicyVersion();
            return at.readLong();
        } catch (IOException | AvroRuntimeException refused) {
            return decodeRefused(singleObject, refused).getPolicyVersion();
        }
    }

    /**
     * The fields every step of a trajectory repeats (agent_id, task_id, group_id and group_size), as their Avro
     * binary encoding in the current schema: copied from the step's encoding, which holds them in that order after
     * the step index. For a trajectory to hold its steps to them with {@link #hasTrajectoryFields}.
     */
    public static byte[] trajectoryFields(byte[] singleObject) throws IOException {
        if (!hasCurrentHeader(singleObject)) {
            return trajectoryFields(new StepEventCodec().encode(decodeOtherVersion(singleObject)));
        }
        try {
            FieldCursor at = new FieldCursor(singleObject);
            at.skipToAgentId();
            int start = at.position;
            at.skipTrajectoryFields();
            return Arrays.copyOfRange(singleObject, start, at.position);
        } catch (IOException | AvroRuntimeException refused) {
            // Encoded again as Avro's writers write it, which the cursor reads.
            return trajectoryFields(new StepEventCodec().encode(decodeRefused(singleObject, refused)));
        }
    }

    /**
     * Whether an encoded step has these {@link #trajectoryFields}, compared in place. Avro's writers write equal
     * fields as equal bytes; bytes that differ may still be equal fields written otherwise (a varint in more bytes
     * than it needs), which only decoding tells.
     */
    public static boolean hasTrajectoryFields(byte[] singleObject, byte[] trajectoryFields) throws IOException {
        if (!hasCurrentHeader(singleObject)) {
            return Arrays.equals(trajectoryFields(singleObject), trajectoryFields);
        }
        try {
            FieldCursor at = new FieldCursor(singleObject);
            at.skipToAgentId();
            int start = at.position;
            at.skipTrajectoryFields();
            return Arrays.equals(singleObject, start, at.position, trajectoryFields, 0, trajectoryFields.length);
        } catch (IOException | AvroRuntimeException refused) {
            return Arrays.equals(trajectoryFields(singleObject), trajectoryFields); // which decodes the step
        }
    }

    /**
     * The body bytes (the encoding less its header) of an encoded step in the current schema, less those of its
     * leading id fields (trajectory_id, agent_id, task_id), read without decoding the rest. What a batch keeps of a
     * step is its body less those ids and a few small fields, plus its credit: see
     * {@link TrainingBatchSerializer#trajectoryBytesBound}. -1, for the caller to decode the step, for a step
     * encoded with another schema version or bytes the cursor refuses (Avro's decoder reads them, see
     * {@link #decode}).
     */
    static int bodyBytesLessIds(byte[] singleObject) {
        if (!hasCurrentHeader(singleObject)) {
            return -1;
        }
        try {
            FieldCursor at = new FieldCursor(singleObject);
            int start = at.position;
            at.skipString(); // trajectory_id
            int afterTrajectoryId = at.position;
            at.readInt(); // step_index
            int afterStepIndex = at.position;
            at.skipString(); // agent_id
            at.skipString(); // task_id
            int ids = (afterTrajectoryId - start) + (at.position - afterStepIndex);
            return singleObject.length - SINGLE_OBJECT_HEADER.length - ids;
        } catch (IOException | AvroRuntimeException refused) {
            return -1;
        }
    }

    /** Whether an encoded step ends its trajectory (its {@code terminal} is not NONE), read without decoding it. */
    public static boolean isTerminal(byte[] singleObject) throws IOException {
        if (!hasCurrentHeader(singleObject)) {
            return decodeOtherVersion(singleObject).getTerminal() != TerminalKind.NONE;
        }
        try {
            FieldCursor at = new FieldCursor(singleObject);
            at.skipToPolicyVersion();
            at.skipFromPolicyVersionToPayloadRef();
            for (int strings = 0; strings < 2; strings++) { // payload_ref, observation_key
                if (at.union() == PRESENT) {
                    at.skipString();
                }
            }
            return at.readTerminal() != TerminalKind.NONE;
        } catch (IOException | AvroRuntimeException refused) {
            return decodeRefused(singleObject, refused).getTerminal() != TerminalKind.NONE;
        }
    }

    /**
     * What the input rules check of a step, read in place from its encoding in the current schema, for the source:
     * it decoded every step (nine in ten input records) only to check it, and the job passes the bytes on. Returns
     * null where the encoding is anything but plainly well formed (another schema version, a corrupt or unusual
     * body): the caller then decodes it with {@link #read}, so that what is accepted, and every error, stay Avro's.
     * What this reads, {@link #read} decodes, to the same fields: the test compares the two on valid and on mangled
     * encodings. A string that is not UTF-8 is declined here too, and the decoder fails on it.
     */
    public static StepFields fields(byte[] singleObject) {
        if (!hasCurrentHeader(singleObject)) {
            return null;
        }
        try {
            FieldCursor at = new FieldCursor(singleObject);
            String trajectoryId = at.readUtf8();
            int stepIndex = at.readInt();
            int agentId = at.readIdLength();
            boolean agentIdBlank = at.lastIdBlank;
            int taskId = at.readIdLength();
            boolean taskIdBlank = at.lastIdBlank;
            int longestId = Math.max(trajectoryId.length(), Math.max(agentId, taskId));
            boolean grouped = at.union() == PRESENT; // group_id
            if (grouped) {
                longestId = Math.max(longestId, at.readStringLength());
            }
            Integer groupSize = at.union() == PRESENT ? at.readInt() : null;
            if (!grouped) {
                groupSize = null; // see StepFields#groupSize
            }
            long policyVersion = at.readLong();
            long eventTime = at.readLong();
            at.readBoolean(); // trainable: 0 or 1, else corrupt
            Double value = at.readNullableDouble();
            Double reward = at.readNullableDouble();
            Double logprob = at.readNullableDouble();
            int tokenCount = at.union() == PRESENT ? at.countInts() : 0;
            // What a batch keeps of a step is bounded by the bytes it came in (TrainingBatchSerializer), payload_ref
            // included: a string is read only if it is UTF-8, which is written back in as many bytes.
            int payloadRefLength = at.union() == PRESENT ? at.readStringLength() : 0;
            if (at.union() == PRESENT) { // observation_key
                longestId = Math.max(longestId, at.readStringLength());
            }
            int terminal = at.readInt();
            if (terminal < 0 || terminal >= TERMINAL_KINDS.length) {
                return null;
            }
            Double bootstrapValue = at.readNullableDouble();
            if (!at.atEnd()) {
                return null;
            }
            return new StepFields(trajectoryId, stepIndex, trajectoryId.isBlank() || agentIdBlank || taskIdBlank,
                    longestId, groupSize, policyVersion, eventTime, TERMINAL_KINDS[terminal], value, reward, logprob,
                    bootstrapValue, tokenCount, payloadRefLength);
        } catch (IOException | AvroRuntimeException e) {
            return null;
        }
    }

    static StepEvent decodeOtherVersion(byte[] singleObject) throws IOException {
        return OTHER_VERSIONS.decode(singleObject);
    }

    /** Writes the step's Avro body, length first, for a record that crosses the network. */
    public void write(StepEvent step, DataOutputView out) throws IOException {
        ArrayOutput buffer = emptyBuffer();
        writeBody(step);
        out.writeInt(buffer.size());
        buffer.writeTo(out);
    }

    /**
     * Writes a step that {@link #encode} encoded as {@link #write(StepEvent, DataOutputView)} would write it: its
     * body is copied, not decoded and encoded again (unless it was written with another schema version).
     */
    public void write(byte[] singleObject, DataOutputView out) throws IOException {
        if (!hasCurrentHeader(singleObject)) {
            write(decode(singleObject), out);
            return;
        }
        out.writeInt(singleObject.length - SINGLE_OBJECT_HEADER.length);
        out.write(singleObject, SINGLE_OBJECT_HEADER.length, singleObject.length - SINGLE_OBJECT_HEADER.length);
    }

    /**
     * Reads what {@link #write(StepEvent, DataOutputView)} wrote as the step's single-object encoding, as
     * {@link #encode} makes it, without decoding it: for records that pass the step on, or keep it, as is.
     */
    public byte[] readEncoded(DataInputView in) throws IOException {
        int length = in.readInt();
        byte[] singleObject = new byte[SINGLE_OBJECT_HEADER.length + length];
        System.arraycopy(SINGLE_OBJECT_HEADER, 0, singleObject, 0, SINGLE_OBJECT_HEADER.length);
        in.readFully(singleObject, SINGLE_OBJECT_HEADER.length, length);
        return singleObject;
    }

    /** Whether the encoding names the current schema (else it was written with an earlier version). */
    private static boolean hasCurrentHeader(byte[] singleObject) {
        return singleObject.length >= SINGLE_OBJECT_HEADER.length
                && Arrays.equals(singleObject, 0, SINGLE_OBJECT_HEADER.length, SINGLE_OBJECT_HEADER, 0,
                        SINGLE_OBJECT_HEADER.length);
    }

    private ArrayOutput emptyBuffer() {
        if (buffer == null) {
            buffer = new ArrayOutput();
        }
        buffer.reset();
        return buffer;
    }

    private void writeBody(StepEvent step) throws IOException {
        encoder = EncoderFactory.get().binaryEncoder(buffer, encoder);
        write(step, encoder);
        encoder.flush();
    }

    /** The Avro binary body of the step, in schema order. */
    static void write(StepEvent step, Encoder out) throws IOException {
        out.writeString(step.getTrajectoryId());
        out.writeInt(step.getStepIndex());
        out.writeString(step.getAgentId());
        out.writeString(step.getTaskId());
        writeNullableString(step.getGroupId(), out);
        if (step.getGroupSize() == null) {
            out.writeIndex(NULL);
        } else {
            out.writeIndex(PRESENT);
            out.writeInt(step.getGroupSize());
        }
        out.writeLong(step.getPolicyVersion());
        out.writeLong(step.getEventTime().toEpochMilli());
        out.writeBoolean(step.getTrainable());
        writeNullableDouble(step.getValue(), out);
        writeNullableDouble(step.getReward(), out);
        writeNullableDouble(step.getLogprob(), out);
        writeNullableInts(step.getTokenIds(), out);
        writeNullableString(step.getPayloadRef(), out);
        writeNullableString(step.getObservationKey(), out);
        out.writeEnum(step.getTerminal().ordinal());
        writeNullableDouble(step.getBootstrapValue(), out);
    }

    /** Reads the Avro binary body of a step; fails, as Avro's own reader does, on a body that is not one. */
    StepEvent read(Decoder in) throws IOException {
        StepEvent step = new StepEvent();
        step.setTrajectoryId(in.readString());
        step.setStepIndex(in.readInt());
        step.setAgentId(in.readString());
        step.setTaskId(in.readString());
        step.setGroupId(readNullableString(in));
        step.setGroupSize(union(in) == NULL ? null : in.readInt());
        step.setPolicyVersion(in.readLong());
        step.setEventTime(Instant.ofEpochMilli(in.readLong()));
        step.setTrainable(in.readBoolean());
        step.setValue(readNullableDouble(in));
        step.setReward(readNullableDouble(in));
        step.setLogprob(readNullableDouble(in));
        if (union(in) != NULL) {
            long block = in.readArrayStart();
            // Sized by the first block (mostly the only one), within reason: a corrupt count must not allocate.
            List<Integer> tokens = new ArrayList<>((int) Math.min(Math.max(block, 0), 4096));
            for (; block != 0; block = in.arrayNext()) {
                for (long i = 0; i < block; i++) {
                    tokens.add(in.readInt());
                }
            }
            step.setTokenIds(tokens);
        }
        step.setPayloadRef(readNullableString(in));
        step.setObservationKey(readNullableString(in));
        int terminal = in.readEnum();
        if (terminal < 0 || terminal >= TERMINAL_KINDS.length) {
            // Named for what it is, where an index out of bounds would name the codec's array.
            throw new AvroRuntimeException("terminal kind " + terminal + " is not one of TerminalKind's "
                    + TERMINAL_KINDS.length + " symbols");
        }
        step.setTerminal(TERMINAL_KINDS[terminal]);
        step.setBootstrapValue(readNullableDouble(in));
        return step;
    }

    private static String readNullableString(Decoder in) throws IOException {
        return union(in) == NULL ? null : in.readString();
    }

    private static Double readNullableDouble(Decoder in) throws IOException {
        return union(in) == NULL ? null : in.readDouble();
    }

    /** The branch of a ["null", X] union; any other index is corrupt input (Avro's reader fails on it too). */
    private static int union(Decoder in) throws IOException {
        int index = in.readIndex();
        if (index != NULL && index != PRESENT) {
            throw new AvroRuntimeException("union branch " + index + " of a [\"null\", X] union");
        }
        return index;
    }

    /**
     * Reads the fields of a step's Avro body straight from its bytes, skipping those it is not asked for: no
     * decoder. For the few fields a stage needs of a step it passes on (its key, its index, whether it is terminal,
     * its policy version), for the source's checks ({@link #fields}), and for the whole step ({@link #decode}). A
     * body that ends early, or holds an invalid varint or anything else Avro's writers do not write, fails: with an
     * IOException ("corrupt step encoding"), or Avro's own AvroRuntimeException for a union branch that is neither
     * null nor the value. {@link #fields} then declines the step, and {@link #decode} and the accessors hand it to
     * Avro's decoder ({@link #decodeRefused}).
     */
    private static final class FieldCursor {
        private final byte[] bytes;
        private int position = SINGLE_OBJECT_HEADER.length;
        /** Whether the string {@link #readIdLength} read last is empty or all whitespace, as {@link String#isBlank}. */
        private boolean lastIdBlank;

        FieldCursor(byte[] singleObject) {
            this.bytes = singleObject;
        }

        /** Past the fields before policy_version: trajectory_id, step_index, then the trajectory's fields. */
        void skipToPolicyVersion() throws IOException {
            skipToAgentId();
            skipTrajectoryFields();
        }

        /** Past trajectory_id and step_index. */
        void skipToAgentId() throws IOException {
            skipString(); // trajectory_id
            readInt(); // step_index
        }

        /** Past agent_id, task_id, group_id and group_size: the fields every step of a trajectory repeats. */
        void skipTrajectoryFields() throws IOException {
            skipString(); // agent_id
            skipString(); // task_id
            if (union() == PRESENT) { // group_id
                skipString();
            }
            if (union() == PRESENT) { // group_size
                readInt();
            }
        }

        /** From policy_version past event_time, trainable, value, reward, logprob and token_ids. */
        void skipFromPolicyVersionToPayloadRef() throws IOException {
            readLong(); // policy_version
            readLong(); // event_time
            skip(1); // trainable
            for (int doubles = 0; doubles < 3; doubles++) { // value, reward, logprob
                if (union() == PRESENT) {
                    skip(8);
                }
            }
            if (union() == PRESENT) { // token_ids: item by item, as Avro's decoder reads them, not by a block's size
                countInts();
            }
        }

        /** At most 5 bytes, as Avro reads an int: a longer varint fails there, however small its value. */
        int readInt() throws IOException {
            long raw = 0;
            for (int shift = 0; shift < 35; shift += 7) {
                byte b = next();
                raw |= (long) (b & 0x7F) << shift;
                if (b >= 0) {
                    long value = (raw >>> 1) ^ -(raw & 1);
                    if (value != (int) value) { // Avro would drop the high bits
                        throw corrupt("an int out of range");
                    }
                    return (int) value;
                }
            }
            throw corrupt("a varint int longer than 5 bytes");
        }

        /** Avro's zig-zag varint. */
        long readLong() throws IOException {
            long raw = 0;
            for (int shift = 0; shift < 64; shift += 7) {
                byte b = next();
                raw |= (long) (b & 0x7F) << shift;
                if (b >= 0) {
                    return (raw >>> 1) ^ -(raw & 1);
                }
            }
            throw corrupt("a varint longer than 10 bytes");
        }

        int union() throws IOException {
            int index = readInt();
            if (index != NULL && index != PRESENT) {
                throw new AvroRuntimeException("union branch " + index + " of a [\"null\", X] union");
            }
            return index;
        }

        /**
         * Not checked as UTF-8 (see {@link #readUtf8}): a malformed sequence decodes to U+FFFD, as Avro's reader
         * decodes it (the source refuses such steps; an earlier release's savepoint may hold one).
         */
        String readString() throws IOException {
            int length = length();
            String value = new String(bytes, position, length, StandardCharsets.UTF_8);
            position += length;
            return value;
        }

        void skipString() throws IOException {
            skip(length());
        }

        /** As {@link #readString}, failing as corrupt where the bytes are not UTF-8 (see {@link #utf8}). */
        String readUtf8() throws IOException {
            int length = length();
            String value = utf8(position, length);
            position += length;
            return value;
        }

        /** The string's length in chars, as {@link String#length}; decodes it only if not ASCII (see {@link #utf8}). */
        int readIdLength() throws IOException {
            int length = length();
            int start = position;
            position += length;
            boolean ascii = true;
            boolean blank = true;
            for (int i = start; i < position; i++) {
                byte b = bytes[i];
                if (b < 0) {
                    ascii = false;
                } else if (!Character.isWhitespace(b)) {
                    blank = false;
                }
            }
            if (ascii) {
                lastIdBlank = blank;
                return length;
            }
            String id = utf8(start, length);
            lastIdBlank = id.isBlank();
            return id.length();
        }

        /** The string's length in chars, as {@link String#length}; decodes it only if not ASCII (see {@link #utf8}). */
        int readStringLength() throws IOException {
            int length = length();
            int start = position;
            position += length;
            for (int i = start; i < position; i++) {
                if (bytes[i] < 0) {
                    return utf8(start, length).length();
                }
            }
            return length;
        }

        /**
         * The string the bytes encode, failing as corrupt where they are not UTF-8, as the decoder the source falls
         * back to fails ({@link BoundedBinaryDecoder}). Decoded once: a malformed sequence always decodes to U+FFFD,
         * so only a string that holds one is checked (it may be the character itself, well encoded), and an
         * all-ASCII string, stored as Latin-1, holds none: {@code indexOf} tells without looking.
         */
        private String utf8(int start, int length) throws IOException {
            String value = new String(bytes, start, length, StandardCharsets.UTF_8);
            if (value.indexOf('\uFFFD') >= 0 && AvroBinary.malformedUtf8At(bytes, start, length) >= 0) {
                throw corrupt("a string that is not UTF-8");
            }
            return value;
        }

        /** Only 0 or 1: Avro reads any other byte as false, which no writer writes. */
        boolean readBoolean() throws IOException {
            byte b = next();
            if (b != 0 && b != 1) {
                throw corrupt("a boolean byte " + b);
            }
            return b == 1;
        }

        TerminalKind readTerminal() throws IOException {
            int terminal = readInt();
            if (terminal < 0 || terminal >= TERMINAL_KINDS.length) {
                throw corrupt("terminal kind " + terminal);
            }
            return TERMINAL_KINDS[terminal];
        }

        /** An array of ints, block by block, as {@link #countInts} reads it. */
        PackedInts readInts() throws IOException {
            int[] values = new int[0];
            int size = 0;
            for (long count = readLong(); count != 0; count = readLong()) {
                if (count < 0) {
                    readLong(); // the block's size in bytes
                    count = -count;
                }
                if (count < 0 || count > bytes.length - position) { // every item takes a byte at least
                    throw corrupt("an array block of " + count + " items");
                }
                if (size + count > values.length) {
                    // Doubling, as Avro's own reader grows its list: grown by each block alone, many small blocks
                    // cost the square of the token count. Never past what the remaining bytes can hold.
                    long grown = Math.max(size + count, Math.min(2L * values.length, size + bytes.length - position));
                    values = Arrays.copyOf(values, (int) grown);
                }
                for (long i = 0; i < count; i++) {
                    values[size++] = readInt();
                }
            }
            return new PackedInts(size == values.length ? values : Arrays.copyOf(values, size));
        }

        Double readNullableDouble() throws IOException {
            if (union() == NULL) {
                return null;
            }
            if (bytes.length - position < 8) {
                throw corrupt("a field past the end");
            }
            long bits = 0;
            for (int i = 7; i >= 0; i--) { // little-endian
                bits = (bits << 8) | (bytes[position + i] & 0xFF);
            }
            position += 8;
            return Double.longBitsToDouble(bits);
        }

        /** The items of an array of ints, block by block, each item read as Avro's decoder reads it. */
        int countInts() throws IOException {
            long total = 0;
            for (long count = readLong(); count != 0; count = readLong()) {
                if (count < 0) {
                    readLong(); // the block's size in bytes
                    count = -count;
                }
                if (count < 0 || count > bytes.length - position) {
                    throw corrupt("an array block of " + count + " items");
                }
                for (long i = 0; i < count; i++) {
                    readInt();
                }
                total += count;
            }
            return (int) total; // at most the body's length: every item took a byte
        }

        boolean atEnd() {
            return position == bytes.length;
        }

        void skip(int length) throws IOException {
            if (length > bytes.length - position) {
                throw corrupt("a field past the end");
            }
            position += length;
        }

        int length() throws IOException {
            int length = readInt();
            if (length < 0 || length > bytes.length - position) {
                throw corrupt("a string of " + length + " bytes");
            }
            return length;
        }

        private byte next() throws IOException {
            if (position >= bytes.length) {
                throw corrupt("a field past the end");
            }
            return bytes[position++];
        }

        IOException corrupt(String what) {
            return new IOException("corrupt step encoding: " + what + " at byte " + position + " of " + bytes.length);
        }
    }

    /**
     * The last string read for one id field, with its bytes. The steps of a trajectory are mostly read one after
     * another (from the assembler's state, or in a trajectory crossing the network) and repeat its ids: a repeat
     * then costs a comparison of bytes instead of decoding UTF-8 into a new String.
     */
    private static final class RepeatedString {
        private byte[] last;
        private String value;

        String read(FieldCursor at) throws IOException {
            int length = at.length();
            int start = at.position;
            at.position += length;
            if (value == null || !Arrays.equals(at.bytes, start, start + length, last, 0, last.length)) {
                last = Arrays.copyOfRange(at.bytes, start, start + length);
                value = new String(last, StandardCharsets.UTF_8);
            }
            return value;
        }
    }
}
