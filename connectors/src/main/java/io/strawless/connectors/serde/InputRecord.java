package io.strawless.connectors.serde;

import io.strawless.schemas.DeadLetter;
import io.strawless.schemas.OutcomeEvent;
import io.strawless.schemas.StepEvent;
import io.strawless.schemas.TerminalKind;
import io.strawless.schemas.VerifierSignal;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.Objects;

/**
 * One input record as the job's single Kafka source emits it: the decoded event (exactly one of
 * {@link #getStep step}, {@link #outcome}, {@link #verdict}, {@link #deadLetter} is set) and where it
 * came from (lineage for batches, offsets for dead letters).
 *
 * <p>A step that crossed the network arrives as its encoding only ({@link #encodedStep}), and is decoded on the
 * first {@link #getStep}: the assembler needs just its key, index and whether it is terminal. {@link #trajectoryId}
 * and {@link #stepIndex} read them from the bytes in place (profiled, decoding every step there was a fifth of the
 * assembler's time); whether it is terminal comes with it over the network ({@link #isTerminalStep}).
 *
 * <p>A Flink POJO (public no-arg constructor, public fields or getters and setters), so that Flink never falls
 * back to Kryo for it; the job declares {@link InputRecordSerializer} where it crosses the network. Build
 * instances with the {@code of...} factories.
 */
public class InputRecord {

    /** Which of the event fields is set. */
    public enum Kind {
        STEP,
        OUTCOME,
        VERDICT,
        DEAD_LETTER
    }

    /** Topic the record was read from. */
    public String topic;
    /** Partition it was read from. */
    public int partition;
    /** Its offset in that partition. */
    public long offset;
    /** Kafka record timestamp (epoch millis). Event time comes from the event itself. */
    public long timestamp;

    /** The step, decoded; null until {@link #getStep} decodes {@link #encodedStep}, or for another event. */
    private StepEvent step;
    /**
     * The step as its Avro single-object encoding (the current schema), or null: kept from the Kafka value
     * and across the network, so that neither the network nor the assembler's state encodes the step again.
     * Never changed; not part of equality (it is the step, encoded).
     */
    public byte[] encodedStep;
    /** Whether {@link #encodedStep} ends its trajectory, when the network said so; not part of equality (derived). */
    private transient Boolean terminalStep;
    /** What the input rules check of the step, when the source read it in place; not part of equality (derived). */
    private transient StepFields stepFields;
    public OutcomeEvent outcome;
    public VerifierSignal verdict;
    public DeadLetter deadLetter;

    /** For Flink's POJO serializer only; use the factories. */
    public InputRecord() {}

    public static InputRecord ofStep(
            String topic, int partition, long offset, long timestamp, StepEvent step) {
        InputRecord record = withProvenance(topic, partition, offset, timestamp);
        record.step = Objects.requireNonNull(step, "step");
        return record;
    }

    /** A step together with its single-object encoding in the current schema ({@code StepEventCodec#encode}'s). */
    public static InputRecord ofStep(
            String topic, int partition, long offset, long timestamp, StepEvent step, byte[] encodedStep) {
        InputRecord record = ofStep(topic, partition, offset, timestamp, step);
        record.encodedStep = Objects.requireNonNull(encodedStep, "encodedStep");
        return record;
    }

    /**
     * A step that the source read in place ({@link StepEventCodec#fields}) and did not decode: the job passes its
     * bytes on, and decodes it on the first {@link #getStep}, which only a dead letter or a duplicate needs.
     */
    public static InputRecord ofStep(
            String topic, int partition, long offset, long timestamp, byte[] encodedStep, StepFields fields) {
        InputRecord record = withProvenance(topic, partition, offset, timestamp);
        record.encodedStep = Objects.requireNonNull(encodedStep, "encodedStep");
        record.stepFields = Objects.requireNonNull(fields, "fields");
        return record;
    }

    public static InputRecord ofOutcome(
            String topic, int partition, long offset, long timestamp, OutcomeEvent outcome) {
        InputRecord record = withProvenance(topic, partition, offset, timestamp);
        record.outcome = Objects.requireNonNull(outcome, "outcome");
        return record;
    }

    public static InputRecord ofVerdict(
            String topic, int partition, long offset, long timestamp, VerifierSignal verdict) {
        InputRecord record = withProvenance(topic, partition, offset, timestamp);
        record.verdict = Objects.requireNonNull(verdict, "verdict");
        return record;
    }

