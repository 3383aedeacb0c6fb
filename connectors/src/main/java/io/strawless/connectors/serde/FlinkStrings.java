package io.strawless.connectors.serde;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import org.apache.flink.core.memory.DataOutputView;
import org.apache.flink.types.StringValue;

/**
 * Writes strings in the format of Flink's {@link StringValue#writeString} (and so of its {@code StringSerializer}),
 * byte for byte, but an ASCII string (every id the job keys by or passes between its tasks) in one write instead
 * of one per character: behind a checkpoint stream each of those writes takes the buffered stream's lock. Read them
 * with {@link StringValue#readString}.
 */
public final class FlinkStrings {

    private static final int HIGH_BIT = 0x80;

    private FlinkStrings() {}

    public static void writeString(String value, DataOutputView out) throws IOException {
        if (value == null || !isAscii(value)) {
            StringValue.writeString(value, out);
            return;
        }
        // The length plus one (zero means null), 7 bits at a time, low bits first; then one byte per character.
        int length = value.length() + 1;
        while (length >= HIGH_BIT) {
            out.write(length | HIGH_BIT);
            length >>>= 7;
        }
        out.write(length);
        out.write(value.getBytes(StandardCharsets.ISO_8859_1));
    }

    private static boolean isAscii(String value) {
        for (int i = 0; i < value.length(); i++) {
            if (value.charAt(i) >= HIGH_BIT) {
                return false;
            }
        }
        return true;
    }
}
