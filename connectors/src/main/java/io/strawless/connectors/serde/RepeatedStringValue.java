package io.strawless.connectors.serde;

import java.io.IOException;
import org.apache.flink.core.memory.DataInputView;

/**
 * Reads a string that {@link org.apache.flink.types.StringValue#writeString} wrote, and returns the same
 * {@code String} as the read before when the string repeats: for a field whose value is one of a few, read for
 * every record (the input topic of each input record crossing to the assembler).
 *
 * <p>Why: {@code StringValue.readString} allocates a string per read, through a buffer it finds in a
 * {@code ThreadLocal}; in a JFR profile of the bench (2026-11-27) the lookup for the topic alone (Flink's task
 * threads hold many thread locals) was 2.6% of the assembler's samples, and the assembler then compared the new string's bytes with the topics of each trajectory's
 * lineage, where the same instance compares at once.
 *
 * <p>Keeps the last string: one instance per reading thread (per serializer instance).
 */
final class RepeatedStringValue {

    private static final int HIGH_BIT = 0x80;

    private String last = "";
    private char[] buffer = new char[64];

    /** The string, as {@code StringValue.readString} reads it (null included). */
    String read(DataInputView in) throws IOException {
        int length = readVarLength(in, in.readUnsignedByte());
        if (length == 0) {
            return null;
        }
        length -= 1; // the format counts one more, so that 0 means null
        boolean repeat = length == last.length();
        if (buffer.length < length) {
            buffer = new char[length];
        }
        for (int i = 0; i < length; i++) {
            char c = (char) readVarLength(in, in.readUnsignedByte());
            buffer[i] = c;
            repeat = repeat && c == last.charAt(i);
        }
        if (!repeat) {
            last = new String(buffer, 0, length);
        }
        return last;
    }

    /** StringValue's variable-length number: 7 bits a byte, low bits first, the high bit set on all but the last. */
    private static int readVarLength(DataInputView in, int first) throws IOException {
        if (first < HIGH_BIT) {
            return first;
        }
        int value = first & 0x7F;
        int shift = 7;
        int next;
        while ((next = in.readUnsignedByte()) >= HIGH_BIT) {
            value |= (next & 0x7F) << shift;
            shift += 7;
        }
        return value | next << shift;
    }
}
