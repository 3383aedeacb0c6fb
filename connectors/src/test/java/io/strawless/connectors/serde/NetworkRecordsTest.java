package io.strawless.connectors.serde;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.strawless.schemas.OffsetRange;
import io.strawless.schemas.OutcomeEvent;
import io.strawless.schemas.VerifierSignal;
import java.time.Instant;
import java.util.List;
import org.apache.avro.Schema;
import org.apache.flink.core.memory.DataInputDeserializer;
import org.apache.flink.core.memory.DataOutputSerializer;
import org.junit.jupiter.api.Test;

class NetworkRecordsTest {

    /** A field added to a schema must be written too: the list of written fields follows the schemas. */
    @Test
    void writesEveryFieldOfTheSchemas() {
        for (Schema record : List.of(OutcomeEvent.getClassSchema(), VerifierSignal.getClassSchema(),
                OffsetRange.getClassSchema())) {
            assertEquals(record.getFields().stream().map(Schema.Field::name).toList(),
                    NetworkRecords.FIELDS.get(record.getName()), record.getName());
        }
        assertEquals(3, NetworkRecords.FIELDS.size());
    }

    @Test
    void recordsArriveAsTheyWereSent() throws Exception {
        OutcomeEvent outcome = new OutcomeEvent("t-é", -0.5, false, "judge", 3, Instant.ofEpochMilli(1_700_000_000_123L));
        VerifierSignal withAll = new VerifierSignal("t-é", 4, "v1", 0.25, 0.75, Instant.ofEpochMilli(5));
        VerifierSignal withoutOptionals = new VerifierSignal("t", null, "v2", -1.0, null, Instant.ofEpochMilli(-5));
        OffsetRange range = new OffsetRange("agent.steps", 7, 100L, Long.MAX_VALUE);

        DataOutputSerializer out = new DataOutputSerializer(64);
        NetworkRecords.write(outcome, out);
        NetworkRecords.write(withAll, out);
        NetworkRecords.write(withoutOptionals, out);
        NetworkRecords.write(range, out);
        DataInputDeserializer in = new DataInputDeserializer(out.getCopyOfBuffer());
        assertEquals(outcome, NetworkRecords.readOutcome(in));
        assertEquals(withAll, NetworkRecords.readVerdict(in));
        assertEquals(withoutOptionals, NetworkRecords.readVerdict(in));
        assertEquals(range, NetworkRecords.readOffsetRange(in));
        assertEquals(0, in.available(), "read to the end");
    }
}
