package io.strawless.schemas;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.List;
import org.apache.avro.Schema;

/**
 * Every version of a contract's schema that a Strawless release has written, oldest first, kept as
 * {@code schema-history/<Record>/v<N>.avsc} in this jar. Readers resolve older writers with them (a batch
 * written before an upgrade names its writer schema by fingerprint), and {@code SchemaHistoryTest} checks that
 * today's schema reads every one of them.
 */
public final class SchemaHistory {

    private SchemaHistory() {}

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
