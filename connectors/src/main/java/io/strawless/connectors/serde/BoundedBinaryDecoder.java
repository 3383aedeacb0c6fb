package io.strawless.connectors.serde;

import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import org.apache.avro.io.BinaryDecoder;
import org.apache.avro.io.Decoder;
import org.apache.avro.io.DecoderFactory;
import org.apache.avro.util.Utf8;

/**
 * Avro's binary decoder over one Kafka value, refusing any declared length or item count larger than
 * the bytes that are left.
 *
 * <p>Avro allocates a string, byte array or collection at its declared size before reading it, so five
 * corrupt bytes can ask for two gigabytes: a poison record that would fail the task with an
 * OutOfMemoryError on every restart. Every value that fits in a Kafka record has lengths and counts
 * bounded by its own size (each item of our collections takes at least one byte), so this check
 * loses nothing.
 *
 * <p>Strings must be UTF-8, as Avro's specification says they are: a string that is not fails with {@link
 * MalformedUtf8Exception}. Avro's own decoder reads every malformed sequence as U+FFFD, silently, so two
 * trajectory ids malformed in the same place would be one id, and the steps of two trajectories one trajectory.
 * Everything else is Avro's own decoding.
 *
 * <p>Public for the trainer's {@code TrainingBatchDeserializer}, which reads the job's output the same way.
 */
public final class BoundedBinaryDecoder extends Decoder {

    private final ArrayInput in;
    // Direct (unbuffered): the stream's available() is exactly the bytes not yet decoded.
    private final BinaryDecoder avro;

    /** Decodes {@code bytes} from {@code offset} to their end. */
    public BoundedBinaryDecoder(byte[] bytes, int offset) {
        this.in = new ArrayInput(bytes, offset);
        this.avro = DecoderFactory.get().directBinaryDecoder(in, null);
    }

    /** Bytes not consumed yet. */
    public int remaining() {
        return in.available();
    }

    private int checked(long declared, String what) throws EOFException {
        if (declared < 0 || declared > in.available()) {
            throw new EOFException(what + " of declared size " + declared + " with only " + in.available()
                    + " bytes left");
        }
        return (int) declared;
    }

    @Override
    public Utf8 readString(Utf8 old) throws IOException {
        int length = checked(avro.readLong(), "string");
        int at = in.position;
        Utf8 result = old != null ? old : new Utf8();
        result.setByteLength(length);
        avro.readFixed(result.getBytes(), 0, length);
        int malformedAt = AvroBinary.malformedUtf8At(result.getBytes(), 0, length);
        if (malformedAt >= 0) {
            throw new MalformedUtf8Exception("the " + length + "-byte string at byte " + at
                    + " is not UTF-8 (malformed from its byte " + malformedAt + ")");
        }
        return result;
    }

    @Override
    public String readString() throws IOException {
        return readString(null).toString();
    }

    @Override
    public ByteBuffer readBytes(ByteBuffer old) throws IOException {
        byte[] bytes = new byte[checked(avro.readLong(), "bytes")];
        avro.readFixed(bytes);
        return ByteBuffer.wrap(bytes);
    }

    @Override
    public long readArrayStart() throws IOException {
        return checked(avro.readArrayStart(), "array block");
    }

    @Override
    public long arrayNext() throws IOException {
        return checked(avro.arrayNext(), "array block");
    }

    @Override
    public long skipArray() throws IOException {
        return checked(avro.skipArray(), "array block");
    }

    @Override
    public long readMapStart() throws IOException {
        return checked(avro.readMapStart(), "map block");
    }

    @Override
    public long mapNext() throws IOException {
        return checked(avro.mapNext(), "map block");
    }

    @Override
    public long skipMap() throws IOException {
        return checked(avro.skipMap(), "map block");
    }

    @Override
    public void readNull() throws IOException {
        avro.readNull();
    }

    @Override
    public boolean readBoolean() throws IOException {
        return avro.readBoolean();
    }

    @Override
    public int readInt() throws IOException {
        return avro.readInt();
    }

    @Override
    public long readLong() throws IOException {
        return avro.readLong();
    }

    @Override
    public float readFloat() throws IOException {
        return avro.readFloat();
    }

    @Override
    public double readDouble() throws IOException {
        return avro.readDouble();
    }

    @Override
    public void skipString() throws IOException {
        avro.skipString();
    }

    @Override
    public void skipBytes() throws IOException {
        avro.skipBytes();
    }

    @Override
    public void readFixed(byte[] bytes, int start, int length) throws IOException {
        avro.readFixed(bytes, start, length);
    }

    @Override
    public void skipFixed(int length) throws IOException {
        avro.skipFixed(length);
    }

    @Override
    public int readEnum() throws IOException {
        return avro.readEnum();
    }

    @Override
    public int readIndex() throws IOException {
        return avro.readIndex();
    }

    /** A string whose bytes are not UTF-8; says where it is, counted in bytes from the start of the array read. */
    static final class MalformedUtf8Exception extends IOException {
        private static final long serialVersionUID = 1L;

        MalformedUtf8Exception(String message) {
            super(message);
        }
    }

    /**
     * The bytes as a stream, like {@code ByteArrayInputStream} without its locks: the direct decoder reads most
     * values one byte at a time, and an uncontended lock per byte was a tenth of the source's decoding time.
     */
    private static final class ArrayInput extends InputStream {
        private final byte[] bytes;
        private int position;

        ArrayInput(byte[] bytes, int offset) {
            this.bytes = bytes;
            this.position = offset;
        }

        @Override
        public int read() {
            return position < bytes.length ? bytes[position++] & 0xFF : -1;
        }

        @Override
        public int read(byte[] into, int offset, int length) {
            if (length == 0) {
                return 0;
            }
            int count = Math.min(length, bytes.length - position);
            if (count <= 0) {
                return -1;
            }
            System.arraycopy(bytes, position, into, offset, count);
            position += count;
            return count;
        }

        @Override
        public long skip(long n) {
            long count = Math.max(0, Math.min(n, bytes.length - position));
            position += (int) count;
            return count;
        }

        @Override
        public int available() {
            return bytes.length - position;
        }
    }
}
