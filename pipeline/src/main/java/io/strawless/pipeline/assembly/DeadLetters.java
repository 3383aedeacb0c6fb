package io.strawless.pipeline.assembly;

import io.strawless.connectors.serde.InputRecord;
import io.strawless.schemas.DeadLetter;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import org.apache.flink.api.common.typeinfo.TypeInformation;
import org.apache.flink.util.OutputTag;

/** Dead letters for inputs that decoded but may not be used. */
public final class DeadLetters {

    public static final OutputTag<DeadLetter> TAG = new OutputTag<>("dead-letters", TypeInformation.of(DeadLetter.class));

    private DeadLetters() {}

    /**
     * The original bytes are the record re-encoded: Avro's binary encoding is deterministic, so they
     * equal what the producer wrote (in the current schema version), and the key is the trajectory id.
     */
    public static DeadLetter of(InputRecord input, String errorClass, String message, long nowMillis) {
        return DeadLetter.newBuilder()
                .setTopic(input.topic)
                .setPartition(input.partition)
                .setOffset(input.offset)
                .setOriginalKey(ByteBuffer.wrap(input.trajectoryId().getBytes(StandardCharsets.UTF_8)))
                .setOriginalValue(encode(input))
                .setErrorClass(errorClass)
                .setErrorMessage(message)
                .setFailedAt(Instant.ofEpochMilli(nowMillis))
                .build();
    }

    private static ByteBuffer encode(InputRecord input) {
        try {
            return switch (input.kind()) {
                // The bytes the step came as, where it kept them (InputRecord#encodedStep).
                case STEP -> input.encodedStep != null ? ByteBuffer.wrap(input.encodedStep) : input.getStep().toByteBuffer();
                case OUTCOME -> input.outcome.toByteBuffer();
                case VERDICT -> input.verdict.toByteBuffer();
                case DEAD_LETTER -> throw new IllegalArgumentException("already a dead letter");
            };
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
