package io.strawless.connectors.serde;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.apache.flink.core.memory.DataInputDeserializer;
import org.apache.flink.core.memory.DataOutputSerializer;
import org.apache.flink.types.StringValue;
import org.junit.jupiter.api.Test;

/** Reads back what StringValue wrote, whatever the string, and the same instance while a string repeats. */
class StringValuesTest {

    @Test
    void readsWhatStringValueWritesAndKeepsARepeat() throws Exception {
        char[] chars = new char[2_100_000]; // a length of four varint bytes; chars of one, two and three bytes
        Arrays.fill(chars, 'x');
        chars[0] = '\u00e9';
        chars[1] = '\u4e2d';
        chars[2] = '\ud83d'; // a surrogate pair, char by char
        chars[3] = '\ude00';
        List<String> strings = new ArrayList<>(Arrays.asList("agent.steps", "agent.steps", "agent.outcomes",
                "agent.steps", "", "", null, "agent.stepz", "agent.steps", new String(chars), new String(chars),
                "\u007f\u0080\u3fff\u4000\uffff", null, "\u007f\u0080\u3fff\u4000\uffff", "agent.steps"));
        DataOutputSerializer out = new DataOutputSerializer(64);
        for (String string : strings) {
            StringValue.writeString(string, out);
        }
        DataInputDeserializer in = new DataInputDeserializer(out.getCopyOfBuffer());
        StringValues.Repeated reader = new StringValues.Repeated();
        String before = "-";
        for (String expected : strings) {
            String read = reader.read(in);
            assertEquals(expected, read);
            if (expected != null && expected.equals(before)) {
                assertSame(before, read, "a repeat is the same string, across a null too");
            }
            before = read == null ? before : read;
        }
        assertEquals(0, in.available());
    }
}
