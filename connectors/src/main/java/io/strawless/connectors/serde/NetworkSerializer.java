package io.strawless.connectors.serde;

import java.io.IOException;
import org.apache.flink.api.common.typeinfo.TypeInformation;
import org.apache.flink.api.common.typeutils.TypeSerializer;
import org.apache.flink.api.common.typeutils.TypeSerializerSchemaCompatibility;
import org.apache.flink.api.common.typeutils.TypeSerializerSnapshot;
import org.apache.flink.core.memory.DataInputView;
import org.apache.flink.core.memory.DataOutputView;

/**
 * A serializer for records that only travel between the job's tasks.
 *
 * <p>Never use one for state: its format may change with any build, and the snapshot only names the class
 * (state has {@link StateSerializer}).
 */
public abstract class NetworkSerializer<T> extends RecordSerializer<T> {

    private static final long serialVersionUID = 1L;

    @Override
    protected abstract NetworkSerializer<T> create();

    @Override
    public final TypeSerializerSnapshot<T> snapshotConfiguration() {
        return new Snapshot<>(this);
    }

    /** The serializer has no configuration: its snapshot names the class and restores a new instance. */
    public static final class Snapshot<T> implements TypeSerializerSnapshot<T> {

        private String serializerClass;

        /** What loads {@link #serializerClass}: the loader Flink read the snapshot with, else the serializer's own. */
        private ClassLoader classLoader;

        /** For Flink, which restores snapshots by reflection. */
        public Snapshot() {}

        Snapshot(NetworkSerializer<T> serializer) {
            this.serializerClass = serializer.getClass().getName();
            this.classLoader = serializer.getClass().getClassLoader();
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
            this.classLoader = classLoader;
        }

        @Override
        public TypeSerializer<T> restoreSerializer() {
            return RecordSerializer.<NetworkSerializer<T>>instantiate(serializerClass, classLoader);
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
        return SerializerTypeInfo.of(type, serializer);
    }
}
