package io.strawless.pipeline.assembly;

import io.strawless.schemas.StepEvent;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;

/**
 * The assembler keeps the steps of open trajectories Avro-encoded (single-object encoding, with the schema's
 * fingerprint), not as records.
 *
 * <p>Why: a step waits in state from its arrival until its trajectory is emitted, often across several
 * checkpoints, and the heap state backend writes every state value at every checkpoint; profiled, encoding the
 * same waiting steps again and again with Avro's reflective writer was the largest part of the checkpoints.
 * Encoded once on arrival, a checkpoint copies bytes; the RocksDB backend stores bytes anyway and now skips
 * decoding a step to compare a duplicate. Steps are decoded once, when their trajectory leaves.
 */
final class EncodedSteps {

    private EncodedSteps() {}

    static byte[] encode(StepEvent step) {
        try {
            ByteBuffer buffer = step.toByteBuffer();
            byte[] bytes = new byte[buffer.remaining()];
            buffer.get(bytes);
            return bytes;
        } catch (IOException e) {
            throw new UncheckedIOException("a step that was just decoded does not encode", e);
        }
    }

    static StepEvent decode(byte[] encoded) {
        try {
            return StepEvent.fromByteBuffer(ByteBuffer.wrap(encoded));
        } catch (IOException e) {
            throw new UncheckedIOException("an open trajectory's step does not decode", e);
        }
    }
}
