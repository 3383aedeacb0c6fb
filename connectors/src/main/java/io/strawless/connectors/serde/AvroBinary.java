package io.strawless.connectors.serde;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.List;
import org.apache.avro.Schema;
import org.apache.avro.SchemaNormalization;
import org.apache.avro.io.Encoder;

/** The parts of Avro's binary encoding that the hand-written codecs ({@link StepEventCodec}, {@link TrainingBatchSerializer}) share. */
final class AvroBinary {

    /** In a union ["null", X], the branch of null. */
    static final int NULL = 0;
    /** In a union ["null", X], the branch of X. */
    static final int PRESENT = 1;

    private AvroBinary() {}

    /** Avro single-object encoding's header: the marker bytes C3 01, then the schema's 64-bit fingerprint, little-endian. */
    static byte[] singleObjectHeader(Schema schema) {
        return ByteBuffer.allocate(10)
                .order(ByteOrder.LITTLE_ENDIAN)
                .put((byte) 0xC3)
                .put((byte) 0x01)
                .putLong(SchemaNormalization.parsingFingerprint64(schema))
                .array();
    }

    static void writeNullableString(String value, Encoder out) throws IOException {
        if (value == null) {
            out.writeIndex(NULL);
        } else {
            out.writeIndex(PRESENT);
            out.writeString(value);
        }
    }

    static void writeNullableDouble(Double value, Encoder out) throws IOException {
        if (value == null) {
            out.writeIndex(NULL);
        } else {
            out.writeIndex(PRESENT);
            out.writeDouble(value);
        }
    }

    /** A ["null", {"type": "array", "items": "int"}] value, as Avro's writer writes it: one block, then the end. */
    static void writeNullableInts(List<Integer> values, Encoder out) throws IOException {
        if (values == null) {
            out.writeIndex(NULL);
            return;
        }
        out.writeIndex(PRESENT);
        out.writeArrayStart();
        out.setItemCount(values.size());
        for (int i = 0; i < values.size(); i++) {
            out.startItem();
            out.writeInt(values.get(i));
        }
        out.writeArrayEnd();
    }
}
