package io.strawless.pipeline.assembly;

import io.strawless.schemas.OutcomeEvent;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;

/**
 * What the assembler remembers of a trajectory it already emitted or timed out, until {@code forgetAt}: enough
 * to route its stragglers (LATE, LATE_REVISION) instead of mistaking them for a new trajectory.
 *
 * <p>The outcome is kept encoded (Avro single-object encoding). Markers are the bulk of the assembler's state
 * (one per trajectory of the last {@code job.finished-retention}), every checkpoint of the heap state backend
 * writes all of them, and a byte array is copied where an Avro record would be encoded field by field; the
 * outcome is decoded only for the rare straggler.
 *
 * @param encodedOutcome the outcome it was scored with, encoded; null when it timed out unscored
 */
public record FinishedTrajectory(byte[] encodedOutcome, long forgetAt) {

    public static FinishedTrajectory of(OutcomeEvent scoredOutcome, long forgetAt) {
        try {
            return new FinishedTrajectory(
                    scoredOutcome == null ? null : toArray(scoredOutcome.toByteBuffer()), forgetAt);
        } catch (IOException e) {
            throw new UncheckedIOException("an outcome that was just decoded does not encode", e);
        }
    }

    /** The outcome it was scored with; null when it timed out unscored. */
    public OutcomeEvent scoredOutcome() {
        if (encodedOutcome == null) {
            return null;
        }
        try {
            return OutcomeEvent.fromByteBuffer(ByteBuffer.wrap(encodedOutcome));
        } catch (IOException e) {
            throw new UncheckedIOException("a finished trajectory's outcome does not decode", e);
        }
    }

    private static byte[] toArray(ByteBuffer buffer) {
        byte[] bytes = new byte[buffer.remaining()];
        buffer.get(bytes);
        return bytes;
    }
}
