package io.strawless.pipeline;

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
 * The type of the job's string keys (trajectory ids, task ids): a {@link String} whose serializer writes exactly the
 * bytes of Flink's {@link StringSerializer}, in one call instead of one call per byte.
 *
 * <p>Why: the heap state backend writes the key of every state entry and of every timer at every checkpoint, through
 * a {@code DataOutputStream} whose {@code write(int)} takes a lock. Profiled on the bench, writing keys a byte at a time
 * was a quarter of the checkpoint thread's time, and that thread a sixth of the job's CPU.
 *
 * <p>The bytes are the same, so the key's serialized form, which RocksDB uses as the state's own keys, does not change:
 * a savepoint that {@code StringSerializer} wrote restores as it is ({@link Snapshot} says so to Flink's compatibility
 * check). The other way, a savepoint of this build restored by a build that keys by {@code Types.STRING}, Flink
 * refuses, as for any change of the key serializer's class.
 */
public final class StringKeys {

    /** Pass to {@code keyBy(selector, StringKeys.TYPE)} and to keyed test harnesses. */
    public static final TypeInformation<String> TYPE = new KeyType();

    private StringKeys() {}

    private static final class KeyType extends TypeInformation<String> {
        private static final long serialVersionUID = 1L;

        @Override
        public boolean isBasicType() {
            return true;
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
        public boolean equals(Object other) {
            return other instanceof KeyType;
        }

        @Override
        public int hashCode() {
            return KeyType.class.hashCode();
        }

        @Override
        public boolean canEqual(Object other) {
            return other instanceof KeyType;
        }
    }

    /** {@link StringSerializer}'s format ({@link StringValue#writeString}), written from a buffer. */
    public static final class Serializer extends TypeSerializerSingleton<String> {
        private static final long serialVersionUID = 1L;

        public static final Serializer INSTANCE = new Serializer();

        /** Most bytes StringValue's variable-length form takes: 5 for the length, 3 per char. */
        private static int maxBytes(int chars) {
            return 5 + 3 * chars;
        }

        @Override
        public void serialize(String key, DataOutputView target) throws IOException {
            if (key == null) {
                target.write(0);
                return;
            }
            int chars = key.length();
            // Allocated per call: checkpoints and task threads use the one instance at once, and a key's array is small.
            byte[] bytes = new byte[maxBytes(chars)];
            int at = writeVarLength(chars + 1, bytes, 0);
            for (int i = 0; i < chars; i++) {
                char c = key.charAt(i);
                if (c < 0x80) {
                    bytes[at++] = (byte) c;
                } else {
                    at = writeVarLength(c, bytes, at);
                }
            }
            target.write(bytes, 0, at);
        }

        /** StringValue's variable-length form: 7 bits at a time, lowest first, the high bit set on all but the last. */
        private static int writeVarLength(int value, byte[] bytes, int at) {
            while (value >= 0x80) {
                bytes[at++] = (byte) (value | 0x80);
                value >>>= 7;
            }
            bytes[at++] = (byte) value;
            return at;
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
        public TypeSerializerSnapshot<String> snapshotConfiguration() {
            return new Snapshot();
        }
    }

    /** Compatible as it is with its own snapshots and with {@link StringSerializer}'s: the bytes are the same. */
    public static final class Snapshot extends SimpleTypeSerializerSnapshot<String> {
        public Snapshot() {
            super(() -> Serializer.INSTANCE);
        }

        @Override
        public TypeSerializerSchemaCompatibility<String> resolveSchemaCompatibility(
                TypeSerializerSnapshot<String> oldSnapshot) {
            if (oldSnapshot.restoreSerializer() instanceof StringSerializer) {
                return TypeSerializerSchemaCompatibility.compatibleAsIs();
            }
            return super.resolveSchemaCompatibility(oldSnapshot);
        }
    }
}
