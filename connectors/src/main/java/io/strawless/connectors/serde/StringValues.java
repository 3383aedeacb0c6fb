package io.strawless.connectors.serde;

import java.io.IOException;
import org.apache.flink.core.memory.DataInputView;
import org.apache.flink.core.memory.DataOutputView;
import org.apache.flink.types.StringValue;

/**
 * Strings in the format of Flink's {@link StringValue} (what {@code StringSerializer} writes: the length plus one,
 * then each char, each in a variable-length form), written and read faster where the profile asked for it: the one
 * place that knows the format besides Flink.
 *
 * <ul>
 *   <li>{@link #write}: from a buffer in one call, not a call per byte. Heap checkpoints write every key and every
 *       string in state values through a {@code DataOutputStream} whose {@code write(int)} takes a lock; profiled on
 *       the bench, writing keys a byte at a time was a quarter of the checkpoint thread's time. For keys
 *       ({@code StringKeys}) and the strings inside state values. The network edges' serializers write to an
 *       unlocked buffer, where a byte per call costs little, and keep {@code StringValue}'s own writer.
 *   <li>{@link Repeated}: returns the same {@code String} while the string repeats, for a field whose value is one of
 *       a few, read for every record (the input topic of each input record crossing to the assembler).
 * </ul>
 */
public final class StringValues {

    private static final int HIGH_BIT = 0x80;
    /** Longer strings go to {@link StringValue#writeString} as they are: not ids, and no 3-bytes-a-char buffer. */
    private static final int BUFFERED_CHARS = 1 << 16;

    private StringValues() {}

    /** Writes {@code string} (null included) as {@link StringValue#writeString} does, from a buffer in one call. */
    public static void write(String string, DataOutputView target) throws IOException {
        if (string == null || string.length() > BUFFERED_CHARS) {
            StringValue.writeString(string, target);
            return;
        }
        int chars = string.length();
        // Allocated per call: checkpoints and task threads write at once, and an id's array is small. At most 5 bytes
        // for the length, 3 per char.
        byte[] bytes = new byte[5 + 3 * chars];
        int at = writeVarLength(chars + 1, bytes, 0);
        for (int i = 0; i < chars; i++) {
            char c = string.charAt(i);
            if (c < HIGH_BIT) {
                bytes[at++] = (byte) c;
            } else {
                at = writeVarLength(c, bytes, at);
            }
        }
        target.write(bytes, 0, at);
    }

    /** The variable-length form: 7 bits a byte, lowest first, the high bit set on all but the last. */
    private static int writeVarLength(int value, byte[] bytes, int at) {
        while (value >= HIGH_BIT) {
            bytes[at++] = (byte) (value | HIGH_BIT);
            value >>>= 7;
        }
        bytes[at++] = (byte) value;
        return at;
    }

    /** Reads the variable-length form, {@code first} its first byte. */
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

    /**
     * Reads strings as {@code StringValue.readString} does, returning the same {@code String} as the read before
     * when the string repeats. Why: {@code StringValue.readString} allocates a string per read, through a buffer it
     * finds in a {@code ThreadLocal}; in a JFR profile of the bench (2026-11-27) the lookup for the input topic
     * alone (Flink's task threads hold many thread locals) was 2.6% of the assembler's samples, and the assembler
     * then compared the new string's bytes with the topics of each trajectory's lineage, where the same instance
     * (on the heap backend) compares at once.
     *
     * <p>Keeps the last string: one instance per reading thread (per serializer instance).
     */
    public static final class Repeated {

        private String last = "";
        private char[] buffer = new char[64];

        /** The string, as {@code StringValue.readString} reads it (null included). */
        public String read(DataInputView in) throws IOException {
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
    }
}
