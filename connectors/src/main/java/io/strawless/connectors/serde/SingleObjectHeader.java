package io.strawless.connectors.serde;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.nio.ByteOrder;
import org.apache.avro.Schema;
import org.apache.avro.SchemaNormalization;

/**
 * Avro single-object encoding's header, which starts every record the job reads and writes: the marker bytes
 * {@code C3 01}, then the writer schema's 64-bit CRC-64-AVRO fingerprint, little-endian; the body follows. The
 * fingerprint names the writer schema (see {@code SchemaHistory#readers}).
 */
public final class SingleObjectHeader {

    /** The header's bytes: where the body starts. */
    public static final int LENGTH = 10;
    /** What a value without a header is told it lacks. */
    public static final String EXPECTED = "a " + LENGTH + "-byte header starting C3 01";

    private static final byte MARKER_0 = (byte) 0xC3;
    private static final byte MARKER_1 = (byte) 0x01;
    private static final int FINGERPRINT_AT = 2;
    /** Reads the fingerprint in place: the deserializers call it for every record, and a ByteBuffer would be one more object. */
    private static final VarHandle LITTLE_ENDIAN_LONG =
            MethodHandles.byteArrayViewVarHandle(long[].class, ByteOrder.LITTLE_ENDIAN);

    private SingleObjectHeader() {}

    /** The header of a record written with {@code schema}. */
    public static byte[] of(Schema schema) {
        byte[] header = new byte[LENGTH];
        header[0] = MARKER_0;
        header[1] = MARKER_1;
        LITTLE_ENDIAN_LONG.set(header, FINGERPRINT_AT, SchemaNormalization.parsingFingerprint64(schema));
        return header;
    }

    /** Whether {@code value} is long enough for a header and starts with the marker; its fingerprint may be unknown. */
    public static boolean startsWithHeader(byte[] value) {
        return value.length >= LENGTH && value[0] == MARKER_0 && value[1] == MARKER_1;
    }

    /** The writer schema's fingerprint in the header of {@code value}, which {@link #startsWithHeader}. */
    public static long fingerprint(byte[] value) {
        return (long) LITTLE_ENDIAN_LONG.get(value, FINGERPRINT_AT);
    }
}