    public static InputRecord ofDeadLetter(
            String topic, int partition, long offset, long timestamp, DeadLetter deadLetter) {
        InputRecord record = withProvenance(topic, partition, offset, timestamp);
        record.deadLetter = Objects.requireNonNull(deadLetter, "deadLetter");
        return record;
    }

    private static InputRecord withProvenance(String topic, int partition, long offset, long timestamp) {
        InputRecord record = new InputRecord();
        record.topic = topic;
        record.partition = partition;
        record.offset = offset;
        record.timestamp = timestamp;
        return record;
    }

    /**
     * A step that arrived as its encoding alone (from the network): decoded on the first {@link #getStep}.
     *
     * @param terminal whether it ends its trajectory, as the sender read it: the flag is the step's last field, and
     *     reading it in place means walking the whole encoding (profiled, a tenth of the assembler's own time)
     */
    public static InputRecord ofEncodedStep(
            String topic, int partition, long offset, long timestamp, byte[] encodedStep, boolean terminal) {
        InputRecord record = withProvenance(topic, partition, offset, timestamp);
        record.encodedStep = Objects.requireNonNull(encodedStep, "encodedStep");
        record.terminalStep = terminal;
        return record;
    }

    /** The step; null when the record carries another event. */
    public StepEvent getStep() {
        if (step == null && encodedStep != null) {
            step = fromEncoding(encoded -> new StepEventCodec().decode(encoded));
        }
        return step;
    }

    /** For Flink's POJO serializer; the factories set the step. */
    public void setStep(StepEvent step) {
        this.step = step;
    }

    /** What the input rules check of the step, as the source read it, or taken from the decoded step. */
    public StepFields stepFields() {
        if (stepFields == null) {
            stepFields = StepFields.of(getStep());
        }
        return stepFields;
    }

    /** The step's index, read from its encoding in place when it is not decoded. */
    public int stepIndex() {
        if (step != null) {
            return step.getStepIndex();
        }
        return stepFields != null ? stepFields.stepIndex() : fromEncoding(StepEventCodec::stepIndex);
    }

    /** Whether the step ends its trajectory: as decoded, as the sender said, or read from its encoding in place. */
    public boolean isTerminalStep() {
        if (step != null) {
            return step.getTerminal() != TerminalKind.NONE;
        }
        if (stepFields != null) {
            return stepFields.terminal() != TerminalKind.NONE;
        }
        return terminalStep != null ? terminalStep : fromEncoding(StepEventCodec::isTerminal);
    }

    /** Reads {@link #encodedStep}: bytes the job decoded or encoded itself, so a failure is a bug, not bad input. */
    private <T> T fromEncoding(EncodingReader<T> reader) {
        try {
            return reader.read(encodedStep);
        } catch (IOException e) {
            throw new UncheckedIOException("a step the job checked or encoded itself does not read", e);
        }
    }

    private interface EncodingReader<T> {
        T read(byte[] singleObject) throws IOException;
    }

    /** Which event this record carries. */
    public Kind kind() {
        if (step != null || encodedStep != null) {
            return Kind.STEP;
        }
        if (outcome != null) {
            return Kind.OUTCOME;
        }
        if (verdict != null) {
            return Kind.VERDICT;
        }
        if (deadLetter != null) {
            return Kind.DEAD_LETTER;
        }
        throw new IllegalStateException("InputRecord without an event: " + this);
    }

    /** The trajectory the event belongs to; null for a dead letter (its bytes did not decode). */
    public String trajectoryId() {
        return switch (kind()) {
            case STEP -> step != null ? step.getTrajectoryId()
                    : stepFields != null ? stepFields.trajectoryId() : fromEncoding(StepEventCodec::trajectoryId);
            case OUTCOME -> outcome.getTrajectoryId();
            case VERDICT -> verdict.getTrajectoryId();
            case DEAD_LETTER -> null;
        };
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof InputRecord other
                && partition == other.partition
                && offset == other.offset
                && timestamp == other.timestamp
                && Objects.equals(topic, other.topic)
                && Objects.equals(getStep(), other.getStep())
                && Objects.equals(outcome, other.outcome)
                && Objects.equals(verdict, other.verdict)
                && Objects.equals(deadLetter, other.deadLetter);
    }

    @Override
    public int hashCode() {
        return Objects.hash(topic, partition, offset, timestamp, getStep(), outcome, verdict, deadLetter);
    }

    @Override
    public String toString() {
        Object event = kind() == Kind.STEP ? getStep() : outcome != null ? outcome : verdict != null ? verdict : deadLetter;
        return "InputRecord{" + topic + "-" + partition + "@" + offset + ", ts=" + timestamp + ", " + event + "}";
    }
}
