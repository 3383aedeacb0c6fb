package io.strawless.connectors.serde;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import org.apache.avro.message.BinaryMessageEncoder;
import org.apache.avro.specific.SpecificData;
import org.apache.avro.specific.SpecificRecord;
import org.apache.flink.api.common.serialization.SerializationSchema;

/** Writes an Avro specific record as a Kafka value in single-object encoding (header + fingerprint + body). */
public final class SingleObjectSerializer<T extends SpecificRecord> implements SerializationSchema<T> {

    private static final long serialVersionUID = 1L;

    private final Class<T> type;
    private transient BinaryMessageEncoder<T> encoder;

    public SingleObjectSerializer(Class<T> type) {
        this.type = type;
    }

    @Override
    public void open(InitializationContext context) {
        // The class's own SpecificData carries its logical-type conversions (timestamps as Instant).
        SpecificData model = SpecificData.getForClass(type);
        encoder = new BinaryMessageEncoder<>(model, model.getSchema(type));
    }

    @Override
    public byte[] serialize(T element) {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream(256);
        try {
            encoder.encode(element, bytes);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot encode " + type.getSimpleName(), e);
        }
        return bytes.toByteArray();
    }
}
