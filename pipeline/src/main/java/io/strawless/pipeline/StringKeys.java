package io.strawless.pipeline;

import io.strawless.connectors.serde.SerializerTypeInfo;
import io.strawless.connectors.serde.StringValues;
import java.io.IOException;
import org.apache.flink.api.common.typeinfo.TypeInformation;
import org.apache.flink.api.common.typeutils.TypeSerializerSnapshot;
import org.apache.flink.api.common.typeutils.base.StringSerializer;
import org.apache.flink.api.common.typeutils.base.TypeSerializerSingleton;
import org.apache.flink.core.memory.DataInputView;
import org.apache.flink.core.memory.DataOutputView;
import org.apache.flink.types.StringValue;

/**
 * The type of the job's string keys (trajectory ids, task ids): a {@link String} whose serializer writes exactly the
 * bytes of Flink's {@link StringSerializer}, in one call instead of one call per byte ({@link StringValues#write},
 * which the state's values use for their strings too).
 *
 * <p>Why: the heap state backend writes the key of every state entry and of every timer at every checkpoint, through
 * a {@code DataOutputStream} whose {@code write(int)} takes a lock. Profiled on the bench, writing keys a byte at a time
 * was a quarter of the checkpoint thread's time, and that thread a tenth of the job's CPU (a sixth under JFR).
 *
 * <p>The bytes are the same, so nothing a savepoint holds changes: not the keys (RocksDB's own keys are these bytes),
 * and not the serializer's snapshot either, which is {@code StringSerializer}'s. A savepoint of this build restores
 * in a build that keys by {@code Types.STRING} and the other way round, and Flink's compatibility check compares
 * {@code StringSerializer} with itself.
 */
public final class StringKeys {

    /** Pass to {@code keyBy(selector, StringKeys.TYPE)} and to keyed test harnesses. */
    public static final TypeInformation<String> TYPE = SerializerTypeInfo.ofKeys(String.class, Serializer.INSTANCE);

    private StringKeys() {}

    /** {@link StringSerializer}'s format, written by {@link StringValues#write}. */
    public static final class Serializer extends TypeSerializerSingleton<String> {
        private static final long serialVersionUID = 1L;

        public static final Serializer INSTANCE = new Serializer();

        @Override
        public void serialize(String key, DataOutputView target) throws IOException {
            StringValues.write(key, target);
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

        /**
         * {@link StringSerializer}'s: the bytes are its, so a savepoint names the serializer every Flink build has, and
         * a restore reads the state with it, then keeps this one for what it writes.
         */
        @Override
        public TypeSerializerSnapshot<String> snapshotConfiguration() {
            return StringSerializer.INSTANCE.snapshotConfiguration();
        }
    }
}
