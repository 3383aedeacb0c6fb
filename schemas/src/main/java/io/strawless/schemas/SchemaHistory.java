package io.strawless.schemas;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.apache.avro.Schema;
import org.apache.avro.SchemaNormalization;
import org.apache.avro.message.BinaryMessageDecoder;
import org.apache.avro.specific.SpecificData;
import org.apache.avro.specific.SpecificDatumReader;

/**
 * Every version of a contract's schema that a Strawless release has written, oldest first, kept as
 * {@code schema-history/<Record>/v<N>.avsc} in this jar. Readers resolve older writers with them (a batch
 * written before an upgrade names its writer schema by fingerprint), and {@code SchemaHistoryTest} checks that
 * today's schema reads every one of them.
 *
 * <p>The job's own state keeps records in single-object encoding too (steps, outcomes, verdicts, offset ranges):
 * after an upgrade that changed a schema, a savepoint holds them under the earlier version's fingerprint, which the
 * generated classes' own decoders ({@code fromByteBuffer}) do not know. Read them with {@link #decoder}, or, where the
 * header is read apart from the body (the Kafka deserializers), with {@link #readers}.
 */
public final class SchemaHistory {

    private SchemaHistory() {}

    /**
     * A decoder of {@code type}'s single-object encoding written with today's schema or any version in its
     * history, resolved to today's. Thread-safe, like the generated classes' own.
     */
    public static <T> BinaryMessageDecoder<T> decoder(Class<T> type) {
        SpecificData model = SpecificData.getForClass(type);
        Schema current = model.getSchema(type);
        BinaryMessageDecoder<T> decoder = new BinaryMessageDecoder<>(model, current);
        of(current.getName()).forEach(decoder::addSchema);
        return decoder;
    }

    /**
     * A reader of {@code type}'s body for each writer schema its records may name, by the schema's fingerprint: every
     * version in its history, and today's (the history's last version, but for a schema changed since a version was
     * last kept, which then reads its own records all the same); each resolves its version to today's schema. A
     * reader is not thread-safe: one map per thread.
     */
    public static <T> Map<Long, SpecificDatumReader<T>> readers(Class<T> type) {
        // The class's own SpecificData carries its logical-type conversions (timestamps as Instant).
        SpecificData model = SpecificData.getForClass(type);
        Schema current = model.getSchema(type);
        Map<Long, SpecificDatumReader<T>> readers = new HashMap<>();
        for (Schema version : of(current.getName())) {
            readers.put(SchemaNormalization.parsingFingerprint64(version), new SpecificDatumReader<>(version, current, model));
        }
        readers.putIfAbsent(SchemaNormalization.parsingFingerprint64(current),
                new SpecificDatumReader<>(current, current, model));
        return readers;
    }

    /** The versions of {@code recordName} (e.g. "TrainingBatch"), oldest first; the last one is the current schema. */
    public static List<Schema> of(String recordName) {
        List<Schema> versions = new ArrayList<>();
        for (int v = 1; ; v++) {
            String path = "/schema-history/" + recordName + "/v" + v + ".avsc";
            try (InputStream in = SchemaHistory.class.getResourceAsStream(path)) {
                if (in == null) {
                    return versions;
                }
                versions.add(new Schema.Parser().parse(in));
            } catch (IOException e) {
                throw new UncheckedIOException("cannot read " + path, e);
            }
        }
    }
}
