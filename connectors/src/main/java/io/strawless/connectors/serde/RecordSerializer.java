package io.strawless.connectors.serde;

import java.io.IOException;
import java.io.UncheckedIOException;
import org.apache.flink.api.common.typeutils.TypeSerializer;
import org.apache.flink.core.memory.DataInputDeserializer;
import org.apache.flink.core.memory.DataInputView;
import org.apache.flink.core.memory.DataOutputSerializer;
import org.apache.flink.core.memory.DataOutputView;

/**
 * The parts every hand-written serializer of the job's records shares, so that a subclass writes just
 * {@code serialize} and {@code deserialize}: {@link NetworkSerializer} for records between tasks,
 * {@link StateSerializer} for records in keyed state. They differ in their snapshots, i.e. in how long their
 * format must be readable.
 *
 * <p>A deep copy (which Flink asks for where object reuse is off, and the heap state backend while it writes a
 * snapshot) is a round trip through the format.
 */
public abstract class RecordSerializer<T> extends TypeSerializer<T> {

    private static final long serialVersionUID = 1L;

    private transient DataOutputSerializer copyBuffer;
    private transient StepEventCodec stepCodec;

    /** A fresh instance: serializers hold encoders that are not thread-safe. */
    protected abstract RecordSerializer<T> create();

    /** This instance's codec for the steps that most of the job's records carry. */
    protected final StepEventCodec steps() {
        if (stepCodec == null) {
            stepCodec = new StepEventCodec();
        }
        return stepCodec;
    }

    @Override
    public final TypeSerializer<T> duplicate() {
        return create();
    }

    @Override
    public final boolean isImmutableType() {
        return false;
    }

    @Override
    public final T createInstance() {
        return null;
    }

    @Override
    public final T copy(T from) {
        if (copyBuffer == null) {
            copyBuffer = new DataOutputSerializer(256);
        }
        try {
            copyBuffer.clear();
            serialize(from, copyBuffer);
            return deserialize(new DataInputDeserializer(copyBuffer.getSharedBuffer(), 0, copyBuffer.length()));
        } catch (IOException e) {
            throw new UncheckedIOException("cannot copy " + from, e);
        }
    }

    @Override
    public final T copy(T from, T reuse) {
        return copy(from);
    }

    @Override
    public final int getLength() {
        return -1;
    }

    @Override
    public final T deserialize(T reuse, DataInputView source) throws IOException {
        return deserialize(source);
    }

    @Override
    public final void copy(DataInputView source, DataOutputView target) throws IOException {
        serialize(deserialize(source), target);
    }

    /** A new instance of the named serializer class, as a snapshot restores it (every subclass has a no-arg constructor). */
    @SuppressWarnings("unchecked")
    /**
     * A new instance of {@code serializerClass}, loaded with {@code classLoader}: the one Flink read the snapshot with
     * (the job's user-code loader), which tools such as the State Processor API do not also set as the thread's.
     */
    static <S extends RecordSerializer<?>> S instantiate(String serializerClass, ClassLoader classLoader) {
        try {
            return (S) Class.forName(serializerClass, true, classLoader)
                    .getDeclaredConstructor()
                    .newInstance();
        } catch (ReflectiveOperationException e) {
            throw new IllegalStateException("cannot restore serializer " + serializerClass, e);
        }
    }

    @Override
    public final boolean equals(Object obj) {
        return obj != null && obj.getClass() == getClass();
    }

    @Override
    public final int hashCode() {
        return getClass().hashCode();
    }
}
