package io.strawless.pipeline;

import io.strawless.connectors.serde.FlinkStrings;
import java.io.IOException;
import org.apache.flink.api.common.serialization.SerializerConfig;
import org.apache.flink.api.common.typeinfo.TypeInformation;
import org.apache.flink.api.common.typeutils.SimpleTypeSerializerSnapshot;
import org.apache.flink.api.common.typeutils.TypeSerializer;
import org.apache.flink.api.common.typeutils.TypeSerializerSchemaCompatibility;
import org.apache.flink.api.common.typeutils.TypeSerializerSnapshot;
import org.apache.flink.api.common.typeutils.base.StringSerializer;
import org.apache.flink.api.common.typeutils.base.TypeSerializerSingleton;
import org.apache.flink.core.memory.DataInputView;
import org.apache.flink.core.memory.DataOutputView;
import org.apache.flink.types.StringValue;

/**
 * The type of the job's string keys (trajectory ids, task ids): Flink's own string format, written faster.
 *
 * <p>A key is written far more often than a record: the heap state backend writes, at every checkpoint, the key of
 * every timer and of every state entry (one per finished trajectory for {@code job.finished-retention}), and the
 * RocksDB backend writes the key at every state access. Flink's {@code StringSerializer} writes a string one
 * character at a time, and behind a checkpoint stream every write takes the buffered stream's lock: profiled on the
 * heap backend, that was most of the checkpoints' CPU. This serializer writes the same bytes ({@link FlinkStrings})
 * in one write per ASCII key, so a savepoint whose keys {@code StringSerializer} wrote restores as is (the
 * snapshot says so).
 */
public final class StringKeys extends TypeInformation<String> {

    private static final long serialVersionUID = 1L;

    /** Pass it to {@code keyBy} with a selector that returns a String. */
    public static final StringKeys TYPE_INFO = new StringKeys();

    private StringKeys() {}

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
    public Class<String> getTypeClass() {
        return String.class;
    }

    @Override
    public boolean isKeyType() {
        return true;
    }

    @Override
    public TypeSerializer<String> createSerializer(SerializerConfig config) {
        return Serializer.INSTANCE;
    }

    @Override
    public String toString() {
        return "String (StringKeys)";
    }

    @Override
    public boolean equals(Object obj) {
        return obj instanceof StringKeys;
    }

    @Override
    public int hashCode() {
        return StringKeys.class.hashCode();
    }

    @Override
    public boolean canEqual(Object obj) {
        return obj instanceof StringKeys;
    }

    /** Flink's string format ({@link StringValue}), an ASCII string written in one call. */
    public static final class Serializer extends TypeSerializerSingleton<String> {

        private static final long serialVersionUID = 1L;

        static final Serializer INSTANCE = new Serializer();

        @Override
        public boolean isImmutableType() {
            return true;
        }

        @Override
        public String createInstance() {
            return "";
        }

        @Override
        public String copy(String from) {
            return from;
        }

        @Override
        public String copy(String from, String reuse) {
            return from;
        }

        @Override
        public int getLength() {
            return -1;
        }

        @Override
        public void serialize(String record, DataOutputView target) throws IOException {
            FlinkStrings.writeString(record, target);
        }

        @Override
        public String deserialize(DataInputView source) throws IOException {
            return StringValue.readString(source);
        }

        @Override
        public String deserialize(String reuse, DataInputView source) throws IOException {
            return deserialize(source);
        }

        @Override
        public void copy(DataInputView source, DataOutputView target) throws IOException {
            StringValue.copyString(source, target);
        }

        @Override
        public TypeSerializerSnapshot<String> snapshotConfiguration() {
            return new Snapshot();
        }
    }

    /** Compatible as is with its own snapshots and with {@code StringSerializer}'s: the bytes are the same. */
    public static final class Snapshot extends SimpleTypeSerializerSnapshot<String> {

        public Snapshot() {
            super(() -> Serializer.INSTANCE);
        }

        @Override
        public TypeSerializerSchemaCompatibility<String> resolveSchemaCompatibility(
                TypeSerializerSnapshot<String> oldSerializerSnapshot) {
            if (oldSerializerSnapshot instanceof StringSerializer.StringSerializerSnapshot) {
                return TypeSerializerSchemaCompatibility.compatibleAsIs();
            }
            return super.resolveSchemaCompatibility(oldSerializerSnapshot);
        }
    }
}
