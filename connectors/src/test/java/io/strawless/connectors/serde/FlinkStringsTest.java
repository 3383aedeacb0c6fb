package io.strawless.connectors.serde;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.apache.flink.core.memory.DataInputDeserializer;
import org.apache.flink.core.memory.DataOutputSerializer;
import org.apache.flink.types.StringValue;
import org.junit.jupiter.api.Test;

/** FlinkStrings writes exactly what Flink's StringValue writes, for any string. */
class FlinkStringsTest {

    @Test
    void writesStringValuesBytes() throws Exception {
        Random random = new Random(3);
        List<String> strings = new ArrayList<>(List.of("", "a", "traj-0b0e6c1e-8c4b-4c8e-9d7f-2f3e5a6b7c8d", "ünïcode-✓",
                "\uD83D\uDE00 outside the BMP", "x".repeat(127), "y".repeat(128), "z".repeat(20_000)));
        for (int i = 0; i < 2_000; i++) {
            StringBuilder s = new StringBuilder();
            int bound = i % 4 == 0 ? 0x10000 : i % 4 == 1 ? 0x100 : 0x80; // any char, Latin-1, ASCII
            for (int c = random.nextInt(i % 50 == 0 ? 400 : 40); c > 0; c--) {
                s.append((char) random.nextInt(bound));
            }
            strings.add(s.toString());
        }
        strings.add(null);
        for (String s : strings) {
            DataOutputSerializer flink = new DataOutputSerializer(64);
            StringValue.writeString(s, flink);
            DataOutputSerializer ours = new DataOutputSerializer(64);
            FlinkStrings.writeString(s, ours);
            assertArrayEquals(flink.getCopyOfBuffer(), ours.getCopyOfBuffer(), String.valueOf(s));
            assertEquals(s, StringValue.readString(new DataInputDeserializer(ours.getCopyOfBuffer())));
        }
    }
}
