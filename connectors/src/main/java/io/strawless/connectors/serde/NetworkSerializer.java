package io.strawless.connectors.serde;

import java.io.IOException;
import java.io.UncheckedIOException;
import org.apache.flink.api.common.serialization.SerializerConfig;
import org.apache.flink.api.common.typeinfo.TypeInformation;
import org.apache.flink.api.common.typeutils.TypeSerializer;
import org.apache.flink.api.common.typeutils.TypeSerializerSchemaCompatibility;
import org.apache.flink.api.common.typeutils.TypeSerializerSnapshot;
import org.apache.flink.core.memory.DataInputDeserializer;
import org.apache.flink.core.memory.DataInputView;
import org.apache.flink.core.memory.DataOutputSerializer;
import org.apache.flink.core.memory.DataOutputView;

/**
 * A serializer for records that only travel between the job's tasks: the parts every such serializer
 * shares, so that a subclass writes just {@code serialize} and {@code deserialize}.
 *
 * <p>Never use one for state: its format may change with any build, and the snapshot only names the class.
 * A deep copy (which Flink asks for only where object reuse is off) is a round trip through the format.
 */
public abstract class NetworkSerializer<T> extends TypeSerializer<T> {

    private static final long serialVersionUID = 1L;

    private transient DataOutputSerializer copyBuffer;
    private transient StepEventCodec stepCodec;

    /** A fresh instance: serializers hold encoders that are not thread-safe. */
    protected abstract NetworkSerializer<T> create();

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

    @Override
    public final boolean equals(Object obj) {
        return obj != null && obj.getClass() == getClass();
    }

    @Override
    public final int hashCode() {
        return getClass().hashCode();
    }

    @Override
    public final TypeSerializerSnapshot<T> snapshotConfiguration() {
        return new Snapshot<>(this);
    }

    /** The serializer has no configuration: its snapshot names the class and restores a new instance. */
    public static final class Snapshot<T> implements TypeSerializerSnapshot<T> {

        private String serializerClass;

        /** For Flink, which restores snapshots by reflection. */
        public Snapshot() {}

        Snapshot(NetworkSerializer<T> serializer) {
            this.serializerClass = serializer.getClass().getName();
        }

        @Override
        public int getCurrentVersion() {
            return 1;
        }

        @Override
        public void writeSnapshot(DataOutputView out) throws IOException {
            out.writeUTF(serializerClass);
        }

        @Override
        public void readSnapshot(int readVersion, DataInputView in, ClassLoader classLoader) throws IOException {
            serializerClass = in.readUTF();
        }

        @Override
        @SuppressWarnings("unchecked")
        public TypeSerializer<T> restoreSerializer() {
            try {
                return (TypeSerializer<T>) Class.forName(serializerClass, true, Thread.currentThread().getContextClassLoader())
                        .getDeclaredConstructor()
                        .newInstance();
            } catch (ReflectiveOperationException e) {
                throw new IllegalStateException("cannot restore serializer " + serializerClass, e);
            }
        }

        @Override
        public TypeSerializerSchemaCompatibility<T> resolveSchemaCompatibility(
                TypeSerializerSnapshot<T> oldSnapshot) {
            return oldSnapshot instanceof Snapshot<T> old && serializerClass.equals(old.serializerClass)
                    ? TypeSerializerSchemaCompatibility.compatibleAsIs()
                    : TypeSerializerSchemaCompatibility.incompatible();
        }
    }

    /** Type information whose serializer is a {@link NetworkSerializer}: pass it where a stream's type is declared. */
    public static <T> TypeInformation<T> typeInfo(Class<T> type, NetworkSerializer<T> serializer) {
        return new NetworkTypeInfo<>(type, serializer);
    }

    private static final class NetworkTypeInfo<T> extends TypeInformation<T> {

        private static final long serialVersionUID = 1L;

        private final Class<T> type;
        private final NetworkSerializer<T> prototype;

        NetworkTypeInfo(Class<T> type, NetworkSerializer<T> prototype) {
            this.type = type;
            this.prototype = prototype;
        }

        @Override
        public boolean isBasicType() {
            return false;
        }

        @Override
        public boolean isTupleType() {
            return false;
        }

        @Override
        public int getArity() {
            return 1;
        }

        @Override
        public int getTotalFields() {
            return 1;
        }

        @Override
        public Class<T> getTypeClass() {
            return type;
        }

        @Override
        public boolean isKeyType() {
            return false;
        }

        @Override
        public TypeSerializer<T> createSerializer(SerializerConfig config) {
            return prototype.create();
        }

        @Override
        public String toString() {
            return type.getSimpleName() + "(" + prototype.getClass().getSimpleName() + ")";
        }

        @Override
        public boolean equals(Object obj) {
            return obj instanceof NetworkTypeInfo<?> other && other.type == type;
        }

        @Override
        public int hashCode() {
            return type.hashCode();
        }

        @Override
        public boolean canEqual(Object obj) {
            return obj instanceof NetworkTypeInfo;
        }
    }
}
