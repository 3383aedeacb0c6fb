package io.strawless.pipeline.assembly;

import io.strawless.schemas.OutcomeEvent;
import io.strawless.schemas.SchemaHistory;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import org.apache.avro.message.BinaryMessageDecoder;

/**
 * What the assembler remembers of a trajectory it already emitted or timed out, until {@code forgetAt}: enough
 * to route its stragglers (LATE, LATE_REVISION) instead of mistaking them for a new trajectory.
 *
 * <p>The outcome is kept encoded (Avro single-object encoding), as it waited in the trajectory's progress. Markers
 * are the bulk of the assembler's state (one per trajectory of the last {@code job.finished-retention}), every
 * checkpoint of the heap state backend writes all of them, and a byte array is copied where an Avro record would
 * be encoded field by field; the outcome is decoded only for the rare straggler.
 *
 * @param encodedOutcome the outcome it was scored with, as {@link #encode} wrote it; null when it timed out unscored
 */
public record FinishedTrajectory(byte[] encodedOutcome, long forgetAt) {

    /** An outcome may have been kept by an earlier release, with an earlier schema (a savepoint of it). */
    private static final BinaryMessageDecoder<OutcomeEvent> OUTCOMES = SchemaHistory.decoder(OutcomeEvent.class);

    /** The outcome it was scored with; null when it timed out unscored. */
    public OutcomeEvent scoredOutcome() {
        return encodedOutcome == null ? null : decode(encodedOutcome);
    }

    /** An outcome as the assembler's state keeps it: Avro single-object encoding, {@code OutcomeEvent.toByteBuffer}. */
    static byte[] encode(OutcomeEvent outcome) {
        try {
            ByteBuffer buffer = outcome.toByteBuffer();
            byte[] bytes = new byte[buffer.remaining()];
            buffer.get(bytes);
            return bytes;
        } catch (IOException e) {
            throw new UncheckedIOException("an outcome that was just decoded does not encode", e);
        }
    }

    static OutcomeEvent decode(byte[] encoded) {
        try {
            return OUTCOMES.decode(encoded);
        } catch (IOException e) {
            throw new UncheckedIOException("an outcome the assembler kept does not decode", e);
        }
    }
}
