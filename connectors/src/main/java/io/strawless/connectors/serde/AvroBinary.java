package io.strawless.connectors.serde;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.CharBuffer;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.CoderResult;
import java.nio.charset.StandardCharsets;
import java.util.List;
import org.apache.avro.io.Encoder;

/** The parts of Avro's binary encoding that the hand-written codecs ({@link StepEventCodec}, {@link TrainingBatchSerializer}) share. */
final class AvroBinary {

    /** In a union ["null", X], the branch of null. */
    static final int NULL = 0;
    /** In a union ["null", X], the branch of X. */
    static final int PRESENT = 1;

    private AvroBinary() {}

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

    static void writeNullableInt(Integer value, Encoder out) throws IOException {
        if (value == null) {
            out.writeIndex(NULL);
        } else {
            out.writeIndex(PRESENT);
            out.writeInt(value);
        }
    }

    /** A ["null", an enum] value: the symbol's position in the enum's schema, which Avro's enums declare in order. */
    static void writeNullableEnum(Enum<?> value, Encoder out) throws IOException {
        if (value == null) {
            out.writeIndex(NULL);
        } else {
            out.writeIndex(PRESENT);
            out.writeEnum(value.ordinal());
        }
    }

    /** Bytes of an Avro int or long: a zigzag varint. */
    static int varintBytes(long value) {
        long zigzag = (value << 1) ^ (value >> 63);
        return zigzag == 0 ? 1 : (63 - Long.numberOfLeadingZeros(zigzag)) / 7 + 1;
    }

    /** Bytes of an Avro string: its UTF-8 length as a varint, then the UTF-8 bytes. */
    static int stringBytes(String value) {
        int utf8 = utf8Length(value);
        return varintBytes(utf8) + utf8;
    }

    /** Bytes of a ["null", "string"] value. */
    static int nullableStringBytes(String value) {
        return value == null ? 1 : 1 + stringBytes(value);
    }

    /** Bytes of a ["null", "double"] value. */
    static int nullableDoubleBytes(Double value) {
        return value == null ? 1 : 9;
    }

    /** Bytes of a ["null", {"type": "array", "items": "int"}] value, as {@link #writeNullableInts} writes it. */
    static int nullableIntsBytes(List<Integer> values) {
        if (values == null) {
            return 1;
        }
        int bytes = 1 + arrayFramingBytes(values.size());
        for (int i = 0; i < values.size(); i++) {
            bytes += varintBytes(intAt(values, i));
        }
        return bytes;
    }

    /** Bytes an array or map of {@code items} items takes besides its items: one block's count, then the end. */
    static int arrayFramingBytes(long items) {
        return items == 0 ? 1 : varintBytes(items) + 1;
    }

    /** The length of {@code value} in UTF-8, without encoding it (an unpaired surrogate counts as Java's '?'). */
    static int utf8Length(String value) {
        int length = value.length();
        int bytes = length;
        for (int i = 0; i < length; i++) {
            char c = value.charAt(i);
            if (c >= 0x80) {
                if (c < 0x800) {
                    bytes += 1;
                } else if (Character.isHighSurrogate(c) && i + 1 < length && Character.isLowSurrogate(value.charAt(i + 1))) {
                    bytes += 2; // 4 bytes for the pair
                    i++;
                } else if (Character.isSurrogate(c)) {
                    // unpaired: Java writes '?' (1 byte)
                } else {
                    bytes += 2;
                }
            }
        }
        return bytes;
    }

    /**
     * Where UTF-8 bytes go wrong: the index, counted from {@code start}, of the byte their first malformed sequence
     * starts at, or -1 where they are well formed. Java's own decoding does not tell: it reads every malformed
     * sequence as U+FFFD, silently, so two ids malformed in the same place read as one. All ASCII, as most ids are,
     * takes one pass over the bytes; from the first other byte on, they are decoded strictly.
     */
    static int malformedUtf8At(byte[] bytes, int start, int length) {
        int end = start + length;
        for (int i = start; i < end; i++) {
            if (bytes[i] < 0) {
                ByteBuffer rest = ByteBuffer.wrap(bytes, i, end - i);
                // A byte decodes to at most one char (a 4-byte sequence to two), so the chars always fit.
                CoderResult result = StandardCharsets.UTF_8.newDecoder()
                        .onMalformedInput(CodingErrorAction.REPORT)
                        .decode(rest, CharBuffer.allocate(end - i), true);
                return result.isError() ? rest.position() - start : -1;
            }
        }
        return -1;
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
            out.writeInt(intAt(values, i));
        }
        out.writeArrayEnd();
    }

    /** A list's int, unboxed where the list is {@link PackedInts} (token ids as the codec decodes them). */
    private static int intAt(List<Integer> values, int index) {
        return values instanceof PackedInts packed ? packed.getInt(index) : values.get(index);
    }
}
