package io.strawless.connectors.serde;

import java.io.IOException;
import org.apache.flink.api.common.typeutils.TypeSerializer;
import org.apache.flink.api.common.typeutils.TypeSerializerSchemaCompatibility;
import org.apache.flink.api.common.typeutils.TypeSerializerSnapshot;
import org.apache.flink.api.java.typeutils.runtime.PojoSerializerSnapshot;
import org.apache.flink.core.memory.DataInputView;
import org.apache.flink.core.memory.DataOutputView;

/**
 * A serializer for records the job keeps in keyed state, in a format of its own with a version.
 *
 * <p>Unlike a {@link NetworkSerializer}, what it writes outlives the build: checkpoints and savepoints keep it.
 * Its snapshot records the serializer and the format version. State of the same version is read as it is; state
 * that Flink's POJO serializer wrote for the same record (the layout before these serializers) is migrated when a
 * savepoint is restored (RocksDB rewrites it, the heap reads it with the POJO serializer); anything else is refused.
 * A build that changes a format must raise its {@link #formatVersion}; a savepoint in the earlier version is then
 * refused, naming both versions, unless the serializer also reads the earlier one ({@link #readerOf}): that state is
 * then migrated too.
 *
 * <p>Every Avro record inside is written in single-object encoding, whose header names the schema it was written
 * with, so a format outlives the schemas' evolution too.
 */
public abstract class StateSerializer<T> extends RecordSerializer<T> {

    private static final long serialVersionUID = 1L;

    @Override
    protected abstract StateSerializer<T> create();

    /** The version of the format {@code serialize} writes. */
    protected abstract int formatVersion();

    /**
     * A serializer of an earlier version of this format, for a restore to read state an earlier build wrote and
     * migrate it; null (the default) where that version is not read, and such state is refused.
     */
    protected StateSerializer<T> readerOf(int earlierFormatVersion) {
        return null;
    }

    @Override
    public final TypeSerializerSnapshot<T> snapshotConfiguration() {
        return new Snapshot<>(this);
    }

    /** Names the serializer's class and the version of the format the state was written in. */
    public static final class Snapshot<T> implements TypeSerializerSnapshot<T> {

        private String serializerClass;
        private int formatVersion;

        /** What loads {@link #serializerClass}: the loader Flink read the snapshot with, else the serializer's own. */
        private ClassLoader classLoader;

        /** For Flink, which restores snapshots by reflection. */
        public Snapshot() {}

        Snapshot(StateSerializer<T> serializer) {
            this.serializerClass = serializer.getClass().getName();
            this.classLoader = serializer.getClass().getClassLoader();
            this.formatVersion = serializer.formatVersion();
        }

        @Override
        public int getCurrentVersion() {
            return 1;
        }

        @Override
        public void writeSnapshot(DataOutputView out) throws IOException {
            out.writeUTF(serializerClass);
            out.writeInt(formatVersion);
        }

        @Override
        public void readSnapshot(int readVersion, DataInputView in, ClassLoader classLoader) throws IOException {
            serializerClass = in.readUTF();
            this.classLoader = classLoader;
            formatVersion = in.readInt();
        }

        @Override
        public TypeSerializer<T> restoreSerializer() {
            StateSerializer<T> serializer = RecordSerializer.instantiate(serializerClass, classLoader);
            if (serializer.formatVersion() == formatVersion) {
                return serializer;
            }
            StateSerializer<T> reader = serializer.readerOf(formatVersion);
            if (reader == null) {
                throw new IllegalStateException(serializerClass + " writes format version " + serializer.formatVersion()
                        + " and cannot read the state's version " + formatVersion);
            }
            return reader;
        }

        @Override
        public TypeSerializerSchemaCompatibility<T> resolveSchemaCompatibility(TypeSerializerSnapshot<T> oldSnapshot) {
            if (oldSnapshot instanceof Snapshot<T> old && serializerClass.equals(old.serializerClass)) {
                if (old.formatVersion == formatVersion) {
                    return TypeSerializerSchemaCompatibility.compatibleAsIs();
                }
                StateSerializer<T> serializer = RecordSerializer.instantiate(serializerClass, classLoader);
                return serializer.readerOf(old.formatVersion) != null
                        ? TypeSerializerSchemaCompatibility.compatibleAfterMigration()
                        : TypeSerializerSchemaCompatibility.incompatible();
            }
            // The same record as Flink's POJO serializer wrote it: readable by that serializer, restored from its
            // own snapshot, so Flink can migrate it.
            return oldSnapshot instanceof PojoSerializerSnapshot<T>
                    ? TypeSerializerSchemaCompatibility.compatibleAfterMigration()
                    : TypeSerializerSchemaCompatibility.incompatible();
        }
    }
}
