package io.strawless.pipeline;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.strawless.connectors.serde.StringValues;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.apache.flink.api.common.typeutils.TypeSerializerSchemaCompatibility;
import org.apache.flink.api.common.typeutils.base.StringSerializer;
import org.apache.flink.core.memory.DataInputDeserializer;
import org.apache.flink.core.memory.DataOutputSerializer;
import org.junit.jupiter.api.Test;

/**
 * StringKeys writes the very bytes of Flink's StringSerializer, so that state and savepoints keyed by either read
 * the same (RocksDB's own keys are these bytes). Its savepoint-compatibility claim rests on this test.
 */
class StringKeysTest {

    @Test
    void writesTheBytesOfFlinksStringSerializer() throws IOException {
        for (String key : keys()) {
            byte[] flinks = bytes(key, false);
            byte[] ours = bytes(key, true);
            assertArrayEquals(flinks, ours, () -> "key of " + key.length() + " chars");

            DataInputDeserializer in = new DataInputDeserializer(ours);
            assertEquals(key, StringKeys.Serializer.INSTANCE.deserialize(in));
            assertEquals(0, in.available());

            DataOutputSerializer copied = new DataOutputSerializer(16);
            StringKeys.Serializer.INSTANCE.copy(new DataInputDeserializer(ours), copied);
            assertArrayEquals(ours, copied.getCopyOfBuffer());
        }
    }

    /**
     * Its snapshot is StringSerializer's: savepoints name a serializer every Flink build has, restore where keys are
     * {@code Types.STRING} (an earlier build, the State Processor API), and Flink's check compares like with like.
     */
    @Test
    void itsSnapshotIsFlinksStringSerializersAndCompatibleAsItIs() {
        assertEquals(StringSerializer.INSTANCE.snapshotConfiguration().getClass(),
                StringKeys.Serializer.INSTANCE.snapshotConfiguration().getClass());
        TypeSerializerSchemaCompatibility<String> compatibility = StringKeys.Serializer.INSTANCE.snapshotConfiguration()
                .resolveSchemaCompatibility(StringSerializer.INSTANCE.snapshotConfiguration());
        assertTrue(compatibility.isCompatibleAsIs(), compatibility.toString());
    }

    @Test
    void stringsInsideValuesAreWrittenTheSameWay() throws IOException {
        for (String string : keys()) {
            DataOutputSerializer ours = new DataOutputSerializer(16);
            StringValues.write(string, ours);
            assertArrayEquals(bytes(string, false), ours.getCopyOfBuffer(), () -> string.length() + " chars");
        }
        DataOutputSerializer nothing = new DataOutputSerializer(1);
        StringValues.write(null, nothing);
        assertArrayEquals(new byte[] {0}, nothing.getCopyOfBuffer(), "null, as StringValue writes it");
    }

    /**
     * Ids as agents make them, and every length and char class StringValue's variable-length form treats apart:
     * lengths across 1, 2 and 3 length bytes, chars below 0x80, below 0x4000 and above, surrogates, the empty key.
     */
    private static List<String> keys() {
        List<String> keys = new ArrayList<>(List.of("", "t", "traj-000123-4f9a", "task/7:rollout-3", "é", "ā",
                "\u3fff", "\u4000", "日本語のID", "\uD83D\uDE00 emoji", "\u007f\u0080\uffff"));
        Random random = new Random(7);
        for (int length : new int[] {126, 127, 128, 16_382, 16_383, 16_384, 65_536, 65_537, 2_097_152}) {
            StringBuilder key = new StringBuilder(length);
            for (int i = 0; i < length; i++) {
                key.append(random.nextInt(4) == 0 ? (char) random.nextInt(0x10000) : (char) ('a' + random.nextInt(26)));
            }
            keys.add(key.toString());
        }
        return keys;
    }

    private static byte[] bytes(String key, boolean stringKeys) throws IOException {
        DataOutputSerializer out = new DataOutputSerializer(16);
        if (stringKeys) {
            StringKeys.Serializer.INSTANCE.serialize(key, out);
        } else {
            StringSerializer.INSTANCE.serialize(key, out);
        }
        return out.getCopyOfBuffer();
    }
}
