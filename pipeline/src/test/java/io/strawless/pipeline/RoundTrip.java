package io.strawless.pipeline;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.function.BiConsumer;
import org.apache.flink.api.common.typeutils.TypeSerializer;
import org.apache.flink.core.memory.DataInputDeserializer;
import org.apache.flink.core.memory.DataOutputSerializer;

/** Writes a value twice with a serializer and reads both copies back, the second with a duplicate. */
public final class RoundTrip {

    private RoundTrip() {}

    /** The value as read back; each read must stop at its own end, and a duplicate must read the same. */
    public static <T> T roundTrip(TypeSerializer<T> serializer, T value) throws Exception {
        return roundTrip(serializer, value, (first, second) -> assertEquals(first, second, "the second copy reads the same"));
    }

    /**
     * As {@link #roundTrip(TypeSerializer, Object)}, the two copies compared by {@code assertSame}: for records that
     * hold arrays, which their equals compares by identity.
     */
    public static <T> T roundTrip(TypeSerializer<T> serializer, T value, BiConsumer<T, T> assertSame) throws Exception {
        DataOutputSerializer out = new DataOutputSerializer(64);
        serializer.serialize(value, out);
        serializer.serialize(value, out);
        DataInputDeserializer in = new DataInputDeserializer(out.getCopyOfBuffer());
        T first = serializer.deserialize(in);
        assertSame.accept(first, serializer.duplicate().deserialize(in));
        assertEquals(0, in.available(), "each read stops at its own end");
        return first;
    }
}
