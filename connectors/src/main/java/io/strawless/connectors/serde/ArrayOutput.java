package io.strawless.connectors.serde;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.util.Arrays;
import java.util.Objects;
import org.apache.flink.core.memory.DataOutputView;

/**
 * A byte array stream for the codecs' encoders: its contents can be written out without a copy, and its writes
 * take no lock (ByteArrayOutputStream's are synchronized).
 */
final class ArrayOutput extends ByteArrayOutputStream {

    ArrayOutput() {
        super(256);
    }

    @Override
    public void write(int b) {
        if (count == buf.length) {
            buf = Arrays.copyOf(buf, 2 * buf.length);
        }
        buf[count++] = (byte) b;
    }

    @Override
    public void write(byte[] b, int off, int len) {
        Objects.checkFromIndexSize(off, len, b.length);
        if (count + len > buf.length) {
            buf = Arrays.copyOf(buf, Math.max(2 * buf.length, count + len));
        }
        System.arraycopy(b, off, buf, count, len);
        count += len;
    }

    void writeTo(DataOutputView out) throws IOException {
        out.write(buf, 0, count);
    }
}
