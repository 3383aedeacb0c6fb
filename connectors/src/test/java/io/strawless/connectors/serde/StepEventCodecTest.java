package io.strawless.connectors.serde;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.strawless.schemas.StepEvent;
import io.strawless.schemas.TerminalKind;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.apache.avro.Schema;
import org.apache.flink.core.memory.DataInputDeserializer;
import org.apache.flink.core.memory.DataOutputSerializer;
import org.junit.jupiter.api.Test;

/** The network codec of steps carries every field of the schema, nulls included, and nothing is lost. */
class StepEventCodecTest {

    @Test
    void carriesEveryFieldOfTheSchemaInItsOrder() {
        // A field added to StepEvent.avsc fails here until the codec writes it (and the list names it).
        List<String> schemaFields = StepEvent.getClassSchema().getFields().stream().map(Schema.Field::name).toList();
        assertEquals(schemaFields, StepEventCodec.FIELDS);
    }

    @Test
    void roundTripsRandomStepsWithEveryMixOfNulls() throws Exception {
        Random random = new Random(7);
        DataOutputSerializer out = new DataOutputSerializer(256);
        List<StepEvent> written = new ArrayList<>();
        for (int i = 0; i < 2_000; i++) {
            StepEvent step = randomStep(random, i);
            written.add(step);
            StepEventCodec.write(step, out);
        }
        DataInputDeserializer in = new DataInputDeserializer(out.getCopyOfBuffer());
        for (StepEvent step : written) {
            assertEquals(step, StepEventCodec.read(in));
        }
        assertEquals(0, in.available());
    }

    private static StepEvent randomStep(Random random, int i) {
        // Bit k of the mask nulls the k-th nullable field, so 512 steps cover every combination.
        int nulls = i % 512;
        List<Integer> tokens = new ArrayList<>();
        for (int t = random.nextInt(5); t > 0; t--) {
            tokens.add(random.nextInt());
        }
        return StepEvent.newBuilder()
                .setTrajectoryId("trajectory-" + random.nextInt(1000) + (i % 3 == 0 ? "-ünïcode-✓" : ""))
                .setStepIndex(random.nextInt(10_000))
                .setAgentId("agent-" + random.nextInt(10))
                .setTaskId(i % 7 == 0 ? "" : "task-" + random.nextInt(100))
                .setGroupId((nulls & 1) != 0 ? null : "group-" + random.nextInt(100))
                .setGroupSize((nulls & 2) != 0 ? null : random.nextInt(16))
                .setPolicyVersion(random.nextLong())
                .setEventTime(Instant.ofEpochMilli(1_700_000_000_000L + random.nextInt(1_000_000)))
                .setTrainable(random.nextBoolean())
                .setValue((nulls & 4) != 0 ? null : random.nextGaussian())
                .setReward((nulls & 8) != 0 ? null : random.nextGaussian())
                .setLogprob((nulls & 16) != 0 ? null : -random.nextDouble())
                .setTokenIds((nulls & 32) != 0 ? null : tokens)
                .setPayloadRef((nulls & 64) != 0 ? null : "s3://bucket/" + random.nextInt())
                .setObservationKey((nulls & 128) != 0 ? null : "obs-" + random.nextInt(50))
                .setTerminal(TerminalKind.values()[random.nextInt(TerminalKind.values().length)])
                .setBootstrapValue((nulls & 256) != 0 ? null : random.nextGaussian())
                .build();
    }
}
